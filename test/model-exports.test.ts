/**
 * Real export signatures (test/fixtures/models/make_nemo_signature_fixtures.py): a cache-aware model as
 * NeMo's own `model.export()` writes it (no metadata, symbolic cache sizes), an offline one without
 * metadata, and an encoder-only export. Each through `inspect`, and the runnable ones through OnnxSTT
 * against the same weights with sherpa-onnx metadata (and so against the PyTorch references).
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATORS } from '../operators/index.js';
import { loadGraph, loadGraphFile } from '../toolkit/graph/load.js';
import { GraphError } from '../toolkit/graph/errors.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { runPlan } from '../toolkit/runtime/run.js';
import { punct } from '../toolkit/items.js';
import { onnxStt, prepareModel, OnnxSTT, type OnnxSttParams } from '../operators/onnx-stt/index.js';
import { ctcDecoder } from '../operators/ctc-decoder/index.js';
import type { LogprobsItem, TranscriptItem, UtteranceItem } from '../toolkit/items.js';
import { inspectModel, inspectModelJson } from '../operators/onnx-stt/inspect.js';
import { validateParams } from '../toolkit/params.js';
import { featureItems, FIXTURES, framesOf, interleave, loadRef, maxAbsDiff, runStage } from './helpers/stt-fixtures.js';

const RAW_STREAMING = `${FIXTURES}/nemo_raw_streaming.onnx`;
const RAW_OFFLINE = `${FIXTURES}/nemo_raw_offline.onnx`;
const ENCODER_ONLY = `${FIXTURES}/encoder_only.onnx`;
const TOL = 1e-4;
const params = (p: Partial<OnnxSttParams>) => validateParams(OnnxSTT, p, 'test') as unknown as OnnxSttParams;

async function loadError(p: Partial<OnnxSttParams>): Promise<string> {
  try {
    await prepareModel(params(p));
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('NeMo export signatures', function () {
  this.timeout(20000);

  describe("cache-aware, exported straight from NeMo (no metadata, symbolic cache sizes)", () => {
    const cacheRef = loadRef('cache_aware');
    // make_contract_fixtures.py: window 20 = chunk 16 + pre-encode cache 4, attention cache 8, conv kernel 5.
    const sizes = { windowSize: 20, chunkShift: 16, lastChannelCacheSize: 8, lastTimeCacheSize: 4 };

    it('without params: refused, naming each missing param and where to find it', async () => {
      expect(await loadError({ model: RAW_STREAMING })).to.equal(
        [
          `${RAW_STREAMING}: cache-aware model without window_size/chunk_shift metadata: set the OnnxSTT params windowSize and chunkShift (mel frames, from the encoder's streaming_cfg: windowSize = chunk_size + pre_encode_cache_size, chunkShift = chunk_size; docs/models.md)`,
          `${RAW_STREAMING}: the cache sizes are symbolic and there is no cache_last_*_dim metadata (a model exported straight from NeMo): set the OnnxSTT params lastChannelCacheSize (the encoder's att_context_size[0]) and lastTimeCacheSize (the encoder's conv_kernel_size - 1), from the model config (model.cfg.encoder; docs/models.md)`,
        ].join('\n'),
      );
      const report = await inspectModel(RAW_STREAMING);
      expect(report).to.include('caches     cache_last_channel [B, 2, ?, 24], cache_last_time [B, 2, 24, ?]');
      expect(report).to.include('problem    ');
    });

    it('with the cache sizes as params: the same log-probs as the sherpa-metadata export of the same weights (= PyTorch)', async () => {
      const out = await runStage(onnxStt({ model: RAW_STREAMING, subsampling: 4, ...sizes }), [
        ...featureItems('s', cacheRef.arrays.features.data, 80, [7, 13]),
        punct('s'),
      ]);
      const got = framesOf(out, 's');
      expect(got.nFrames).to.equal(cacheRef.arrays.logprobs.shape[0]);
      expect(maxAbsDiff(got.data, cacheRef.arrays.logprobs.data)).to.be.below(TOL);
    });
  });

  describe('offline, exported straight from NeMo (no normalize_type metadata)', () => {
    const offRef = loadRef('offline');

    it("inspect says per_feature, NeMo's default, assumed", async () => {
      const r = await inspectModelJson(RAW_OFFLINE);
      expect([r.contract, r.normalizeType, r.normalizeAssumed]).to.deep.equal(['nemo-offline', 'per_feature', true]);
      expect(await inspectModel(RAW_OFFLINE)).to.include("normalize  per_feature (NeMo's default, assumed: the model has no normalize_type metadata)");
    });

    it('runs with per_feature normalisation: the same log-probs as the export that says per_feature', async () => {
      const verbose: string[] = [];
      const log = { info: () => {}, warn: () => {}, verbose: (m: string) => verbose.push(m) };
      const out = await runStage(onnxStt({ model: RAW_OFFLINE }, { log }), [...featureItems('o', offRef.arrays.features.data, 80, [13]), punct('o')]);
      expect(maxAbsDiff(framesOf(out, 'o').data, offRef.arrays.logprobs.data)).to.be.below(TOL);
      expect(verbose.join('\n')).to.include("normalize per_feature (NeMo's default: the model has no normalize_type metadata)");
    });
  });

  describe('encoder-only export (an RNNT/TDT or hybrid model exported with its default decoder)', () => {
    const expected =
      "an encoder-only export, not a CTC model: output outputs [batch, d_model, time] holds encoder states (NeMo's default export of an RNNT/TDT or hybrid model, or a transducer encoder.onnx). " +
      "For a hybrid RNNT/TDT-CTC model, export its CTC head: model.set_export_config({'decoder_type': 'ctc'}) before model.export() (docs/models.md); a pure RNNT/TDT model has no CTC head to run";

    it('inspect calls it what it is, not CTC', async () => {
      const r = await inspectModelJson(ENCODER_ONLY);
      expect(r.contract).to.equal(null);
      expect(r.verdict).to.equal(expected);
    });

    it('OnnxSTT refuses it before running, with the fix', async () => {
      expect(await loadError({ model: ENCODER_ONLY })).to.equal(`${ENCODER_ONLY}: ${expected}`);
    });
  });

  describe('64-, 80- and 128-mel models in the shipped file graph', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'mel-bins-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));
    const silent = { info: () => undefined, warn: () => undefined, verbose: () => undefined };

    for (const [model, bins] of [
      [`${FIXTURES}/mel64.onnx`, 64],
      [`${FIXTURES}/nemo_raw_offline.onnx`, 80],
      [`${FIXTURES}/mel128.onnx`, 128],
    ] as const) {
      it(`${model}: the MelExtractor makes ${bins} bins and the graph runs to a final transcript`, async () => {
        const out = join(dir, `${bins}.jsonl`);
        const tokens = bins === 80 ? `${FIXTURES}/offline.tokens.txt` : `${FIXTURES}/cache_aware.tokens.txt`;
        const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs/onnx-stt.yaml'), {
          registry: OPERATORS,
          params: { model, tokens, audio: join(TOOLKIT_ROOT, 'samples/audio/flite-slt-fox.wav'), out },
        });
        expect((plan.nodes.find((n) => n.id === 'mel')!.params as { nMels?: number }).nMels).to.equal(bins);
        const result = await runPlan(plan, { log: silent });
        expect(result.errors).to.deep.equal([]);
        const records = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; isFinal?: boolean });
        expect(records.filter((r) => r.kind === 'transcript' && r.isFinal)).to.have.length(1);
      });
    }

    it('an nMels given explicitly stays, and a mismatch is refused before running', async () => {
      const yaml = `name: explicit
nodes:
  - { id: src, kind: FileSource, params: { files: a.wav } }
  - { id: mel, kind: MelExtractor, params: { nMels: 80 } }
  - { id: stt, kind: OnnxSTT, params: { model: ${FIXTURES}/mel128.onnx } }
`;
      const err = await loadGraph('g.yaml', yaml, { registry: OPERATORS, env: {} }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(GraphError);
      expect((err as GraphError).message).to.include('mel (MelExtractor) makes 80 mel bins per frame but');
    });
  });

  describe('a BPE vocabulary of 1024 pieces, blank = 1024 (NeMo BPE models)', () => {
    const MODEL = `${FIXTURES}/bpe1024.onnx`;
    const TOKENS = `${FIXTURES}/bpe1024.tokens.txt`;

    it("inspect: vocab 1025 with the blank at 1024; the shipped graph's loader accepts the tokens file for it", async () => {
      const r = await inspectModelJson(MODEL);
      expect([r.contract, r.vocabSize, r.blankId]).to.deep.equal(['nemo-offline', 1025, 1024]);
      const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs/onnx-stt.yaml'), {
        registry: OPERATORS,
        params: { model: MODEL, tokens: TOKENS, audio: join(TOOLKIT_ROOT, 'samples/audio/flite-slt-fox.wav'), out: '-', format: 'jsonl', partials: 'false' },
      });
      expect(plan.nodes.map((n) => n.id)).to.include('ctc');
    });

    it('decodes ▁-pieces into words, blank 1024 between repeats', async () => {
      // the=1 quick=2 bro=3 wn=4 fox=5 jump=6 s=7; a frame per id, blanks (1024) split repeats.
      const ids = [1, 1, 1024, 2, 3, 4, 1024, 5, 6, 7, 1024, 1024];
      const data = new Float32Array(ids.length * 1025).fill(-30);
      ids.forEach((id, t) => (data[t * 1025 + id] = 0));
      const item: LogprobsItem = { kind: 'logprobs', streamId: 'b', data, nFrames: ids.length, vocabSize: 1025, startFrame: 0, frameShiftMs: 40, blankId: 1024 };
      const out = await runStage(ctcDecoder({ tokens: TOKENS, partials: false }), [item, punct('b')]);
      const finals = out.filter((i): i is TranscriptItem => i.kind === 'transcript' && i.isFinal);
      expect(finals.map((f) => f.text)).to.deep.equal(['the quick brown fox jumps']);
    });
  });
});

/**
 * NeMo's own streaming loop (make_nemo_signature_fixtures.py nemo_stream: CacheAwareStreamingAudioBuffer
 * and conformer_stream_step, in PyTorch) is the reference: the raw NeMo export (a dynamic time axis, no
 * in-chunk padding mask) must be fed its last window unpadded to match it, and the sherpa-metadata export
 * of the same weights (a fixed window, padding masked) matches it zero-padded. Feature lengths: 150 (a
 * partial last frame), 146 (a tail of 2 new frames, which NeMo skips), 37, and 3 (a lone first chunk).
 */
