/**
 * The streaming core of MelExtractor, independent of RxJS: push samples in any chunking, get back the
 * frames that became complete, exactly the frames the whole stream would give at once.
 *
 * Coordinates: the "padded stream" is the preemphasised stream with nFft/2 zeros before it (centred STFT)
 * and zeros after it at the end. Frame t covers padded samples [t*hop, t*hop + nFft). A frame is emitted
 * once all of its nFft samples are known and the stream is known to be long enough for it to count
 * (centred: N >= (t+1)*hop, NeMo's floor(N/hop) frames; otherwise every complete frame).
 */
import { framesFor, type MelConfig } from './config.js';
import { RealFft } from './fft.js';
import { melFilterbank, paddedWindow, sparseFilterbank, type SparseFilterbank } from './filterbank.js';

/** Tables and scratch shared by every stream of one configuration (work is synchronous, never re-entered). */
export class MelTables {
  readonly fft: RealFft;
  readonly window: Float64Array;
  readonly fb: SparseFilterbank;
  readonly spectrum: Float64Array;
  readonly logMel: Float64Array;
  private readonly clamp: boolean;

  private static cache = new Map<string, MelTables>();

  /** Shared tables for a configuration (built once per distinct configuration in the process). */
  static for(config: MelConfig): MelTables {
    const key = JSON.stringify(config);
    let t = MelTables.cache.get(key);
    if (!t) {
      t = new MelTables({ ...config });
      if (MelTables.cache.size >= 64) MelTables.cache.clear();
      MelTables.cache.set(key, t);
    }
    return t;
  }

  constructor(readonly config: MelConfig) {
    this.fft = new RealFft(config.nFft);
    this.window = paddedWindow(config.window, config.winLength, config.nFft);
    this.fb = sparseFilterbank(melFilterbank(config));
    this.spectrum = new Float64Array((config.nFft >> 1) + 1);
    this.logMel = new Float64Array(config.nMels);
    this.clamp = config.logGuard === 'clamp';
  }

  /** Log-mel of the frame at x[off .. off+nFft), left in `this.logMel` (overwritten by the next call). */
  frame(x: Float64Array, off: number): Float64Array {
    const spec = this.spectrum;
    this.fft.power(x, off, this.window, spec);
    const { nMels, start, len, offset, weights } = this.fb;
    const mel = this.logMel;
    for (let i = 0; i < nMels; i++) {
      let s = 0;
      const b = start[i];
      const o = offset[i];
      const l = len[i];
      for (let j = 0; j < l; j++) s += weights[o + j] * spec[b + j];
      mel[i] = s;
    }
    const guard = this.config.logGuardValue;
    if (this.clamp) {
      for (let i = 0; i < nMels; i++) mel[i] = Math.log(mel[i] > guard ? mel[i] : guard);
    } else {
      for (let i = 0; i < nMels; i++) mel[i] = Math.log(mel[i] + guard);
    }
    return mel;
  }
}

/** Called with the frames that became complete: time-major [nFrames x nMels], first frame index startFrame. */
export type FrameSink = (data: Float32Array, nFrames: number, startFrame: number) => void;

export interface MelStreamSnapshot {
  buf: Float64Array;
  bufStart: number;
  prev: number;
  n: number;
  next: number;
  ended: boolean;
  collected: Float64Array;
}

export class MelStream {
  private readonly cfg: MelConfig;
  private readonly hop: number;
  private readonly nFft: number;
  private readonly nMels: number;
  private readonly padLeft: number;
  /** Preemphasised padded stream from padded index bufStart; bufLen samples valid. */
  private buf: Float64Array;
  private bufStart = 0;
  private bufLen = 0;
  private prev = 0;
  /** Raw samples received. */
  private n = 0;
  /** Next frame to compute. */
  private next = 0;
  private ended = false;
  /** per_feature: every frame is kept (float64) until the end of the stream. */
  private readonly collect: boolean;
  private collected: Float64Array = new Float64Array(0);

