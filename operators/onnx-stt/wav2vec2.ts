/**
 * wav2vec2-style CTC on raw 16 kHz audio: `input_values` [B, samples] (zero-mean, unit-variance per
 * utterance, as the Hugging Face feature extractor does: (x - mean) / sqrt(var + 1e-7)) -> `logits`
 * [B, frames, vocab], raw, so log-softmax is applied here. The conv front end has a 400-sample receptive
 * field and a 320-sample stride: 20 ms frames. Blank = `<pad>` = 0 and `|` separates words.
 * Whole utterance (mode offline) or buffered windows (normalised per window).
 */
import type { AudioItem, FeaturesItem } from '../../toolkit/items.js';
import { logSoftmaxRows, type ContractModel, type ContractOptions, type ContractStream } from './contract.js';
import { Tensor } from './session.js';
import { WindowedRunner, type WindowedSnapshot, unitsOf } from './windowed.js';

export const W2V_SAMPLE_RATE = 16000;
export const W2V_STRIDE = 320;

export function normalizeAudio(x: Float32Array): Float32Array {
  const n = x.length;
  if (!n) return new Float32Array(0);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - mean) ** 2;
  const inv = 1 / Math.sqrt(v / n + 1e-7);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i] - mean) * inv;
  return out;
}

export function createWav2Vec2(o: ContractOptions): ContractModel {
  const d = o.detection;
  const n = d.names;
  if (o.mode === 'streaming') throw new Error('wav2vec2 cannot stream');

  const openStream = (streamId: string, from?: unknown): ContractStream => {
    const runWindow = async (units: Float32Array, nSamples: number) => {
      if (nSamples < 400) return { data: new Float32Array(0), vocab: d.vocabSize ?? 1, valid: 0 };
      const feeds: Record<string, InstanceType<typeof Tensor>> = {
        [n.signal]: new Tensor('float32', normalizeAudio(units), [1, nSamples]),
      };
      if (n.attentionMask) feeds[n.attentionMask] = new Tensor('int64', new BigInt64Array(nSamples).fill(1n), [1, nSamples]);
      const r = await o.session.run(feeds);
      const lg = r[n.logprobs];
      const [, frames, vocab] = lg.dims as number[];
      const data = logSoftmaxRows(Float32Array.from(lg.data as Float32Array), vocab);
      return { data, vocab, valid: Math.min(frames, Math.floor((nSamples - 400) / W2V_STRIDE) + 1) };
    };
    const runner = new WindowedRunner({
      width: 1,
      stride: W2V_STRIDE,
      mode: o.mode === 'buffered' ? 'buffered' : 'offline',
      chunk: unitsOf(o.chunkMs, W2V_SAMPLE_RATE / 1000, W2V_STRIDE),
      context: Math.max(2 * W2V_STRIDE, unitsOf(o.contextMs, W2V_SAMPLE_RATE / 1000, W2V_STRIDE)),
      frameShiftMs: () => 20,
      maxUnits: Math.ceil((o.maxUtteranceMs * W2V_SAMPLE_RATE) / 1000),
      tooLong: () =>
        `stream '${streamId}' is longer than maxUtteranceMs (${o.maxUtteranceMs} ms) in mode offline (whole utterance): use mode buffered for long audio, or raise maxUtteranceMs`,
      runWindow,
    });
    if (from !== undefined) runner.restore(from as WindowedSnapshot);
    return {
      snapshot: () => runner.snapshot(),
      async push(item: FeaturesItem | AudioItem, emit) {
        if (item.kind !== 'audio') {
          throw new Error(`${o.modelPath} is a wav2vec2-style model on raw audio; remove the MelExtractor and feed audio items`);
        }
        if (item.sampleRate !== W2V_SAMPLE_RATE) {
          throw new Error(`stream '${streamId}': audio is ${item.sampleRate} Hz but ${o.modelPath} expects 16000 Hz`);
        }
        await runner.push(item.samples, item.samples.length, emit);
      },
      end: (emit) => runner.end(emit),
      release: () => runner.release(),
    };
  };

  return { contract: 'wav2vec2', concurrent: false, detection: d, input: 'audio', blankFor: () => d.blankId ?? 0, openStream };
}
