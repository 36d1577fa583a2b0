/**
 * OnnxSTT: runs a CTC acoustic model with ONNX Runtime; features (or raw audio) in, log-probs out.
 *
 * One shared InferenceSession per model file; per-stream state (window buffer, model caches) lives in
 * a per-`streamId` map and is freed at the stream's punctuation. Utterance markers (VadSegmenter) end a
 * segment as the stream's end would (the last window with its true length, or the whole
 * utterance for the offline contracts), go out after its log-probs, and the next segment starts with
 * fresh state (zero caches); log-prob frame indices keep the stream's timing across segments. The model contract (NeMo cache-aware
 * streaming, NeMo offline, wav2vec2) is detected from the model (detect.ts) and can be forced by params.
 *
 * @example
 * ```ts
 * features$.pipe(onnxStt({ model: 'models/stt-en-char-fastconformer-ctc/model.onnx' }), ctcDecoder({ tokens }))
 * ```
 */
import { resolve } from 'node:path';
import type { CheckpointItem, LogprobsItem, StreamItem } from '../../toolkit/items.js';
import { stageFactory, type Logger, type StageSpec } from '../../toolkit/operator.js';
import { perStream } from '../../toolkit/runtime/per-stream.js';
import { withState, withUnsupported } from '../../toolkit/runtime/snapshot.js';
import { CONTRACTS, type ContractModel, type ContractName, type ContractStream, type FramesOut, type RunMode } from './contract.js';
import { DegeneracyTracker } from './degenerate.js';
import { describeSession, detectContract, detectionProblems, type Detection } from './detect.js';
import { createCacheAware } from './nemo-cache-aware.js';
import { createNemoOffline } from './nemo-offline.js';
import { loadModel, type ExecutionProvider, type GraphOptimizationLevel } from './session.js';
import { createWav2Vec2 } from './wav2vec2.js';

export interface OnnxSttParams {
  model: string;
  contract: ContractName | 'auto';
  mode: RunMode;
  chunkMs: number;
  contextMs: number;
  maxUtteranceMs: number;
  windowSize?: number;
  chunkShift?: number;
  subsampling?: number;
  blankId?: number;
  lastChannelCacheSize?: number;
  lastTimeCacheSize?: number;
  normalize: 'auto' | 'none' | 'per_feature';
  firstWindow: 'auto' | 'zero-pad' | 'first-frame';
  feedCache: boolean;
  maxBatch: number;
  maxWaitMs: number;
  /** Older name of maxBatch. */
  batchSize?: number;
  degenerateFrames: number;
  maxStreams: number;
  intraOpThreads: number;
  interOpThreads: number;
  graphOptimizationLevel: GraphOptimizationLevel;
  executionProvider: ExecutionProvider;
  inferenceThread: 'main' | 'worker';
}

let openStates = 0;
/** Per-stream states currently held by all OnnxSTT instances (tests and leak checks). */
export function openStreamStates(): number {
  return openStates;
}

const silentLog: Logger = { info: () => {}, warn: () => {}, verbose: () => {} };

export function refuseToStreamMessage(path: string, d: Detection): string {
  const what = d.contract === 'wav2vec2' ? 'a wav2vec2-style offline CTC model' : 'an offline CTC model';
  return (
    `${path}: mode 'streaming' was asked for, but this is ${what} without cache inputs ` +
    `(no cache_last_channel/cache_last_time), so it cannot be streamed chunk by chunk: fed short chunks ` +
    `without their context such a model emits the same token everywhere. Use mode: offline (whole ` +
    `utterances) or mode: buffered (overlapping windows, chunkMs/contextMs), or export the model with ` +
    `cache support (NeMo cache_support=True).`
  );
}

