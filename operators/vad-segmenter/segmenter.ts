/**
 * The segmentation rules of VadSegmenter, apart from the model (testable with made-up probabilities).
 *
 * Fed one speech probability per VAD window (512 samples at 16 kHz), it decides where utterances start
 * and end, the way Silero's `get_speech_timestamps` does, but incrementally:
 * - speech starts at the first window with p >= threshold (its first sample);
 * - it ends once p has been below negThreshold and then minSilence has passed without p reaching
 *   threshold again (values between the two thresholds neither start nor end speech); the end is placed
 *   where that final descent first fell below threshold (Silero's own rule places it at the first window
 *   below negThreshold, typically one or two windows, 30-60 ms, later than the speech);
 * - an utterance shorter than minSpeech is dropped; one longer than maxUtterance is cut (at the silence
 *   that has begun, if any, else right there) and, when speech goes on, a new one starts at the cut;
 * - each utterance is widened by speechPad on both sides, never overlapping its neighbours;
 * - at the end of the stream an open utterance ends at the silence that has begun, or at the last sample.
 *
 * `committed` is the sample before which no event can appear any more: audio before it may be released
 * downstream (with its markers in place). Events come out in order, with their final sample positions.
 */

export interface SegmenterConfig {
  /** Samples per probability (one VAD window). */
  windowSamples: number;
  threshold: number;
  negThreshold: number;
  minSpeechSamples: number;
  minSilenceSamples: number;
  padSamples: number;
  maxUtteranceSamples: number;
}

export interface SegmentEvent {
  event: 'start' | 'end';
  utteranceNumber: number;
  /** Where the event sits in the stream. */
  sample: number;
  /** The utterance's start sample (for an end: the span is [startSample, sample)). */
  startSample: number;
}

export class Segmenter {
  /** Samples covered by the windows fed so far. */
  private processed = 0;
  private triggered = false;
  /** Raw (unpadded) start of the open utterance. */
  private start = 0;
  /** Where the current silence began inside the open utterance; -1: none. */
  private tempEnd = -1;
  /** First window of the current run of windows below threshold; -1: the last window was speech. */
  private belowThreshold = -1;
  /** The open utterance's start event has been emitted. */
  private confirmed = false;
  private startEvent = 0;
  /** Sample of the last end event (a later start never precedes it). */
  private lastEnd = 0;
  private number = 0;
  private water = 0;

  constructor(readonly cfg: SegmenterConfig) {}

  /** The counters and flags as plain values (checkpoints). */
  snapshot(): Record<string, number | boolean> {
    const { cfg: _cfg, ...state } = this as unknown as Record<string, number | boolean> & { cfg: SegmenterConfig };
    return state;
  }

  static restore(cfg: SegmenterConfig, state: Record<string, number | boolean>): Segmenter {
    return Object.assign(new Segmenter(cfg), state);
  }

  /** Samples before this never get another event. */
  get committed(): number {
    return this.water;
  }

  /** Utterances started so far. */
  get utterances(): number {
    return this.number;
  }

  /** One window's speech probability; returns the events it decided. */
  push(p: number): SegmentEvent[] {
    const c = this.cfg;
    const out: SegmentEvent[] = [];
    const cur = this.processed;
    this.processed += c.windowSamples;
    if (p >= c.threshold) this.belowThreshold = -1;
    else if (this.belowThreshold < 0) this.belowThreshold = cur;
    if (p >= c.threshold) {
      this.tempEnd = -1;
      if (!this.triggered) {
        this.triggered = true;
        this.start = cur;
        this.confirmed = false;
      }
    } else if (p < c.negThreshold && this.triggered) {
      if (this.tempEnd < 0) this.tempEnd = Math.max(this.start, this.belowThreshold >= 0 ? this.belowThreshold : cur);
      if (cur - this.tempEnd >= c.minSilenceSamples) this.finish(this.tempEnd, this.tempEnd + c.padSamples, out);
    }
    if (this.triggered) {
      this.maybeConfirm(out);
      if (this.processed - this.start > c.maxUtteranceSamples) {
        // Too long: cut at the silence that has begun, or here; speech that goes on starts a new one.
        const silent = this.tempEnd >= 0;
        const cut = silent ? this.tempEnd : this.processed;
        this.finish(cut, silent ? cut + c.padSamples : cut, out, true);
        if (!silent) {
          this.triggered = true;
          this.start = cut;
          this.confirmed = false;
        }
      }
    }
    this.advance();
    return out;
  }

  /** The stream ended after `total` samples (the last window may have been zero-padded past it). */
  end(total: number): SegmentEvent[] {
    const out: SegmentEvent[] = [];
    if (this.triggered) {
      const raw = this.tempEnd >= 0 ? Math.min(this.tempEnd, total) : total;
      this.finish(raw, this.tempEnd >= 0 ? raw + this.cfg.padSamples : total, out, false, total);
    }
    this.water = Math.max(this.water, total);
    return out.map((e) => ({ ...e, sample: Math.min(e.sample, total), startSample: Math.min(e.startSample, total) }));
  }

  private maybeConfirm(out: SegmentEvent[], force = false): void {
    if (!this.triggered || this.confirmed) return;
    const soonestEnd = this.belowThreshold >= 0 ? this.belowThreshold : this.processed;
    if (!force && soonestEnd - this.start < this.cfg.minSpeechSamples) return;
    this.confirmed = true;
    this.number++;
    this.startEvent = Math.max(0, this.start - this.cfg.padSamples, this.lastEnd, this.water);
    out.push({ event: 'start', utteranceNumber: this.number, sample: this.startEvent, startSample: this.startEvent });
  }

  /** Ends the open utterance at raw sample `raw` (event at `at`), or drops it when it is too short. */
  private finish(raw: number, at: number, out: SegmentEvent[], cut = false, limit = this.processed): void {
    if (this.confirmed || raw - this.start >= this.cfg.minSpeechSamples || cut) {
      this.maybeConfirm(out, true);
      const sample = Math.max(this.startEvent, Math.min(at, limit));
      out.push({ event: 'end', utteranceNumber: this.number, sample, startSample: this.startEvent });
      this.lastEnd = sample;
    }
    this.triggered = false;
    this.confirmed = false;
    this.tempEnd = -1;
  }

  private advance(): void {
    const c = this.cfg;
    let w: number;
    if (!this.triggered) w = Math.max(this.lastEnd, this.processed - c.padSamples);
    else if (!this.confirmed) w = Math.max(this.lastEnd, this.start - c.padSamples);
    else w = this.belowThreshold >= 0 ? Math.max(this.start, this.belowThreshold) : this.processed; // an end may still go there
    this.water = Math.max(this.water, w);
  }
}
