/**
 * MelExtractor: NeMo-compatible log-mel features (NeMo `FilterbankFeatures`), streaming-exact.
 *
 * Audio items in, feature items out (time-major frames, with their frame index). State per stream:
 * preemphasis memory, the STFT overlap and the centre padding, so a stream fed in chunks of any size
 * yields exactly the frames of the whole stream at once. Frames are emitted as soon as they are
 * complete; the tail (right centre padding) is flushed at the stream's window punctuation.
 *
 * Presets: `nemo-80` (no normalisation: for streaming models) and `nemo-80-per-feature` (per-utterance
 * per-bin mean/std: NOT a streaming mode — the stream's frames are buffered and emitted, normalised,
 * in one item at its end). Every knob of the preset can be overridden by an explicit param.
 *
 * @example
 * ```ts
 * files$.pipe(fileSource(), chunker({ chunkMs: 160 }), melExtractor({ preset: 'nemo-80' }), ...)
 * ```
 */
import type { FeaturesItem, StreamItem } from '../../toolkit/items.js';
import { stageFactory, type StageSpec } from '../../toolkit/operator.js';
import { perStream } from '../../toolkit/runtime/per-stream.js';
import { configProblems, MEL_PARAMS, PRESETS, resolveConfig, type MelConfig, type MelExtractorParams } from './config.js';
import { MelStream, MelTables } from './extractor.js';

export { PRESETS, resolveConfig, framesFor, type MelConfig, type MelExtractorParams } from './config.js';
export { MelStream, MelTables, perFeatureNormalize } from './extractor.js';

interface State {
  id: string;
  mel: MelStream;
}

export const MelExtractor: StageSpec<MelExtractorParams> = {
  kind: 'MelExtractor',
  role: 'stage',
  description:
    'NeMo-compatible log-mel features (preemphasis, centred STFT, Slaney mel filterbank, log), streaming-exact per stream; ' +
    'presets nemo-80 (streaming) and nemo-80-per-feature (offline: emits at the end of each stream).',
  params: MEL_PARAMS,
  input: ['audio'],
  output: 'features',
  check: (params) => {
    const c: MelConfig = { ...PRESETS[params.preset ?? 'nemo-80'] };
    for (const k of Object.keys(c) as Array<keyof MelConfig>) {
      if (params[k] !== undefined) (c as unknown as Record<string, unknown>)[k] = params[k];
    }
    return configProblems(c);
  },
  create: (params, ctx) => {
    const config = resolveConfig(params);
    const tables = MelTables.for(config);
    const frameShiftMs = (config.hopLength * 1000) / config.sampleRate;
    if (config.normalize === 'per_feature') {
      ctx.log.verbose(`${ctx.nodeId}: normalize per_feature buffers each stream and emits its features at the stream's end`);
    }
    return perStream<State>({
      operator: ctx.nodeId,
      accepts: ['audio'],
      open: (id) => ({ id, mel: new MelStream(tables) }),
      onItem: (s, item, emit) => {
        if (item.kind !== 'audio') return;
        if (item.sampleRate !== config.sampleRate) {
          throw new Error(
            `MelExtractor: stream ${s.id} has ${item.sampleRate} Hz audio, expected ${config.sampleRate} Hz: ` +
              `add resampling in FileSource (sampleRate param) or set MelExtractor's sampleRate`,
          );
        }
        if (item.startSample !== s.mel.samplesSeen) {
          throw new Error(
            `MelExtractor: stream ${s.id} audio is not contiguous: item starts at sample ${item.startSample}, expected ${s.mel.samplesSeen}`,
          );
        }
        s.mel.push(item.samples, (data, nFrames, startFrame) => emit(features(s.id, data, nFrames, startFrame)));
      },
      onEnd: (s, emit) => {
        s.mel.end((data, nFrames, startFrame) => emit(features(s.id, data, nFrames, startFrame)));
      },
    });

    function features(streamId: string, data: Float32Array, nFrames: number, startFrame: number): StreamItem {
      const item: FeaturesItem = { kind: 'features', streamId, data, nFeatures: config.nMels, nFrames, startFrame, frameShiftMs };
      return item;
    }
  },
};

/** In-code form: `melExtractor({ preset: 'nemo-80' })`. */
export const melExtractor = stageFactory(MelExtractor);