describe("NeMo's streaming loop as the reference (nemo_streaming.ref)", function () {
  this.timeout(30000);
  const ref = loadRef('nemo_streaming');
  const feats = ref.arrays.features.data;
  const LENGTHS = [150, 146, 37, 3];
  const PARTIAL = [150, 37, 3];
  const sizes = { subsampling: 4, windowSize: 20, chunkShift: 16, lastChannelCacheSize: 8, lastTimeCacheSize: 4 };
  const first = (n: number) => feats.subarray(0, n * 80);

  it('the fixtures exercise the last window: zero-padding it changes the raw export\'s frames (> 0.1)', () => {
    for (const n of PARTIAL) expect(maxAbsDiff(ref.arrays[`padded_${n}`].data, ref.arrays[`logprobs_${n}`].data), `n=${n}`).to.be.above(0.1);
    // NeMo skips the 2-frame tail of 146: one frame fewer than ceil(146 / 4).
    expect(ref.arrays.logprobs_146.shape[0]).to.equal(36);
  });

  it('inspect: the raw export has a dynamic time axis (last window unpadded), the sherpa one a fixed one', async () => {
    expect((await inspectModelJson(RAW_STREAMING)).dynamicWindow).to.equal(true);
    expect(await inspectModel(RAW_STREAMING)).to.include('last       unpadded, its true length (dynamic time axis, as NeMo streams it)');
    expect((await inspectModelJson(`${FIXTURES}/cache_aware.onnx`)).dynamicWindow).to.equal(false);
    expect(await inspectModel(`${FIXTURES}/cache_aware.onnx`)).to.include('last       zero-padded to the window, given its true length (fixed time axis)');
  });

  const cases: Array<[string, Partial<OnnxSttParams>]> = [
    ['raw NeMo export, main thread', { model: RAW_STREAMING, ...sizes }],
    ['raw NeMo export, worker thread', { model: RAW_STREAMING, ...sizes, inferenceThread: 'worker' }],
    ['sherpa-onnx export (fixed window), main thread', { model: `${FIXTURES}/cache_aware.onnx` }],
    ['sherpa-onnx export (fixed window), worker thread', { model: `${FIXTURES}/cache_aware.onnx`, inferenceThread: 'worker' }],
  ];
  for (const [name, p] of cases) {
    it(`${name}: every length's log-probs equal the NeMo loop's within 1e-4, frame for frame`, async () => {
      let worst = 0;
      for (const n of LENGTHS) {
        const out = await runStage(onnxStt(p), [...featureItems('s', first(n), 80, [7, 13]), punct('s')]);
        const got = framesOf(out, 's');
        const want = ref.arrays[`logprobs_${n}`];
        expect(got.nFrames, `n=${n}`).to.equal(want.shape[0]);
        const diff = maxAbsDiff(got.data, want.data);
        expect(diff, `n=${n}`).to.be.below(TOL);
        worst = Math.max(worst, diff);
      }
      console.log(`      ${name} vs the NeMo loop: max |diff| ${worst.toExponential(2)}`);
    });
  }

  it('raw NeMo export, streams of different lengths batched together (maxBatch 4): each equals its reference', async () => {
    for (const inferenceThread of ['main', 'worker'] as const) {
      const streams = LENGTHS.map((n, i) => featureItems(`b${i}`, first(n), 80, [16]));
      const out = await runStage(onnxStt({ model: RAW_STREAMING, ...sizes, maxBatch: 4, inferenceThread }), [
        ...interleave(streams),
        ...LENGTHS.map((_, i) => punct(`b${i}`)),
      ]);
      LENGTHS.forEach((n, i) => {
        const got = framesOf(out, `b${i}`);
        expect(got.nFrames, `${inferenceThread} n=${n}`).to.equal(ref.arrays[`logprobs_${n}`].shape[0]);
        expect(maxAbsDiff(got.data, ref.arrays[`logprobs_${n}`].data), `${inferenceThread} n=${n}`).to.be.below(TOL);
      });
    }
  });

  it("at an utterance marker (the stream goes on) the short tail still runs: frames stay contiguous, the next segment starts at its own time", async () => {
    const n = 146;
    const end: UtteranceItem = { kind: 'utterance', streamId: 'u', event: 'end', utteranceNumber: 1, sampleIndex: n * 160, sampleRate: 16000, startMs: 0, endMs: n * 10 };
    const second = featureItems('u', first(37), 80, [13]).map((f) => ({ ...f, startFrame: f.startFrame + 148 }));
    const out = await runStage(onnxStt({ model: RAW_STREAMING, ...sizes }), [...featureItems('u', first(n), 80, [16]), end, ...second, punct('u')]);
    // framesOf checks the frame numbers are contiguous across the marker: the first segment's 37 frames
    // (its 2-frame tail run, as the stream goes on) end where the second starts, at frame 148 / 4 = 37.
    const all = framesOf(out, 'u');
    expect(all.nFrames).to.equal(37 + 10);
    const V = 29;
    // NeMo's 146-frame stream (36 frames) is the first segment's start; the second segment, on fresh caches, is NeMo's 37-frame stream.
    expect(maxAbsDiff(all.data.subarray(0, 36 * V), ref.arrays.logprobs_146.data)).to.be.below(TOL);
    expect(maxAbsDiff(all.data.subarray(37 * V), ref.arrays.logprobs_37.data)).to.be.below(TOL);
  });
});
