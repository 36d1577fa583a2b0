import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { punct } from '../toolkit/items.js';
import { validateParams } from '../toolkit/params.js';
import { Batcher } from '../operators/onnx-stt/batcher.js';
import { OnnxSTT, onnxStt, openStreamStates, prepareModel, type OnnxSttParams } from '../operators/onnx-stt/index.js';
import { Tensor, type Session } from '../operators/onnx-stt/session.js';
import { FIXTURES, featureItems, framesOf, interleave, loadRef, maxAbsDiff, runStage } from './helpers/stt-fixtures.js';

const CACHE = `${FIXTURES}/cache_aware.onnx`;
const BUNDLED = 'models/stt-en-char-fastconformer-ctc/model.onnx';
const params = (p: Partial<OnnxSttParams>) => validateParams(OnnxSTT, p, 'test') as unknown as OnnxSttParams;

/** A fake session: records the batch size of every run; output y = 2x, resolved when `release()` is called (or at once). */
function fakeSession(manual = false) {
  const runs: number[] = [];
  const pending: Array<() => void> = [];
  const session = {
    run(feeds: Record<string, InstanceType<typeof Tensor>>) {
      const x = feeds.x;
      runs.push(x.dims[0]);
      const data = (x.data as Float32Array).map((v) => 2 * v);
      const out = { y: new Tensor('float32', data, [...x.dims]) };
      return new Promise((resolve) => (manual ? pending.push(() => resolve(out)) : resolve(out)));
    },
  } as unknown as Session;
  return { session, runs, releaseAll: () => pending.splice(0).forEach((f) => f()) };
}
const step = (v: number) => ({ x: new Tensor('float32', Float32Array.from([v, v + 1]), [1, 2]) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('OnnxSTT batching (Batcher: maxBatch, maxWaitMs)', function () {
  this.timeout(20000);

  it('a single open stream never waits, whatever maxWaitMs is', async () => {
    const f = fakeSession();
    const b = new Batcher(f.session, 16, 10000);
    b.open();
    const t0 = Date.now();
    const r = b.run(step(1));
    expect(f.runs).to.deep.equal([1]); // run synchronously, not after a timer
    expect(Array.from((await r).y.data as Float32Array)).to.deep.equal([2, 4]);
    expect(Date.now() - t0).to.be.below(1000);
  });

  it('waits up to maxWaitMs for the other open streams, runs at once when every open stream is in the batch', async () => {
    const f = fakeSession();
    const b = new Batcher(f.session, 16, 60);
    b.open();
    b.open();
    b.open();
    const a = b.run(step(1));
    const c = b.run(step(3));
    await sleep(5);
    expect(f.runs).to.deep.equal([]); // 2 of 3 open streams: waiting for the third
    const d = b.run(step(5));
    expect(f.runs).to.deep.equal([3]); // every open stream has a step: no more waiting
    const outs = await Promise.all([a, c, d]);
    expect(outs.map((o) => Array.from(o.y.data as Float32Array))).to.deep.equal([[2, 4], [6, 8], [10, 12]]);
    expect(outs[0].y.dims).to.deep.equal([1, 2]);
    // Only one of three streams ready: it runs after maxWaitMs.
    const t0 = Date.now();
    await b.run(step(7));
    expect(Date.now() - t0).to.be.within(40, 1000);
    expect(f.runs).to.deep.equal([3, 1]);
    // A stream that closes no longer holds a batch up.
    const e = b.run(step(9));
    const g = b.run(step(11));
    b.close();
    expect(f.runs).to.deep.equal([3, 1, 2]);
    await Promise.all([e, g]);
  });

  it('never more than maxBatch per run; steps that arrive during a run form the next batch', async () => {
    const f = fakeSession(true);
    const b = new Batcher(f.session, 2, 0);
    for (let i = 0; i < 8; i++) b.open();
    const first = [b.run(step(0)), b.run(step(1))];
    expect(f.runs).to.deep.equal([2]);
    const more = [b.run(step(2)), b.run(step(3)), b.run(step(4))];
    await sleep(5);
    expect(f.runs).to.deep.equal([2]); // one run in flight: the others queue
    f.releaseAll();
    await Promise.all(first);
    expect(f.runs).to.deep.equal([2, 2]);
    f.releaseAll();
    await sleep(5);
    expect(f.runs).to.deep.equal([2, 2, 1]);
    f.releaseAll();
    const outs = await Promise.all(more);
    expect(outs.map((o) => (o.y.data as Float32Array)[0])).to.deep.equal([4, 6, 8]);
    expect(b.stats).to.deep.equal({ runs: 3, items: 5, maxBatch: 2 });
  });

  it('maxBatch 8 with maxWaitMs on the cache-aware fixture: the same log-probs as unbatched (<= 1e-4)', async () => {
    const feats = loadRef('cache_aware').arrays.features.data;
    const N = 8;
    const variants = Array.from({ length: N }, (_, s) => feats.map((x, i) => x * (1 + 0.05 * s) - 0.02 * (i % 5) * s));
    const single = await runStage(onnxStt({ model: CACHE }), variants.flatMap((v, s) => [...featureItems(`s${s}`, v, 80, [16]), punct(`s${s}`)]));
    const lists = variants.map((v, s) => [...featureItems(`s${s}`, v, 80, [3 + 2 * s, 16, 40]), punct(`s${s}`)]);
    const batched = await runStage(onnxStt({ model: CACHE, maxBatch: 8, maxWaitMs: 2 }), interleave(lists));
    for (let s = 0; s < N; s++) {
      const a = framesOf(single, `s${s}`);
      const b = framesOf(batched, `s${s}`);
      expect(b.nFrames).to.equal(a.nFrames);
      expect(maxAbsDiff(a.data, b.data)).to.be.at.most(1e-4);
    }
    expect(openStreamStates()).to.equal(0);
    const model = await prepareModel(params({ model: CACHE, maxBatch: 8, maxWaitMs: 1000 }));
    // One stream alone never waits for maxWaitMs.
    const one = model.openStream('alone');
    const t0 = Date.now();
    await one.push(featureItems('alone', feats, 80, [200])[0], () => {});
    expect(Date.now() - t0).to.be.below(900);
    one.release();
  });

  it('the bundled model (when present): 6 interleaved streams batched give the unbatched log-probs (<= 1e-4)', async function () {
    if (!existsSync(BUNDLED)) this.skip();
    const feats = loadRef('cache_aware').arrays.features.data; // real speech features (80 mel bins)
    const N = 6;
    const variants = Array.from({ length: N }, (_, s) => feats.map((x, i) => x + 0.3 * Math.sin(i * 0.01 * (s + 1))));
    const single = await runStage(onnxStt({ model: BUNDLED }), variants.flatMap((v, s) => [...featureItems(`s${s}`, v, 80, [16]), punct(`s${s}`)]));
    const lists = variants.map((v, s) => [...featureItems(`s${s}`, v, 80, [10, 16 + s]), punct(`s${s}`)]);
    const batched = await runStage(onnxStt({ model: BUNDLED, maxBatch: N }), interleave(lists));
    for (let s = 0; s < N; s++) {
      const a = framesOf(single, `s${s}`);
      const b = framesOf(batched, `s${s}`);
      expect(b.nFrames).to.equal(a.nFrames);
      expect(maxAbsDiff(a.data, b.data)).to.be.at.most(1e-4);
    }
  });
});
