/**
 * The one small interface every model contract implements (like sherpa-onnx's `OnlineCtcModel`):
 * `ContractModel` is built once per (shared) session and describes the model; `ContractStream` holds one
 * audio stream's state and turns input items into log-prob frames.
 */
import type { AudioItem, FeaturesItem } from '../../toolkit/items.js';
import type { Logger } from '../../toolkit/operator.js';
import type { Session } from './session.js';
import type { Detection } from './detect.js';

export type ContractName = 'nemo-cache-aware' | 'nemo-offline' | 'wav2vec2';
export const CONTRACTS: readonly ContractName[] = ['nemo-cache-aware', 'nemo-offline', 'wav2vec2'];

export type RunMode = 'auto' | 'streaming' | 'offline' | 'buffered';

/** Log-prob frames for one stream; `startFrame` counts output (encoder) frames from the stream start. */
export interface FramesOut {
  data: Float32Array;
  nFrames: number;
  vocabSize: number;
  /** Output frame shift in ms (input shift x subsampling, or 20 ms for wav2vec2). */
  frameShiftMs: number;
}

export type EmitFrames = (out: FramesOut) => void;

export interface ContractStream {
  push(item: FeaturesItem | AudioItem, emit: EmitFrames): Promise<void>;
  /**
   * Runs what the stream still holds. `streamEnd`: the stream's real end (OnnxSTT's onEnd), not the end of
   * a segment at an utterance marker; a contract may skip a tail there that NeMo's own loop skips.
   */
  end(emit: EmitFrames, streamEnd?: boolean): Promise<void>;
  /** Frees buffers and caches; the stream must not be used afterwards. */
  release(): void;
  /**
   * The stream's state as plain values (checkpoints), taken between pushes; absent when the contract
   * cannot snapshot (the checkpoint is then marked unusable and a failover replays the stream whole).
   * A promise when the state is elsewhere (a model on a worker thread): it settles after the steps before it.
   */
  snapshot?(): unknown | Promise<unknown>;
}

export interface ContractModel {
  contract: ContractName;
  /** Whether pushes of different streams may overlap (their model steps are batched). */
  concurrent: boolean;
  /** Model calls and the streams' steps they carried (cache-aware). */
  stats?: { runs: number; items: number; maxBatch: number };
  detection: Detection;
  /** The item kind the model consumes. */
  input: 'features' | 'audio';
  /** The blank id for an output of `vocab` log-probs per frame (params and contract decide). */
  blankFor(vocab: number): number;
  /** A new stream, or (`from`: a value of `ContractStream.snapshot`) one resumed where the snapshot was taken. */
  openStream(streamId: string, from?: unknown): ContractStream;
}

/** What every contract module gets. */
export interface ContractOptions {
  session: Session;
  detection: Detection;
  modelPath: string;
  log: Logger;
  mode: Exclude<RunMode, 'auto'>;
  /** Buffered mode: chunk and context lengths in ms. */
  chunkMs: number;
  contextMs: number;
  /** Offline mode: the longest stream held in memory for one whole-utterance run. */
  maxUtteranceMs: number;
  normalize: 'none' | 'per_feature';
  /** Cache-aware: prepend (window - shift) zero frames to the first window (NeMo) or start at frame 0. */
  firstWindow: 'auto' | 'zero-pad' | 'first-frame';
  /** Cache-aware: windows of different streams run together, up to this many per session.run. */
  maxBatch: number;
  /** Cache-aware, maxBatch > 1: how long a window may wait for other streams' windows to join its batch. */
  maxWaitMs: number;
  /** Debug only: false keeps the caches at zero (what a broken export does). */
  feedCache: boolean;
}

/** Appends frames (time-major) to a growing buffer. */
export class FrameBuffer {
  data: Float32Array;
  /** Frames currently held. */
  length = 0;
  /** Stream index of data[0]. */
  base = 0;

  constructor(readonly width: number, capacity = 256) {
    this.data = new Float32Array(capacity * width);
  }

  append(src: Float32Array, nFrames: number): void {
    const need = (this.length + nFrames) * this.width;
    if (need > this.data.length) {
      const grown = new Float32Array(Math.max(need, this.data.length * 2));
      grown.set(this.data.subarray(0, this.length * this.width));
      this.data = grown;
    }
    this.data.set(src.subarray(0, nFrames * this.width), this.length * this.width);
    this.length += nFrames;
  }

  /** Drops the first n frames. */
  drop(n: number): void {
    n = Math.min(n, this.length);
    if (n <= 0) return;
    this.data.copyWithin(0, n * this.width, this.length * this.width);
    this.length -= n;
    this.base += n;
  }

  /** Frames [from, to) in stream indices. */
  view(from: number, to: number): Float32Array {
    return this.data.subarray((from - this.base) * this.width, (to - this.base) * this.width);
  }

  /** Stream index one past the last frame held. */
  get end(): number {
    return this.base + this.length;
  }
}

/** Time-major [T, F] -> feature-major [F, padTo] into `out` (length F x padTo), zero padded. */
export function toFeatureMajorInto(out: Float32Array, src: Float32Array, nFrames: number, nFeat: number, padTo: number): Float32Array {
  if (nFrames < padTo) out.fill(0);
  for (let f = 0; f < nFeat; f++) {
    const row = f * padTo;
    for (let t = 0, i = f; t < nFrames; t++, i += nFeat) out[row + t] = src[i];
  }
  return out;
}

/** Time-major [T, F] -> feature-major [F, padTo], zero padded; optional NeMo per_feature normalisation. */
export function toFeatureMajor(src: Float32Array, nFrames: number, nFeat: number, padTo: number, perFeature: boolean): Float32Array {
  const out = new Float32Array(nFeat * padTo);
  for (let f = 0; f < nFeat; f++) {
    let mean = 0;
    let inv = 1;
    if (perFeature && nFrames > 0) {
      let s = 0;
      for (let t = 0; t < nFrames; t++) s += src[t * nFeat + f];
      mean = s / nFrames;
      let v = 0;
      for (let t = 0; t < nFrames; t++) {
        const d = src[t * nFeat + f] - mean;
        v += d * d;
      }
      inv = 1 / (Math.sqrt(v / Math.max(nFrames - 1, 1)) + 1e-5);
    }
    const row = f * padTo;
    for (let t = 0; t < nFrames; t++) out[row + t] = (src[t * nFeat + f] - mean) * inv;
  }
  return out;
}

/** In-place log-softmax over rows of `vocab` values. */
export function logSoftmaxRows(data: Float32Array, vocab: number): Float32Array {
  for (let r = 0; r + vocab <= data.length; r += vocab) {
    let m = -Infinity;
    for (let i = 0; i < vocab; i++) if (data[r + i] > m) m = data[r + i];
    let s = 0;
    for (let i = 0; i < vocab; i++) s += Math.exp(data[r + i] - m);
    const lse = m + Math.log(s);
    for (let i = 0; i < vocab; i++) data[r + i] -= lse;
  }
  return data;
}

export function int64(values: number[]): BigInt64Array {
  return BigInt64Array.from(values.map((v) => BigInt(v)));
}

export function scalarOf(data: unknown): number {
  const v = (data as ArrayLike<number | bigint>)[0];
  return typeof v === 'bigint' ? Number(v) : Number(v);
}
