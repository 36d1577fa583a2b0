/**
 * NeMo cache-aware streaming CTC (export with cache_support=True, ctc decoder).
 *
 * Per stream: a window buffer of `window_size` mel frames advancing by `chunk_shift`; the first window is
 * preceded by (window - shift) zero frames (NeMo; `firstWindow: first-frame` starts at real frame 0
 * instead); the last window is given its true `length`, unpadded when the model's time axis is dynamic
 * (NeMo's own exports) and zero-padded to the window when it is fixed, and the outputs beyond
 * `encoded_lengths` are dropped; at the stream's end a tail NeMo's streaming buffer skips is not run
 * (endsWithWindow). Caches start at zero with length 0 and the `*_next` outputs become the
 * next step's inputs, `cache_last_channel_len` included.
 */
import type { AudioItem, FeaturesItem } from '../../toolkit/items.js';
import {
  scalarOf,
  type ContractModel,
  type ContractOptions,
  type ContractStream,
  type EmitFrames,
} from './contract.js';
import { Batcher } from './batcher.js';
import { openHostedStream } from './cache-aware-hosted.js';
import { checkFeatures, endsWithWindow, feedWindows, stepSubsampling, windowBuffer, windowInput, type CacheAwareSnapshot } from './cache-aware-windows.js';
import { Tensor } from './session.js';
import { WorkerSession } from './worker/worker-session.js';

