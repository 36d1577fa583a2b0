/**
 * Operator state snapshots (issue #10): a stream checkpointed after chunk k and restored in a fresh
 * pipeline (another process, in production) must end with exactly the transcript of an uninterrupted
 * run. The checkpoint goes in-band through the whole chain, as RedisAudioSource sends it.
 */
import { expect } from 'chai';
import { from, lastValueFrom, toArray, type OperatorFunction } from 'rxjs';
import { join } from 'node:path';
import { chunker } from '../operators/chunker/index.js';
import { ctcDecoder } from '../operators/ctc-decoder/index.js';
import { melExtractor } from '../operators/mel-extractor/index.js';
import { onnxStt, openStreamStates } from '../operators/onnx-stt/index.js';
import { vadSegmenter } from '../operators/vad-segmenter/index.js';
import type { CheckpointItem, StreamItem, TranscriptItem } from '../toolkit/items.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { decodeCheckpoint, encodeCheckpoint } from '../toolkit/runtime/snapshot.js';
import { CLIP, MODEL, readWavMono } from './helpers/live.js';

const TOKENS = join(TOOLKIT_ROOT, 'models/stt-en-char-fastconformer-ctc/tokens.txt');

interface Variant {
  maxBatch?: number;
  beamWidth?: number;
  chunkMs?: number;
  vad?: boolean;
  /** Another model (fixtures), its tokens and OnnxSTT mode; mel features unless `audio`. */
  model?: string;
  tokens?: string;
  mode?: 'offline' | 'buffered';
  audio?: boolean;
  /** OnnxSTT inferenceThread: worker (the caches live on the worker thread). */
  worker?: boolean;
}

const FIXTURES = join(TOOLKIT_ROOT, 'test/fixtures/models');

function pipeline(opts: Variant = {}): OperatorFunction<StreamItem, StreamItem> {
  const stages = [
    ...(opts.vad ? [vadSegmenter({ minSilenceMs: 150, minSpeechMs: 100 })] : []),
    chunker({ chunkMs: opts.chunkMs ?? 160 }),
    ...(opts.audio ? [] : [melExtractor({ preset: 'nemo-80' })]),
    onnxStt({ model: opts.model ?? MODEL, maxBatch: opts.maxBatch ?? 1, inferenceThread: opts.worker ? 'worker' : 'main', ...(opts.mode ? { mode: opts.mode, chunkMs: 800, contextMs: 400 } : {}) }),
    ctcDecoder({ tokens: opts.tokens ?? TOKENS, beamWidth: opts.beamWidth ?? 1, partials: false }),
  ];
  return (src) => stages.reduce((s, op) => s.pipe(op), src);
}

/** The clip as audio items of irregular sizes (what a producer might append), per stream id. */
function audioItems(streamId: string, samples: Float32Array, sizes = [1234, 4000, 777, 2500]): StreamItem[] {
  const out: StreamItem[] = [];
  for (let i = 0, k = 0; i < samples.length; k++) {
    const n = Math.min(sizes[k % sizes.length], samples.length - i);
    out.push({ kind: 'audio', streamId, samples: samples.subarray(i, i + n), sampleRate: 16000, startSample: i });
    i += n;
  }
  return out;
}

async function run(items: StreamItem[], op: OperatorFunction<StreamItem, StreamItem>): Promise<StreamItem[]> {
  return lastValueFrom(from(items).pipe(op, toArray()));
}

/** Finals grouped by stream, each stream's in emission order (streams may finish in any order: batched, worker). */
const finals = (items: StreamItem[]) =>
  items
    .filter((i): i is TranscriptItem => i.kind === 'transcript' && i.isFinal)
    .sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0))
    .map((t) => `${t.streamId}: ${t.text}`);

