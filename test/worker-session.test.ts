/**
 * OnnxSTT `inferenceThread: worker`: the model runs on a worker thread; results must be bit-identical
 * to the main-thread session's, batched or not, and an idle worker must not keep the process alive
 * (mocha would hang here otherwise).
 */
import { expect } from 'chai';
import { from, lastValueFrom, toArray } from 'rxjs';
import { chunker } from '../operators/chunker/index.js';
import { melExtractor } from '../operators/mel-extractor/index.js';
import { onnxStt, openStreamStates } from '../operators/onnx-stt/index.js';
import { loadModel } from '../operators/onnx-stt/session.js';
import { WorkerSession } from '../operators/onnx-stt/worker/worker-session.js';
import type { LogprobsItem, StreamItem } from '../toolkit/items.js';
import { CLIP, MODEL, readWavMono } from './helpers/live.js';

describe('OnnxSTT on a worker thread', function () {
  this.timeout(60000);
  const clip = readWavMono(CLIP);
  const input = (streams: number): StreamItem[] => {
    const items: StreamItem[] = [];
    for (let s = 0; s < streams; s++) {
      // Streams of different lengths, so batches change size as they end.
      const x = clip.subarray(0, clip.length - s * 7000);
      items.push({ kind: 'audio', streamId: `s${s}`, samples: x, sampleRate: 16000, startSample: 0 }, { kind: 'punct', streamId: `s${s}` });
    }
    return items;
  };
  const run = async (inferenceThread: 'main' | 'worker', streams: number, maxBatch: number) => {
    const out = await lastValueFrom(
      from(input(streams)).pipe(chunker({ chunkMs: 160 }), melExtractor(), onnxStt({ model: MODEL, inferenceThread, maxBatch }), toArray()),
    );
    const byStream = new Map<string, number[]>();
    for (const i of out.filter((x): x is LogprobsItem => x.kind === 'logprobs')) {
      const a = byStream.get(i.streamId) ?? [];
      a.push(...i.data);
      byStream.set(i.streamId, a);
    }
    return byStream;
  };

  for (const [streams, maxBatch] of [
    [1, 1],
    [3, 4],
  ]) {
    // Batches may be composed differently on the worker (it batches whatever is queued when it is free): same values within 1e-4.
    it(`gives the main thread's log-probs (${streams} stream(s), maxBatch ${maxBatch})`, async () => {
      const main = await run('main', streams, maxBatch);
      const worker = await run('worker', streams, maxBatch);
      expect([...worker.keys()].sort()).to.deep.equal([...main.keys()].sort());
      for (const [id, lp] of main) {
        expect(lp.length).to.be.greaterThan(100);
        const w = worker.get(id)!;
        expect(w.length, id).to.equal(lp.length);
        let maxDiff = 0;
        for (let i = 0; i < lp.length; i++) maxDiff = Math.max(maxDiff, Math.abs(w[i] - lp[i]));
        expect(maxDiff, id).to.be.at.most(1e-4);
      }
    });
  }

  it('batches the queued windows of several streams on the worker, never more than maxBatch, and releases every stream', async () => {
    const session = (await loadModel(MODEL, { worker: true })).session as WorkerSession;
    const before = { ...session.streamStats };
    await run('worker', 6, 4);
    const runs = session.streamStats.runs - before.runs;
    const items = session.streamStats.items - before.items;
    expect(session.streamStats.maxBatch).to.equal(4);
    expect(items / runs, 'mean batch').to.be.greaterThan(1.5);
    expect(openStreamStates()).to.equal(0);
  });

  it('reports the same inputs and outputs as the main-thread session', async () => {
    const a = (await loadModel(MODEL, { worker: false })).session;
    const b = (await loadModel(MODEL, { worker: true })).session;
    expect(b.inputNames).to.deep.equal(a.inputNames);
    expect(b.outputNames).to.deep.equal(a.outputNames);
    expect(JSON.stringify(b.inputMetadata)).to.equal(JSON.stringify(a.inputMetadata));
  });
});