export function createCacheAware(o: ContractOptions): ContractModel {
  const d = o.detection;
  const n = d.names;
  const W = d.windowSize!;
  const S = d.chunkShift!;
  const ctxFrames = W - S;
  const nFeat = d.nFeatures!;
  const dynamic = d.dynamicWindow === true;
  const [cl, cf, cd] = d.cacheChannelDims!;
  const [tl, td, tk] = d.cacheTimeDims!;
  const channelSize = cl * cf * cd;
  // NeMo precedes the first window with (window - shift) zero frames; exports may say so in `first_window`.
  const mdFirst = (d.firstWindow ?? '').toLowerCase();
  const zeroPad =
    o.firstWindow === 'auto' ? !/^(first|none|no\b|start)/.test(mdFirst) : o.firstWindow === 'zero-pad';
  const batchDim = o.session.inputMetadata[0];
  const canBatch = !(batchDim?.isTensor && typeof batchDim.shape[0] === 'number' && batchDim.shape[0] === 1);
  if (o.maxBatch > 1 && !canBatch) o.log.warn(`${o.modelPath}: the model's batch dimension is fixed at 1: maxBatch ignored`);
  const batcher = new Batcher(o.session, canBatch ? o.maxBatch : 1, o.maxWaitMs);
  const timeSize = tl * td * tk;
  if (o.normalize === 'per_feature') {
    o.log.warn(`${o.modelPath}: per_feature normalisation cannot be applied to a streamed cache-aware model; features are fed as they come`);
  }
  if (o.mode === 'offline' || o.mode === 'buffered') {
    o.log.verbose(`${o.modelPath}: mode ${o.mode} on a cache-aware model: it is run window by window anyway (same result)`);
  }

  const checkSnapshot = (streamId: string, s: CacheAwareSnapshot) => {
    if (s.cacheChannel.length !== channelSize || s.cacheTime.length !== timeSize || s.frames.length !== s.length * nFeat) {
      throw new Error(`stream '${streamId}': the snapshot does not fit ${o.modelPath} (other cache dims): restored with a different model?`);
    }
  };

  if (o.session instanceof WorkerSession) {
    // The model on a worker thread: the caches stay there and windows are sent without waiting.
    const session = o.session;
    const cfg = session.defineHostedModel({
      names: {
        signal: n.signal,
        length: n.length,
        cacheChannel: n.cacheChannel!,
        cacheTime: n.cacheTime!,
        cacheChannelLen: n.cacheChannelLen!,
        logprobs: n.logprobs,
        encodedLengths: n.encodedLengths,
        cacheChannelNext: n.cacheChannelNext!,
        cacheTimeNext: n.cacheTimeNext!,
        cacheChannelLenNext: n.cacheChannelLenNext,
      },
      nFeat,
      window: W,
      channelDims: [cl, cf, cd],
      timeDims: [tl, td, tk],
      maxBatch: canBatch ? o.maxBatch : 1,
      maxWaitMs: o.maxWaitMs,
      feedCache: o.feedCache,
    });
    const hosted = { session, cfg, o, nFeat, window: W, shift: S, zeroPadFrames: zeroPad ? ctxFrames : 0, dynamicWindow: dynamic };
    return {
      contract: 'nemo-cache-aware',
      stats: session.streamStats,
      concurrent: true,
      detection: d,
      input: 'features',
      blankFor: (v) => o.detection.blankId ?? v - 1,
      openStream: (streamId, from) => {
        if (from !== undefined) checkSnapshot(streamId, from as CacheAwareSnapshot);
        return openHostedStream(hosted, streamId, from as CacheAwareSnapshot | undefined);
      },
    };
  }

  const openStream = (streamId: string, from?: unknown): ContractStream => {
    const s = from as CacheAwareSnapshot | undefined;
    if (s) checkSnapshot(streamId, s);
    const buf = windowBuffer(nFeat, W, zeroPad ? ctxFrames : 0, s);
    // Caches: the model's *_next outputs are fed back as they are (fresh buffers of each run, or views
    // into a batch's output): no copy. The window buffer is reused: a stream has one step in flight.
    let cacheChannel: Float32Array = s ? s.cacheChannel.slice() : new Float32Array(channelSize);
    let cacheTime: Float32Array = s ? s.cacheTime.slice() : new Float32Array(timeSize);
    let cacheLen = s ? s.cacheLen : 0;
    let subsampling = s ? s.subsampling : d.subsampling;
    let inShiftMs = s ? s.inShiftMs : 10;
    const window = new Float32Array(nFeat * W);
    const lenBuf = new BigInt64Array(1);
    const cacheLenBuf = new BigInt64Array(1);
    batcher.open();
    let released = false;

    const run = async (length: number, emit: EmitFrames) => {
      const input = windowInput(buf, length, nFeat, W, dynamic, window);
      cacheLenBuf[0] = BigInt(cacheLen);
      const feeds: Record<string, InstanceType<typeof Tensor>> = {
        [n.signal]: new Tensor('float32', input.data, [1, nFeat, input.frames]),
        [n.cacheChannel!]: new Tensor('float32', cacheChannel, [1, cl, cf, cd]),
        [n.cacheTime!]: new Tensor('float32', cacheTime, [1, tl, td, tk]),
        [n.cacheChannelLen!]: new Tensor('int64', cacheLenBuf, [1]),
      };
      if (n.length) {
        lenBuf[0] = BigInt(length);
        feeds[n.length] = new Tensor('int64', lenBuf, [1]);
      }
      const r = await batcher.run(feeds);
      if (released) return;
      const lp = r[n.logprobs];
      const [, tOut, vocab] = lp.dims as number[];
      let valid = n.encodedLengths && r[n.encodedLengths] ? scalarOf(r[n.encodedLengths].data) : tOut;
      valid = Math.max(0, Math.min(valid, tOut));
      if (o.feedCache) {
        cacheChannel = r[n.cacheChannelNext!].data as Float32Array;
        cacheTime = r[n.cacheTimeNext!].data as Float32Array;
        cacheLen = n.cacheChannelLenNext && r[n.cacheChannelLenNext]
          ? scalarOf(r[n.cacheChannelLenNext].data)
          : Math.min(cf, cacheLen + valid);
      }
      let sub = subsampling;
      if (!sub) {
        const seen = stepSubsampling(input.frames, length, W, S, tOut);
        sub = seen.value;
        if (seen.sure) subsampling = sub;
      }
      if (valid > 0) {
        const data = (lp.data as Float32Array).subarray(0, valid * vocab);
        emit({ data, nFrames: valid, vocabSize: vocab, frameShiftMs: inShiftMs * sub });
      }
    };

    return {
      async push(item: FeaturesItem | AudioItem, emit) {
        checkFeatures(item, nFeat, streamId, o.modelPath, n.signal);
        if (released) return;
        inShiftMs = item.frameShiftMs;
        await feedWindows(buf, item, W, S, async () => {
          await run(W, emit);
          return !released;
        });
      },
      async end(emit, streamEnd = false) {
        if (!released && endsWithWindow(buf, ctxFrames, zeroPad ? ctxFrames : 0, subsampling, streamEnd)) await run(buf.length, emit);
        buf.length = 0;
      },
      snapshot(): CacheAwareSnapshot {
        return {
          frames: buf.view(buf.base, buf.end).slice(),
          length: buf.length,
          base: buf.base,
          cacheChannel: cacheChannel.slice(),
          cacheTime: cacheTime.slice(),
          cacheLen,
          subsampling,
          inShiftMs,
        };
      },
      release() {
        if (!released) batcher.close();
        released = true;
        cacheChannel = cacheTime = new Float32Array(0);
        buf.data = new Float32Array(0);
        buf.length = 0;
      },
    };
  };

  return { contract: 'nemo-cache-aware', stats: batcher.stats, concurrent: batcher.maxBatch > 1, detection: d, input: 'features', blankFor: (v) => o.detection.blankId ?? v - 1, openStream };
}