describe('operator state snapshots: checkpoint, restore elsewhere, same transcript', function () {
  this.timeout(60000);
  const clip = readWavMono(CLIP);

  for (const variant of [
    { name: 'greedy, unbatched', opts: {} },
    { name: 'beam search, batched (maxBatch 4), 2 streams', opts: { maxBatch: 4, beamWidth: 4 }, streams: 2 },
    { name: 'chunks of 70 ms', opts: { chunkMs: 70 } },
    { name: 'the model on a worker thread (caches there), batched (maxBatch 4), 3 streams', opts: { maxBatch: 4, worker: true }, streams: 3 },
    { name: 'the model on a worker thread, VadSegmenter in front', opts: { vad: true, worker: true } },
    { name: 'VadSegmenter in front (per-utterance finals)', opts: { vad: true } },
    {
      name: 'offline NeMo model (fixture), mode offline',
      opts: { model: join(FIXTURES, 'offline.onnx'), tokens: join(FIXTURES, 'offline.tokens.txt'), mode: 'offline' },
    },
    {
      name: 'offline NeMo model (fixture), mode buffered',
      opts: { model: join(FIXTURES, 'offline.onnx'), tokens: join(FIXTURES, 'offline.tokens.txt'), mode: 'buffered' },
    },
    {
      name: 'wav2vec2 model (fixture), mode buffered',
      opts: { model: join(FIXTURES, 'wav2vec2.onnx'), tokens: join(FIXTURES, 'wav2vec2.vocab.json'), mode: 'buffered', audio: true },
    },
  ] as Array<{ name: string; opts: Variant; streams?: number }>) {
    it(variant.name, async () => {
      const ids = Array.from({ length: variant.streams ?? 1 }, (_, i) => `s${i}`);
      const perStreamItems = ids.map((id) => audioItems(id, clip));
      const interleave = (lists: StreamItem[][]) => {
        const out: StreamItem[] = [];
        for (let k = 0; k < Math.max(...lists.map((l) => l.length)); k++) for (const l of lists) if (k < l.length) out.push(l[k]);
        return out;
      };
      const whole = finals(await run([...interleave(perStreamItems), ...ids.map((streamId) => ({ kind: 'punct', streamId }) as StreamItem)], pipeline(variant.opts)));
      expect(whole.length).to.be.at.least(ids.length);
      expect(whole[0]).to.match(/: \S+/);

      for (const k of [1, 7, Math.floor(perStreamItems[0].length / 2)]) {
        // Run 1: the first k items of each stream, then a checkpoint; the run is abandoned there (no punct).
        const first = perStreamItems.map((l, i) => [
          ...l.slice(0, k),
          { kind: 'checkpoint', streamId: ids[i], position: `pos-${k}`, seq: 1, states: {} } as StreamItem,
        ]);
        const out1 = await run(interleave(first), pipeline(variant.opts));
        const checkpoints = out1.filter((i): i is CheckpointItem => i.kind === 'checkpoint');
        expect(checkpoints.map((c) => c.streamId).sort()).to.deep.equal(ids);
        for (const c of checkpoints) {
          expect(c.unsupported ?? []).to.deep.equal([]);
          // Early on, operators that have seen nothing yet have no state (and start fresh on restore).
          // (Mode offline emits nothing before the end: the decoder has no state yet.)
          const stateful = ['Chunker', ...(variant.opts.mode === 'offline' ? [] : ['CtcDecoder']), ...(variant.opts.audio ? [] : ['MelExtractor']), 'OnnxSTT', ...(variant.opts.vad ? ['VadSegmenter'] : [])].sort();
          if (k > 7) expect(Object.keys(c.states).sort()).to.deep.equal(stateful);
        }
        // Run 2, a fresh pipeline: restore from the (serialised) checkpoint, then the rest of the audio.
        const second = perStreamItems.map((l, i) => {
          const c = decodeCheckpoint(encodeCheckpoint(checkpoints.find((x) => x.streamId === ids[i])!));
          expect(c.position).to.equal(`pos-${k}`);
          return [{ kind: 'restore', streamId: ids[i], states: c.states } as StreamItem, ...l.slice(k), { kind: 'punct', streamId: ids[i] } as StreamItem];
        });
        const resumed = finals(await run(interleave(second), pipeline(variant.opts)));
        expect(resumed, `restored after item ${k}`).to.deep.equal(whole);
      }
      expect(openStreamStates()).to.be.at.most(ids.length * 3); // the abandoned runs are released on unsubscribe
    });
  }

  it('a restore marker with no state for an operator starts that stream fresh', async () => {
    const items = audioItems('x', clip);
    const whole = finals(await run([...items, { kind: 'punct', streamId: 'x' }], pipeline()));
    const fresh = finals(await run([{ kind: 'restore', streamId: 'x', states: {} }, ...items, { kind: 'punct', streamId: 'x' }], pipeline()));
    expect(fresh).to.deep.equal(whole);
  });

  it('a stream that had failed is restored as failed: no more results, as in the uninterrupted run', async () => {
    const items = audioItems('f', clip);
    // The sample rate changes at item 4: the Chunker fails the stream there.
    const broken = items.map((it, k) => (k === 4 && it.kind === 'audio' ? { ...it, sampleRate: 8000 } : it));
    const whole = await run([...broken, { kind: 'punct', streamId: 'f' }], pipeline({ chunkMs: 70 }));
    expect(whole.filter((i) => i.kind === 'error')).to.have.length(1);
    expect(finals(whole)).to.deep.equal([]);
    const k = 8;
    const out1 = await run([...broken.slice(0, k), { kind: 'checkpoint', streamId: 'f', position: 'p', seq: 1, states: {} }], pipeline({ chunkMs: 70 }));
    const c = out1.find((i): i is CheckpointItem => i.kind === 'checkpoint')!;
    const resumed = await run([{ kind: 'restore', streamId: 'f', states: c.states }, ...broken.slice(k), { kind: 'punct', streamId: 'f' }], pipeline({ chunkMs: 70 }));
    expect(finals(resumed)).to.deep.equal([]);
    expect(resumed.filter((i) => i.kind === 'error')).to.deep.equal([]);
  });
});
