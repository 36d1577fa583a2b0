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
import type { FeaturesItem, StreamItem, UtteranceItem } from '../../toolkit/items.js';
import { stageFactory, type StageSpec } from '../../toolkit/operator.js';
import { perStream, type Emit } from '../../toolkit/runtime/per-stream.js';
import { configProblems, MEL_PARAMS, PRESETS, resolveConfig, type MelConfig, type MelExtractorParams } from './config.js';
import { MelStream, MelTables, type MelStreamSnapshot } from './extractor.js';

export { PRESETS, resolveConfig, framesFor, type MelConfig, type MelExtractorParams } from './config.js';
export { MelStream, MelTables, perFeatureNormalize } from './extractor.js';

interface State {
  id: string;
  mel: MelStream;
  /** Stream sample index of the current MelStream's first sample, and stream frame index of its first frame. */
  sampleBase: number;
  frameBase: number;
  /** Stream frames emitted so far (one past the last). */
  nextFrame: number;
  /** Utterance markers waiting for the frames before them. */
  held: UtteranceItem[];
  /** The last item was a marker (a gap in the audio may follow). */
  afterMarker: boolean;
}

type Snapshot = Omit<State, 'id' | 'mel'> & { mel: MelStreamSnapshot };

export const MelExtractor: StageSpec<MelExtractorParams> = {
  kind: 'MelExtractor',
  role: 'stage',
  description:
    'NeMo-compatible log-mel features (preemphasis, centred STFT, Slaney mel filterbank, log), streaming-exact per stream; ' +
    'presets nemo-80 (streaming) and nemo-80-per-feature (offline: emits at the end of each stream or utterance).',
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
  describeOutput: (params) => ({ nFeatures: resolveConfig(params).nMels }),
  // In a graph, the mel bins follow the model this feeds (64, 80, 128, ...) unless nMels is given.
  adaptTo: (params, wants) => (params.nMels === undefined && wants.nFeatures !== undefined ? { ...params, nMels: wants.nFeatures } : params),
  create: (params, ctx) => {
    const config = resolveConfig(params);
    const tables = MelTables.for(config);
    const hop = config.hopLength;
    const frameShiftMs = (hop * 1000) / config.sampleRate;
    const perFeature = config.normalize === 'per_feature';
    if (perFeature) {
      ctx.log.verbose(`${ctx.nodeId}: normalize per_feature buffers each stream (or utterance) and emits its features at its end`);
    }

    /** The first stream frame that belongs after a marker at `sample` (frame t is centred on sample t*hop). */
    const frameOf = (s: State, sample: number) => s.frameBase + Math.ceil((sample - s.sampleBase) / hop);

    /** Emits frames, each held marker right before the first frame after its sample. */
    const emitFrames = (s: State, emit: Emit, data: Float32Array, nFrames: number, localStart: number) => {
      let g = s.frameBase + localStart;
      let off = 0;
      while (s.held.length && frameOf(s, s.held[0].sampleIndex) < g + nFrames - off) {
        const k = Math.max(0, frameOf(s, s.held[0].sampleIndex) - g);
        if (k > 0) {
          emit(features(s.id, data.subarray(off * config.nMels, (off + k) * config.nMels), k, g));
          off += k;
          g += k;
          s.nextFrame = g;
        }
        emit(s.held.shift()!);
      }
      if (off < nFrames) {
        emit(features(s.id, off ? data.subarray(off * config.nMels) : data, nFrames - off, g));
        s.nextFrame = g + nFrames - off;
      }
      releaseReady(s, emit);
    };

    /** Markers whose frames have all gone out. */
    const releaseReady = (s: State, emit: Emit) => {
      while (s.held.length && frameOf(s, s.held[0].sampleIndex) <= s.nextFrame) emit(s.held.shift()!);
    };

    /** Ends the current segment (flushes its tail, releases every held marker) and starts one at `sample`. */
    const restart = (s: State, emit: Emit, sample: number) => {
      s.mel.end((data, n, start) => emitFrames(s, emit, data, n, start));
      while (s.held.length) emit(s.held.shift()!);
      s.mel = new MelStream(tables);
      s.sampleBase = sample;
      s.frameBase = Math.max(s.nextFrame, Math.round(sample / hop));
    };

    return perStream<State>({
      operator: ctx.nodeId,
      accepts: ['audio', 'utterance'],
      open: (id) => ({ id, mel: new MelStream(tables), sampleBase: 0, frameBase: 0, nextFrame: 0, held: [], afterMarker: false }),
      snapshot: ({ id: _, mel, ...rest }): Snapshot => ({ ...rest, mel: mel.snapshot() }),
      restore: (id, value) => {
        const v = value as Snapshot;
        return { ...v, id, mel: MelStream.restore(tables, v.mel) };
      },
      onItem: (s, item, emit) => {
        if (item.kind === 'utterance') {
          s.held.push(item);
          s.afterMarker = true;
          // per_feature: each utterance (and each stretch between them) is normalised on its own.
          if (perFeature) restart(s, emit, s.sampleBase + s.mel.samplesSeen);
          else releaseReady(s, emit);
          return;
        }
        if (item.kind !== 'audio') return;
        if (item.sampleRate !== config.sampleRate) {
          throw new Error(
            `MelExtractor: stream ${s.id} has ${item.sampleRate} Hz audio, expected ${config.sampleRate} Hz: ` +
              `add resampling in FileSource (sampleRate param) or set MelExtractor's sampleRate`,
          );
        }
        const expected = s.sampleBase + s.mel.samplesSeen;
        const gapAllowed = s.afterMarker || s.held.length > 0;
        s.afterMarker = false;
        if (item.startSample > expected && gapAllowed) {
          // A gap after an utterance marker (VadSegmenter dropNonSpeech): the segment ends as a stream would,
          // and the next one keeps the stream's timing.
          restart(s, emit, item.startSample);
        } else if (item.startSample !== expected) {
          throw new Error(
            `MelExtractor: stream ${s.id} audio is not contiguous: item starts at sample ${item.startSample}, expected ${expected}`,
          );
        }
        s.mel.push(item.samples, (data, nFrames, startFrame) => emitFrames(s, emit, data, nFrames, startFrame));
      },
      onEnd: (s, emit) => {
        s.mel.end((data, nFrames, startFrame) => emitFrames(s, emit, data, nFrames, startFrame));
        while (s.held.length) emit(s.held.shift()!);
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