/** Loads the shared session, detects the contract and builds the contract module; throws on any problem. */
export async function prepareModel(p: OnnxSttParams, log: Logger = silentLog): Promise<ContractModel> {
  const path = p.model;
  const loaded = await loadModel(path, {
    intraOpThreads: p.intraOpThreads,
    interOpThreads: p.interOpThreads,
    graphOptimizationLevel: p.graphOptimizationLevel,
    executionProvider: p.executionProvider,
    worker: p.inferenceThread === 'worker',
  });
  const desc = describeSession(path, loaded.session, loaded.header);
  const d = detectContract(desc, {
    contract: p.contract,
    windowSize: p.windowSize,
    chunkShift: p.chunkShift,
    subsampling: p.subsampling,
    blankId: p.blankId,
    lastChannelCacheSize: p.lastChannelCacheSize,
    lastTimeCacheSize: p.lastTimeCacheSize,
  });
  const problems = detectionProblems(d, path);
  if (problems.length) throw new Error(problems.join('\n'));
  let mode: Exclude<RunMode, 'auto'> = p.mode === 'auto' ? (d.streamable ? 'streaming' : 'offline') : p.mode;
  if (mode === 'streaming' && !d.streamable) throw new Error(refuseToStreamMessage(path, d));
  const normalize =
    p.normalize === 'auto'
      ? d.contract !== 'nemo-cache-aware' && d.normalizeType === 'per_feature'
        ? 'per_feature'
        : 'none'
      : p.normalize;
  log.verbose(
    `OnnxSTT ${path}: contract ${d.contract}${d.overridden ? ' (forced)' : ''}: ${d.reason}; mode ${mode}` +
      (d.contract === 'nemo-cache-aware' ? `, window ${d.windowSize} / shift ${d.chunkShift} frames` : '') +
      (d.contract !== 'wav2vec2' ? `, normalize ${normalize}${d.normalizeAssumed && p.normalize === 'auto' ? " (NeMo's default: the model has no normalize_type metadata)" : ''}` : '') +
      `, vocab ${d.vocabSize ?? '?'}, blank ${d.blankId ?? '?'}`,
  );
  const opts = {
    session: loaded.session,
    detection: d,
    modelPath: path,
    log,
    mode,
    chunkMs: p.chunkMs,
    contextMs: p.contextMs,
    maxUtteranceMs: p.maxUtteranceMs,
    normalize,
    firstWindow: p.firstWindow,
    feedCache: p.feedCache,
    maxBatch: Math.max(p.maxBatch, p.batchSize ?? 1),
    maxWaitMs: p.maxWaitMs,
  } as const;
  if (!p.feedCache) log.warn(`OnnxSTT ${path}: feedCache is false: model caches are NOT fed back (debugging only)`);
  switch (d.contract) {
    case 'nemo-cache-aware':
      return createCacheAware(opts);
    case 'nemo-offline':
      return createNemoOffline(opts);
    case 'wav2vec2':
      return createWav2Vec2(opts);
    default:
      throw new Error(`${path}: ${d.verdict}`);
  }
}

interface StreamState {
  id: string;
  stream?: ContractStream;
  /** Concurrent (batched) mode: this stream's pushes, chained; the first failure. */
  pending: Promise<void>;
  failure?: unknown;
  nextFrame: number;
  /** Where the current segment starts in the stream (ms), until its first log-probs went out. */
  segmentStartMs?: number;
  degeneracy: DegeneracyTracker;
  /** Restored from a checkpoint: the contract stream's snapshot, opened at the next push or end. */
  resume?: unknown;
  /** Released (stream ended, failed, or replaced by a restore): queued batched work must do nothing. */
  dead?: boolean;
}

/** What a checkpoint holds for one stream. */
interface Snapshot {
  nextFrame: number;
  segmentStartMs?: number;
  /** The contract stream's own snapshot; undefined between segments. */
  stream?: unknown;
}

