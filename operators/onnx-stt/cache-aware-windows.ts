/**
 * What both cache-aware stream implementations (model on the main thread: nemo-cache-aware.ts, on a
 * worker thread: cache-aware-hosted.ts) share: the snapshot shape, the window buffer, the features
 * check, and cutting `window`-frame windows that advance by `shift`.
 */
import type { FeaturesItem } from '../../toolkit/items.js';
import { FrameBuffer, toFeatureMajorInto } from './contract.js';

/** One stream between windows (the same in both implementations, so checkpoints move between them). */
export interface CacheAwareSnapshot {
  frames: Float32Array;
  length: number;
  base: number;
  cacheChannel: Float32Array;
  cacheTime: Float32Array;
  cacheLen: number;
  subsampling: number | undefined;
  inShiftMs: number;
}

/** A stream's window buffer: fresh (preceded by `zeroPadFrames` zero frames, NeMo) or as a snapshot left it. */
export function windowBuffer(nFeat: number, window: number, zeroPadFrames: number, from?: CacheAwareSnapshot): FrameBuffer {
  const buf = new FrameBuffer(nFeat, window * 2);
  if (from === undefined) {
    if (zeroPadFrames) buf.append(new Float32Array(zeroPadFrames * nFeat), zeroPadFrames);
  } else {
    buf.append(from.frames, from.length);
    buf.base = from.base;
  }
  return buf;
}

/** Throws unless `item` holds features of the model's `nFeat` bins. */
export function checkFeatures(item: { kind: string; nFeatures?: number }, nFeat: number, streamId: string, modelPath: string, signal: string): asserts item is FeaturesItem {
  if (item.kind !== 'features') throw new Error(`${modelPath} takes mel features, got ${item.kind}`);
  if (item.nFeatures !== nFeat) {
    throw new Error(
      `stream '${streamId}': features have ${item.nFeatures} bins but ${modelPath} expects ${nFeat} (${signal} [B, ${nFeat}, T]); use a matching MelExtractor preset`,
    );
  }
}

/**
 * Appends the item's frames; whenever the buffer holds a full window, awaits `onWindow` (which reads
 * the window from `buf`) and advances by `shift`. Stops early when `onWindow` returns false.
 */
export async function feedWindows(buf: FrameBuffer, item: FeaturesItem, window: number, shift: number, onWindow: () => Promise<boolean>): Promise<void> {
  const nFeat = item.nFeatures;
  let off = 0;
  while (off < item.nFrames) {
    const take = Math.min(item.nFrames - off, window - buf.length);
    buf.append(item.data.subarray(off * nFeat), take);
    off += take;
    if (buf.length === window) {
      if (!(await onWindow())) return;
      buf.drop(shift);
    }
  }
}

/**
 * The feature-major window for a step of `length` frames from `buf`: `window` frames, zero-padded past
 * `length`, for a model with a fixed time axis; exactly `length` frames for a dynamic one (NeMo's
 * streaming buffer never pads its last chunk, and an export that does not mask padding in its
 * subsampling would change its last frames if it were padded). `into` is reused for full windows.
 */
export function windowInput(buf: FrameBuffer, length: number, nFeat: number, window: number, dynamic: boolean, into?: Float32Array): { data: Float32Array; frames: number } {
  const n = Math.min(length, buf.length);
  const frames = dynamic && n < window ? n : window;
  const out = frames === window && into ? into : new Float32Array(nFeat * frames);
  return { data: toFeatureMajorInto(out, buf.data, n, nFeat, frames), frames };
}

/**
 * Whether the frames a stream still holds make one more window. At an utterance marker (the end of a
 * segment, the stream goes on): any frames beyond the (window - shift) context, so every frame of the
 * segment gets its log-probs and the stream's frame numbers stay contiguous with the times the next
 * segment starts at. At the stream's real end in NeMo mode (zero frames before the first window), as
 * NeMo's CacheAwareStreamingAudioBuffer decides: a last chunk of fewer new frames than the
 * pre-encoder's sampling frames (1 for the first chunk, the subsampling factor after it) is skipped, so
 * no frame is emitted that NeMo never emits. The first-frame mode (sherpa-onnx's way) runs any tail.
 */
export function endsWithWindow(buf: FrameBuffer, ctxFrames: number, zeroPadFrames: number, subsampling: number | undefined, streamEnd: boolean): boolean {
  const fresh = buf.length - ctxFrames;
  if (!streamEnd || zeroPadFrames === 0) return fresh > 0;
  return fresh >= (buf.base === 0 ? 1 : (subsampling ?? 1));
}

/**
 * The subsampling factor a step shows, for models that do not state it: shift / frames of a full
 * window. A short (unpadded) last window only hints at it (new frames / frames, rounded), so that hint
 * is used for that step alone and never kept (`sure` false).
 */
export function stepSubsampling(frames: number, length: number, window: number, shift: number, tOut: number): { value: number; sure: boolean } {
  if (frames === window) return { value: Math.max(1, Math.round(shift / Math.max(1, tOut))), sure: true };
  return { value: Math.max(1, Math.round((length - (window - shift)) / Math.max(1, tOut))), sure: false };
}
