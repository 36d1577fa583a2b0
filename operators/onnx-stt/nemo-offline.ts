/**
 * NeMo offline (non cache-aware) CTC on mel features: inputs `audio_signal` [B, 80, T] and `length` only.
 * Whole utterance at the stream's end by default (mode offline), or overlapping buffered windows (mode
 * buffered, see windowed.ts). NeMo per_feature normalisation is applied here when the model's metadata
 * says `normalize_type: per_feature` (or param normalize), over the utterance or over each window.
 */
import type { AudioItem, FeaturesItem } from '../../toolkit/items.js';
import {
  int64,
  scalarOf,
  toFeatureMajor,
  type ContractModel,
  type ContractOptions,
  type ContractStream,
} from './contract.js';
import { Tensor } from './session.js';
import { WindowedRunner, type WindowedSnapshot, unitsOf } from './windowed.js';

export function createNemoOffline(o: ContractOptions): ContractModel {
  const d = o.detection;
  const n = d.names;
  const nFeat = d.nFeatures!;
  const perFeature = o.normalize === 'per_feature';
  if (o.mode === 'streaming') throw new Error('nemo-offline cannot stream');

  const openStream = (streamId: string, from?: unknown): ContractStream => {
    let subsampling = d.subsampling;
    let inShiftMs = 10;
    let runner: WindowedRunner | undefined;

    const runWindow = async (units: Float32Array, nFrames: number) => {
      const x = toFeatureMajor(units, nFrames, nFeat, nFrames, perFeature);
      const feeds: Record<string, InstanceType<typeof Tensor>> = {
        [n.signal]: new Tensor('float32', x, [1, nFeat, nFrames]),
      };
      if (n.length) feeds[n.length] = new Tensor('int64', int64([nFrames]), [1]);
      const r = await o.session.run(feeds);
      const lp = r[n.logprobs];
      const [, tOut, vocab] = lp.dims as number[];
      const valid = Math.min(tOut, n.encodedLengths && r[n.encodedLengths] ? scalarOf(r[n.encodedLengths].data) : tOut);
      if (!subsampling && valid > 0) subsampling = Math.max(1, Math.round(nFrames / valid));
      return { data: lp.data as Float32Array, vocab, valid };
    };

    const makeRunner = (shiftMs: number) => {
      const stride = subsampling ?? 8;
      return new WindowedRunner({
        width: nFeat,
        stride,
        mode: o.mode === 'buffered' ? 'buffered' : 'offline',
        chunk: unitsOf(o.chunkMs, 1 / shiftMs, stride),
        context: unitsOf(o.contextMs, 1 / shiftMs, stride),
        frameShiftMs: () => inShiftMs * (subsampling ?? stride),
        maxUnits: Math.ceil(o.maxUtteranceMs / shiftMs),
        tooLong: () =>
          `stream '${streamId}' is longer than maxUtteranceMs (${o.maxUtteranceMs} ms) in mode offline (whole utterance): use mode buffered for long audio, or raise maxUtteranceMs`,
        runWindow,
      });
    };

    if (from !== undefined) {
      const s = from as { subsampling?: number; inShiftMs: number; runner?: WindowedSnapshot };
      subsampling = s.subsampling;
      inShiftMs = s.inShiftMs;
      if (s.runner) (runner = makeRunner(inShiftMs)).restore(s.runner);
    }

    return {
      snapshot: () => ({ subsampling, inShiftMs, runner: runner?.snapshot() }),
      async push(item: FeaturesItem | AudioItem, emit) {
        if (item.kind !== 'features') throw new Error(`${o.modelPath} takes mel features, got ${item.kind}`);
        if (item.nFeatures !== nFeat) {
          throw new Error(
            `stream '${streamId}': features have ${item.nFeatures} bins but ${o.modelPath} expects ${nFeat} (${n.signal} [B, ${nFeat}, T]); use a matching MelExtractor preset`,
          );
        }
        inShiftMs = item.frameShiftMs;
        runner ??= makeRunner(item.frameShiftMs);
        await runner.push(item.data, item.nFrames, emit);
      },
      async end(emit) {
        await runner?.end(emit);
      },
      release() {
        runner?.release();
      },
    };
  };

  return { contract: 'nemo-offline', concurrent: false, detection: d, input: 'features', blankFor: (v) => d.blankId ?? v - 1, openStream };
}