  constructor(private readonly tables: MelTables) {
    const c = tables.config;
    this.cfg = c;
    this.hop = c.hopLength;
    this.nFft = c.nFft;
    this.nMels = c.nMels;
    this.padLeft = c.center ? c.nFft >> 1 : 0;
    this.buf = new Float64Array(2 * c.nFft + 8 * c.hopLength);
    this.bufLen = this.padLeft; // the zeros of the left pad (the array is zeroed)
    this.collect = c.normalize === 'per_feature';
  }

  /** Room for `frames` frames in the per_feature store (grows by doubling). */
  private reserve(frames: number): void {
    const need = frames * this.nMels;
    if (this.collected.length >= need) return;
    const grown = new Float64Array(Math.max(need, 2 * this.collected.length, 64 * this.nMels));
    grown.set(this.collected.subarray(0, this.next * this.nMels));
    this.collected = grown;
  }

  get samplesSeen(): number {
    return this.n;
  }

  /** The stream's state as plain values (checkpoints): the samples later frames still need, counters. */
  snapshot(): MelStreamSnapshot {
    return {
      buf: this.buf.slice(0, this.bufLen),
      bufStart: this.bufStart,
      prev: this.prev,
      n: this.n,
      next: this.next,
      ended: this.ended,
      collected: this.collected.slice(0, this.next * this.nMels),
    };
  }

  static restore(tables: MelTables, s: MelStreamSnapshot): MelStream {
    const m = new MelStream(tables);
    if (s.buf.length > m.buf.length) m.buf = new Float64Array(s.buf.length * 2);
    m.buf.fill(0);
    m.buf.set(s.buf);
    m.bufLen = s.buf.length;
    m.bufStart = s.bufStart;
    m.prev = s.prev;
    m.n = s.n;
    m.next = s.next;
    m.ended = s.ended;
    if (s.collected.length) {
      m.reserve(s.next);
      m.collected.set(s.collected);
    }
    return m;
  }

  get framesEmitted(): number {
    return this.next;
  }

  /** Frames that can be emitted after `n` raw samples, before the end of the stream. */
  private readyFrames(n: number): number {
    // Complete: t*hop + nFft <= padLeft + n; counted: t < framesFor(n).
    const avail = this.padLeft + n;
    const complete = avail >= this.nFft ? Math.floor((avail - this.nFft) / this.hop) + 1 : 0;
    return Math.min(complete, framesFor(this.cfg, n));
  }

  /** Drop samples no later frame needs. */
  private compact(): void {
    const drop = this.next * this.hop - this.bufStart;
    if (drop <= 0) return;
    const keep = this.bufLen - drop;
    if (keep > 0) this.buf.copyWithin(0, drop, this.bufLen);
    this.bufStart += drop;
    this.bufLen = Math.max(0, keep);
  }

  /** Computes frames next..upto-1 (as far as the buffer holds them) into out from frame outFrame on. */
  private compute(upto: number, out: Float32Array | Float64Array, outFrame: number): number {
    const { hop, nMels, tables, buf } = this;
    let f = outFrame;
    while (this.next < upto) {
      const off = this.next * hop - this.bufStart;
      if (off + this.nFft > this.bufLen) break;
      const mel = tables.frame(buf, off);
      if (out instanceof Float32Array) copy32(mel, out, f * nMels, nMels);
      else copy64(mel, out, f * nMels, nMels);
      f++;
      this.next++;
    }
    return f;
  }

