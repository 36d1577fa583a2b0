/**
 * What both cache-aware stream implementations (model on the main thread: nemo-cache-aware.ts, on a
 * worker thread: cache-aware-hosted.ts) share: the snapshot shape, the window buffer, the features
 * check, and cutting `window`-frame windows that advance by `shift`.
 */
import type { FeaturesItem } from '../../toolkit/items.js';
import { FrameBuffer } from './contract.js';

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
