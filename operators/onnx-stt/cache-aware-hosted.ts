/**
 * The main-thread half of a cache-aware stream whose model runs on a worker thread (OnnxSTT
 * `inferenceThread: worker`). The stream keeps its frame buffer and cuts the windows here, exactly as
 * nemo-cache-aware.ts does (cache-aware-windows.ts), but its caches live on the worker (worker/stream-host.ts): each window is sent at
 * once, without waiting for the step before it, so cutting and decoding on this thread overlap the
 * model on the other. Log-probs come back in order and are emitted as they arrive; `end` and
 * `snapshot` wait for the steps already sent.
 */
import type { AudioItem, FeaturesItem } from '../../toolkit/items.js';
import { type ContractOptions, type ContractStream, type EmitFrames } from './contract.js';
import { checkFeatures, endsWithWindow, feedWindows, stepSubsampling, windowBuffer, windowInput, type CacheAwareSnapshot } from './cache-aware-windows.js';
import type { WorkerSession } from './worker/worker-session.js';
import type { StepResult } from './worker/protocol.js';

/** Windows a stream may have on the worker before its pushes wait (backpressure toward the source). */
const MAX_STEPS_IN_FLIGHT = 8;

export interface HostedStreamOptions {
  session: WorkerSession;
  /** The model's id on the worker (WorkerSession.defineHostedModel). */
  cfg: number;
  o: ContractOptions;
  nFeat: number;
  window: number;
  shift: number;
  /** Zero frames before the first window (NeMo), 0 to start at the first real frame. */
  zeroPadFrames: number;
  /** The model's time axis is dynamic: a short last window is sent unpadded (windowInput). */
  dynamicWindow: boolean;
}

export function openHostedStream(h: HostedStreamOptions, streamId: string, from?: CacheAwareSnapshot): ContractStream {
  const { session, o, nFeat, window: W, shift: S } = h;
  const ctxFrames = W - S;
  const buf = windowBuffer(nFeat, W, h.zeroPadFrames, from);
  let subsampling = from ? from.subsampling : o.detection.subsampling;
  let inShiftMs = from ? from.inShiftMs : 10;
  const sid = from
    ? session.openStream(h.cfg, { channel: from.cacheChannel.slice(), time: from.cacheTime.slice(), len: from.cacheLen })
    : session.openStream(h.cfg);
  let released = false;
  let failure: unknown;
  let inFlight: Array<Promise<void>> = [];

  const send = (length: number, emit: EmitFrames) => {
    // A fresh window per step: it is transferred to the worker.
    const { data: window, frames } = windowInput(buf, length, nFeat, W, h.dynamicWindow);
    const shiftMs = inShiftMs;
    const done = session.step(sid, window, length).then(
      (r: StepResult) => {
        if (released || failure !== undefined) return;
        let sub = subsampling;
        if (!sub) {
          const seen = stepSubsampling(frames, length, W, S, r.tOut);
          sub = seen.value;
          if (seen.sure) subsampling = sub;
        }
        if (r.valid > 0) emit({ data: r.logprobs, nFrames: r.valid, vocabSize: r.vocab, frameShiftMs: shiftMs * sub });
      },
      (e: unknown) => {
        if (!released) failure ??= e;
      },
    );
    inFlight.push(done);
  };

  const drain = async () => {
    const all = inFlight;
    inFlight = [];
    await Promise.all(all);
    if (failure !== undefined) throw failure;
  };

  return {
    async push(item: FeaturesItem | AudioItem, emit) {
      checkFeatures(item, nFeat, streamId, o.modelPath, o.detection.names.signal);
      if (failure !== undefined) throw failure;
      if (released) return;
      inShiftMs = item.frameShiftMs;
      await feedWindows(buf, item, W, S, async () => {
        send(W, emit);
        // Backpressure within an item too: one long item must not queue all its windows at once.
        while (inFlight.length > MAX_STEPS_IN_FLIGHT) await inFlight.shift();
        if (failure !== undefined) throw failure;
        return !released;
      });
    },
    async end(emit, streamEnd = false) {
      // At the stream's end the steps in flight settle first: the first of them tells the subsampling
      // the tail is judged by (endsWithWindow).
      if (streamEnd && subsampling === undefined) await drain();
      if (!released && endsWithWindow(buf, ctxFrames, h.zeroPadFrames, subsampling, streamEnd)) send(buf.length, emit);
      buf.length = 0;
      await drain();
    },
    async snapshot(): Promise<CacheAwareSnapshot> {
      const frames = buf.view(buf.base, buf.end).slice();
      const { length, base } = buf;
      const caches = await session.snapshotStream(sid);
      await drain();
      return { frames, length, base, cacheChannel: caches.channel, cacheTime: caches.time, cacheLen: caches.len, subsampling, inShiftMs };
    },
    release() {
      if (!released) session.closeStream(sid);
      released = true;
      buf.data = new Float32Array(0);
      buf.length = 0;
    },
  };
}
