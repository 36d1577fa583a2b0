/**
 * Chunker: re-blocks each audio stream into exact `chunkMs` chunks with exact `startSample`, each
 * optionally preceded by `overlapMs` of lookback (the first chunk has none, so chunk k starts at
 * max(0, k*chunk - overlap)). At the stream's punct the short last chunk is emitted as is, padded
 * with zeros to a full chunk, or dropped (`last`). Utterance markers are forwarded right after the
 * chunk that covers the samples before their `sampleIndex`. Other item kinds pass through in order.
 *
 * @example
 * ```ts
 * fileSource({ files: 'a.wav' }).pipe(chunker({ chunkMs: 160, overlapMs: 40 })).subscribe(console.log);
 * ```
 */
import type { AudioItem, UtteranceItem } from '../../toolkit/items.js';
import { stageFactory, type StageSpec } from '../../toolkit/operator.js';
import { perStream } from '../../toolkit/runtime/per-stream.js';
import { Reblocker, type Chunk, type GapPolicy, type LastPolicy, type ReblockerSnapshot } from './reblock.js';

/** Chunks emitted at once before a gap's filling waits for the graph's flow control. */
const GAP_STEP = 64;

export interface ChunkerParams {
  chunkMs: number;
  overlapMs: number;
  last: LastPolicy;
  gaps: GapPolicy;
}

interface State {
  streamId: string;
  reblocker?: Reblocker;
  sampleRate: number;
  /** Utterance markers held until the chunks covering the samples before them are out. */
  markers: UtteranceItem[];
}

interface Snapshot {
  sampleRate: number;
  markers: UtteranceItem[];
  reblocker?: ReblockerSnapshot;
}

export const Chunker: StageSpec<ChunkerParams> = {
  kind: 'Chunker',
  role: 'stage',
  description: 'Re-blocks each audio stream into exact chunkMs chunks (exact startSample), with optional overlapMs lookback.',
  input: ['audio'],
  output: 'audio',
  params: {
    type: 'object',
    properties: {
      chunkMs: { type: 'number', exclusiveMinimum: 0, maximum: 600000, default: 160, description: 'New audio per chunk.' },
      overlapMs: { type: 'number', minimum: 0, maximum: 600000, default: 0, description: 'Lookback prepended to each chunk after the first.' },
      last: { enum: ['emit', 'pad', 'drop'], default: 'emit', description: 'The short last chunk: emit it, pad it with zeros, or drop it.' },
      gaps: {
        enum: ['fill', 'restart'],
        default: 'fill',
        description: "A jump forward in startSample: fill it with zeros, or end the chunk before it (by 'last') and restart after it (VAD-thinned audio).",
      },
    },
  },
  create: (params, ctx) =>
    perStream<State>({
      operator: ctx.nodeId,
      accepts: ['audio', 'utterance'],
      open: (streamId) => ({ streamId, sampleRate: 0, markers: [] }),
      snapshot: (s): Snapshot => ({ sampleRate: s.sampleRate, markers: s.markers, reblocker: s.reblocker?.snapshot() }),
      restore: (streamId, value) => {
        const v = value as Snapshot;
        const chunk = Math.round((v.sampleRate * params.chunkMs) / 1000);
        const overlap = Math.round((v.sampleRate * params.overlapMs) / 1000);
        return {
          streamId,
          sampleRate: v.sampleRate,
          markers: v.markers,
          reblocker: v.reblocker && Reblocker.restore(chunk, overlap, params.gaps, params.last, v.reblocker),
        };
      },
      onItem(state, item, emit) {
        if (item.kind === 'utterance') {
          if (!state.reblocker || item.sampleIndex <= state.reblocker.emittedEnd) emit(item);
          else state.markers.push(item);
          return;
        }
        const a = item as AudioItem;
        if (!state.reblocker) {
          const chunk = Math.round((a.sampleRate * params.chunkMs) / 1000);
          if (chunk < 1) throw new Error(`chunkMs ${params.chunkMs} is less than one sample at ${a.sampleRate} Hz`);
          state.sampleRate = a.sampleRate;
          state.reblocker = new Reblocker(chunk, Math.round((a.sampleRate * params.overlapMs) / 1000), a.startSample, params.gaps, params.last);
        } else if (a.sampleRate !== state.sampleRate) {
          throw new Error(`sample rate changed within the stream (${state.sampleRate} Hz -> ${a.sampleRate} Hz)`);
        }
        const chunks = state.reblocker.chunksOf(a.samples, a.startSample);
        const emitChunk = (c: Chunk) => {
          // A marker at or before the chunk's first sample belongs before it (the start marker after a gap).
          releaseMarkers(state, c.startSample, emit);
          emit({ kind: 'audio', streamId: a.streamId, samples: c.samples, sampleRate: a.sampleRate, startSample: c.startSample });
          releaseMarkers(state, c.startSample + c.samples.length, emit);
        };
        // The usual block yields a chunk or two, emitted at once. A long gap (zeros to fill) goes on
        // under flow control: past GAP_STEP chunks, each next step waits until the stages have room.
        for (let n = 0; n < GAP_STEP; n++) {
          const next = chunks.next();
          if (next.done) return;
          emitChunk(next.value);
        }
        return (async () => {
          for (let n = 0, next = chunks.next(); !next.done; next = chunks.next(), n++) {
            if (n % GAP_STEP === 0) {
              await ctx.flow.ready();
              await new Promise((r) => setImmediate(r)); // timers (heartbeats) and sockets get their turn
            }
            emitChunk(next.value);
          }
        })();
      },
      onEnd(state, emit) {
        const r = state.reblocker;
        if (!r) return releaseMarkers(state, Infinity, emit);
        if (r.gapSamples) ctx.log.warn(`${state.streamId}: ${r.gapSamples} missing sample(s) filled with zeros`);
        if (r.repeatedSamples) ctx.log.warn(`${state.streamId}: ${r.repeatedSamples} repeated sample(s) dropped`);
        const c = r.end(params.last);
        if (c) emit({ kind: 'audio', streamId: state.streamId, samples: c.samples, sampleRate: state.sampleRate, startSample: c.startSample });
        releaseMarkers(state, Infinity, emit);
      },
    }),
};

function releaseMarkers(state: State, upTo: number, emit: (item: UtteranceItem) => void): void {
  while (state.markers.length && state.markers[0]!.sampleIndex <= upTo) emit(state.markers.shift()!);
}

export const chunker = stageFactory(Chunker);