  /** Feeds samples; emits the frames that became complete (one sink call at most). */
  push(samples: Float32Array, sink: FrameSink): void {
    if (this.ended) throw new Error('MelExtractor: audio after the end of the stream');
    const total = samples.length;
    if (total === 0) return;
    const first = this.next;
    const ready = this.readyFrames(this.n + total);
    let out: Float32Array | Float64Array | null = null;
    let outFrame = 0;
    if (this.collect) {
      this.reserve(ready);
      out = this.collected;
      outFrame = first;
    } else if (ready > first) {
      out = new Float32Array((ready - first) * this.nMels);
    }
    const a = this.cfg.preemphasis;
    let i = 0;
    while (i < total) {
      if (this.bufLen === this.buf.length) this.compact();
      if (this.bufLen === this.buf.length) throw new Error('MelExtractor: internal buffer overflow');
      const take = Math.min(total - i, this.buf.length - this.bufLen);
      const buf = this.buf;
      let p = this.bufLen;
      let prev = this.prev;
      if (a === 0) {
        for (let k = 0; k < take; k++) buf[p++] = samples[i + k];
      } else {
        let k = 0;
        if (this.n === 0) {
          // y[0] = x[0]
          prev = samples[i];
          buf[p++] = prev;
          k = 1;
        }
        for (; k < take; k++) {
          const x = samples[i + k];
          buf[p++] = x - a * prev;
          prev = x;
        }
      }
      this.prev = prev;
      this.bufLen = p;
      this.n += take;
      i += take;
      if (out) outFrame = this.compute(ready, out, outFrame);
    }
    if (this.next !== ready) throw new Error(`MelExtractor: internal error (${this.next} != ${ready})`);
    if (out && !this.collect && ready > first) sink(out as Float32Array, ready - first, first);
  }

  /** Flushes the tail at the end of the stream (zeros after the last sample); per_feature emits everything here. */
  end(sink: FrameSink): void {
    if (this.ended) return;
    this.ended = true;
    const target = framesFor(this.cfg, this.n);
    const first = this.next;
    if (target > first) {
      let out: Float32Array | Float64Array;
      let outFrame: number;
      if (this.collect) {
        this.reserve(target);
        out = this.collected;
        outFrame = first;
      } else {
        out = new Float32Array((target - first) * this.nMels);
        outFrame = 0;
      }
      while (this.next < target) {
        this.compact();
        this.buf.fill(0, this.bufLen);
        this.bufLen = this.buf.length;
        outFrame = this.compute(target, out, outFrame);
      }
      if (!this.collect) sink(out as Float32Array, target - first, first);
    }
    if (this.collect && target > 0) {
      sink(perFeatureNormalize(this.collected, target, this.nMels), target, 0);
      this.collected = new Float64Array(0);
    }
  }
}

/**
 * NeMo `per_feature` normalisation of time-major frames: per bin, (x - mean) / (std + 1e-5) with the
 * unbiased std over the utterance (std = 0 for a single frame). Computed in float64.
 */
export function perFeatureNormalize(x: Float64Array, nFrames: number, nMels: number): Float32Array {
  const mean = new Float64Array(nMels);
  const sq = new Float64Array(nMels);
  for (let t = 0; t < nFrames; t++) {
    const o = t * nMels;
    for (let i = 0; i < nMels; i++) mean[i] += x[o + i];
  }
  for (let i = 0; i < nMels; i++) mean[i] /= nFrames;
  for (let t = 0; t < nFrames; t++) {
    const o = t * nMels;
    for (let i = 0; i < nMels; i++) {
      const d = x[o + i] - mean[i];
      sq[i] += d * d;
    }
  }
  const scale = new Float64Array(nMels);
  for (let i = 0; i < nMels; i++) {
    const std = nFrames > 1 ? Math.sqrt(sq[i] / (nFrames - 1)) : 0;
    scale[i] = 1 / (std + 1e-5);
  }
  const out = new Float32Array(nFrames * nMels);
  for (let t = 0; t < nFrames; t++) {
    const o = t * nMels;
    for (let i = 0; i < nMels; i++) out[o + i] = (x[o + i] - mean[i]) * scale[i];
  }
  return out;
}

function copy32(src: Float64Array, dst: Float32Array, at: number, n: number): void {
  for (let i = 0; i < n; i++) dst[at + i] = src[i];
}

function copy64(src: Float64Array, dst: Float64Array, at: number, n: number): void {
  for (let i = 0; i < n; i++) dst[at + i] = src[i];
}