export const OnnxSTT: StageSpec<OnnxSttParams> = {
  kind: 'OnnxSTT',
  role: 'stage',
  description:
    'Runs a CTC acoustic model (NeMo cache-aware streaming, NeMo offline, wav2vec2) with ONNX Runtime; holds per-stream cache state.',
  input: ['features', 'audio'],
  output: 'logprobs',
  pathParams: ['model'],
  params: {
    type: 'object',
    required: ['model'],
    properties: {
      model: { type: 'string', description: 'Path of the .onnx model.' },
      contract: { enum: ['auto', ...CONTRACTS], default: 'auto', description: 'Model contract; auto detects it.' },
      mode: {
        enum: ['auto', 'streaming', 'offline', 'buffered'],
        default: 'auto',
        description: 'streaming (cache-aware models only), offline (whole utterance), buffered (overlapping windows); auto picks streaming for cache-aware models, else offline.',
      },
      chunkMs: { type: 'number', exclusiveMinimum: 0, default: 4000, description: 'Buffered mode: audio per window kept.' },
      contextMs: { type: 'number', minimum: 0, default: 1000, description: 'Buffered mode: context on each side of a window.' },
      maxUtteranceMs: {
        type: 'number',
        exclusiveMinimum: 0,
        default: 600000,
        description: 'Mode offline: a stream longer than this fails with an error (use mode buffered for long audio).',
      },
      windowSize: { type: 'integer', minimum: 1, description: 'Cache-aware: mel frames per window (default: model metadata window_size).' },
      chunkShift: { type: 'integer', minimum: 1, description: 'Cache-aware: frames the window advances (default: metadata chunk_shift).' },
      subsampling: { type: 'integer', minimum: 1, description: 'Encoder subsampling factor (default: metadata subsampling_factor or measured).' },
      blankId: { type: 'integer', minimum: 0, description: 'Blank id (default: last id for NeMo, 0 for wav2vec2).' },
      lastChannelCacheSize: {
        type: 'integer',
        minimum: 1,
        description: "Cache-aware: attention cache frames, for exports that leave them symbolic (NeMo's own): the encoder's att_context_size[0].",
      },
      lastTimeCacheSize: {
        type: 'integer',
        minimum: 1,
        description: "Cache-aware: convolution cache frames, for exports that leave them symbolic: the encoder's conv_kernel_size - 1.",
      },
      normalize: {
        enum: ['auto', 'none', 'per_feature'],
        default: 'auto',
        description:
          "Offline NeMo models: per_feature normalisation inside OnnxSTT; auto follows metadata normalize_type, and per_feature (NeMo's default) when a NeMo offline export has none.",
      },
      firstWindow: {
        enum: ['auto', 'zero-pad', 'first-frame'],
        default: 'auto',
        description:
          'Cache-aware: precede the first window with (window - shift) zero frames (zero-pad, NeMo) or start at the first real frame (first-frame, as sherpa-onnx does); auto follows metadata first_window, else zero-pad.',
      },
      maxBatch: {
        type: 'integer',
        minimum: 1,
        default: 1,
        description:
          'Cache-aware models: run the windows of up to this many streams that are ready together in one batched model call (streams then proceed concurrently; results are those of unbatched runs).',
      },
      maxWaitMs: {
        type: 'number',
        minimum: 0,
        default: 0,
        description:
          'maxBatch > 1: how long a window may wait for other streams\' windows to join its batch (0: those ready in the same event-loop turn); a batch holding a window of every open stream runs at once, so a single stream never waits.',
      },
      batchSize: { type: 'integer', minimum: 1, description: 'Older name of maxBatch.' },
      feedCache: { type: 'boolean', default: true, description: 'Debug only: false never feeds the caches back (simulates a broken export).' },
      degenerateFrames: {
        type: 'integer',
        minimum: 0,
        default: 50,
        description: 'Warn once per stream when this many frames in a row have the same non-blank argmax or near-uniform probabilities; 0 disables.',
      },
      maxStreams: { type: 'integer', minimum: 1, default: 1024, description: 'Concurrent streams allowed; a stream beyond it gets an error record.' },
      intraOpThreads: { type: 'integer', minimum: 0, default: 1 },
      interOpThreads: { type: 'integer', minimum: 0, default: 1 },
      graphOptimizationLevel: { enum: ['disabled', 'basic', 'extended', 'all'], default: 'all' },
      executionProvider: { enum: ['cpu', 'cuda'], default: 'cpu' },
      inferenceThread: {
        enum: ['main', 'worker'],
        default: 'main',
        description:
          "Where the model runs: 'main' (onnxruntime-node runs it synchronously on the main thread; lowest cost per stream) or 'worker' (a worker thread that holds the cache-aware streams' caches and batches their queued windows: file reading, mel and decoding overlap the model on a second core; best for many files or streams at once).",
      },
    },
  },
  check: async (p) => {
    try {
      await prepareModel({ ...p, model: resolve(p.model) });
      return [];
    } catch (e) {
      return (e instanceof Error ? e.message : String(e)).split('\n');
    }
  },
  wants: async (p) => {
    const m = await prepareModel({ ...p, model: resolve(p.model) });
    return m.input === 'features' && m.detection.nFeatures !== undefined ? { nFeatures: m.detection.nFeatures } : {};
  },
  // Against the upstream node, before running: the input kind and feature count the model takes.
  checkInput: async (p, input) => {
    const m = await prepareModel({ ...p, model: resolve(p.model) });
    const d = m.detection;
    if (input.kind !== m.input) {
      return [
        m.input === 'audio'
          ? `${p.model} is a ${d.contract} model that takes raw 16 kHz audio, but ${input.producer} feeds it ${input.kind}: wire the audio (FileSource or Chunker) straight into it`
          : `${p.model} takes ${d.nFeatures} mel features per frame, but ${input.producer} feeds it ${input.kind}: put a MelExtractor before it`,
      ];
    }
    if (input.kind === 'features' && input.nFeatures !== undefined && d.nFeatures !== undefined && input.nFeatures !== d.nFeatures) {
      return [`${input.producer} makes ${input.nFeatures} mel bins per frame but ${p.model} expects ${d.nFeatures}; use a matching MelExtractor preset or nMels`];
    }
    return [];
  },
  describeOutput: async (p) => ({ vocabSize: (await prepareModel({ ...p, model: resolve(p.model) })).detection.vocabSize }),
  create: (p, ctx) => {
    const ready = prepareModel(p, ctx.log);
    ready.catch(() => {});
    let live = 0;

    const track = (st: StreamState, out: FramesOut, blank: number) => {
      const why = st.degeneracy.feed(out.data, out.nFrames, out.vocabSize, blank);
      if (why) {
        ctx.log.warn(
          `${ctx.nodeId}: stream '${st.id}': degenerate model output (${why}); the model's caches are probably not fed back, ` +
            `or an offline model is being run on chunks without context, or the features do not match the model (${p.model})`,
        );
      }
    };

    // Batched models: a stream's end (its last window) must not hold up the other streams' windows.
    let concurrent = false;
    ready.then((m) => (concurrent = m.concurrent), () => {});

    const open = (id: string): StreamState => {
      if (live >= p.maxStreams) {
        throw new Error(`${ctx.nodeId}: stream '${id}' rejected: maxStreams (${p.maxStreams}) streams are already open; raise maxStreams or end streams sooner`);
      }
      live++;
      openStates++;
      return { id, pending: Promise.resolve(), nextFrame: 0, degeneracy: new DegeneracyTracker(p.degenerateFrames) };
    };

    /** The checkpoint with this stream's state added (between model steps). */
    const snapshotInto = async (st: StreamState, marker: CheckpointItem): Promise<CheckpointItem> => {
      if (st.stream && !st.stream.snapshot) return withUnsupported(marker, ctx.nodeId);
      const stream = st.stream ? await st.stream.snapshot!() : st.resume;
      const value: Snapshot = { nextFrame: st.nextFrame, segmentStartMs: st.segmentStartMs, stream };
      return withState(marker, ctx.nodeId, value);
    };

    /**
     * Runs `task` now (unbatched: perStream already serialises), or, batched, after this stream's work in
     * flight without holding up the other streams' items (their windows may join the same batch).
     */
    const inOrder = (st: StreamState, model: ContractModel, task: () => void | Promise<void>): void | Promise<void> => {
      if (!model.concurrent) return task();
      if (st.failure !== undefined) throw st.failure;
      ctx.flow.hold();
      st.pending = st.pending.then(() => (st.dead ? undefined : task())).finally(() => ctx.flow.release());
      st.pending.catch((e: unknown) => {
        st.failure ??= e;
      });
    };

    /** Opens the contract stream a restored state left pending. */
    const resumed = (st: StreamState, model: ContractModel) => {
      if (!st.stream && st.resume !== undefined) {
        st.stream = model.openStream(st.id, st.resume);
        st.resume = undefined;
      }
    };

    return perStream<StreamState>({
      operator: ctx.nodeId,
      accepts: ['features', 'audio', 'utterance', 'checkpoint'],
      flow: ctx.flow,
      endsConcurrently: () => concurrent,
      open,
      restore(id, value) {
        const v = value as Snapshot;
        return { ...open(id), nextFrame: v.nextFrame, segmentStartMs: v.segmentStartMs, resume: v.stream };
      },
      async onItem(st, item, emit) {
        const model = await ready;
        if (item.kind === 'checkpoint') {
          // Batched: after this stream's steps in flight, without holding up the other streams.
          return inOrder(st, model, async () => emit(await snapshotInto(st, item)));
        }
        if (item.kind === 'utterance') {
          // End the segment like a stream (flush, fresh caches next time), then pass the marker on.
          const finish = async () => {
            resumed(st, model);
            const stream = st.stream;
            st.stream = undefined;
            st.segmentStartMs = undefined;
            if (stream) {
              try {
                await stream.end((out) => emitFrames(st, out, model.blankFor(out.vocabSize), emit));
              } finally {
                stream.release();
              }
            }
            emit(item);
          };
          return inOrder(st, model, finish);
        }
        if (item.kind !== model.input) {
          // Never pass the wrong kind on silently: the decoder would see no log-probs and write an empty result.
          throw new Error(
            model.input === 'audio'
              ? `stream '${st.id}': ${p.model} takes raw 16 kHz audio (${model.detection.contract}) but receives ${item.kind}: wire the audio straight into it, without a MelExtractor`
              : `stream '${st.id}': ${p.model} takes mel features but receives ${item.kind}: put a MelExtractor before it`,
          );
        }
        const push = () => {
          resumed(st, model);
          if (!st.stream) {
            // A new segment (the stream's start, or after an utterance marker).
            st.segmentStartMs = item.kind === 'features' ? item.startFrame * item.frameShiftMs : item.kind === 'audio' ? (item.startSample * 1000) / item.sampleRate : 0;
            st.stream = model.openStream(st.id);
          }
          return st.stream.push(item as never, (out) => emitFrames(st, out, model.blankFor(out.vocabSize), emit));
        };
        return inOrder(st, model, push);
      },
      async onEnd(st, emit) {
        await st.pending;
        const model = await ready;
        resumed(st, model);
        if (!st.stream) return;
        await st.stream.end((out) => emitFrames(st, out, model.blankFor(out.vocabSize), emit), true);
      },
      release(st) {
        st.dead = true;
        live--;
        openStates--;
        st.stream?.release();
        st.stream = undefined;
      },
    });

    function emitFrames(st: StreamState, out: FramesOut, blankId: number, emit: (i: StreamItem) => void) {
      if (st.dead) return;
      if (st.segmentStartMs !== undefined) {
        // The first frames of a segment start at the segment's own time, not where the previous segment's
        // frames stopped: a segment's last window is zero-padded and yields up to one frame more than its
        // true length, so continuing from there (as `max(nextFrame, start)` did) moved every later
        // utterance later by that much, about 25 ms per marker, seconds over a long recording.
        st.nextFrame = Math.round(st.segmentStartMs / out.frameShiftMs);
        st.segmentStartMs = undefined;
      }
      const item: LogprobsItem = {
        kind: 'logprobs',
        streamId: st.id,
        data: out.data,
        nFrames: out.nFrames,
        vocabSize: out.vocabSize,
        startFrame: st.nextFrame,
        frameShiftMs: out.frameShiftMs,
        blankId,
      };
      st.nextFrame += out.nFrames;
      track(st, out, blankId);
      emit(item);
    }
  },
};

export const onnxStt = stageFactory(OnnxSTT);
export { inspectModel, inspectModelJson, formatInspectReport } from './inspect.js';
