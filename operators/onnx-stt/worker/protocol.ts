/**
 * Messages between a WorkerSession and its worker thread (thread.ts).
 *
 * Two ways to use the worker: `run` (a stateless model call, feeds in, outputs back) and hosted
 * cache-aware streams (`open` / `step` / `snapshot` / `close`), whose caches stay on the worker so a
 * step carries only its feature window in and its log-probs out, and a stream's steps queue there
 * without a round trip each (stream-host.ts).
 */
import type ort from 'onnxruntime-node';

export interface WireTensor {
  type: string;
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Float64Array;
  dims: number[];
}

/** What the worker needs to run a cache-aware model's steps for hosted streams. */
export interface HostedModelConfig {
  names: {
    signal: string;
    length?: string;
    cacheChannel: string;
    cacheTime: string;
    cacheChannelLen: string;
    logprobs: string;
    encodedLengths?: string;
    cacheChannelNext: string;
    cacheTimeNext: string;
    cacheChannelLenNext?: string;
  };
  nFeat: number;
  window: number;
  channelDims: [number, number, number];
  timeDims: [number, number, number];
  maxBatch: number;
  maxWaitMs: number;
  /** Debug only: false keeps the caches at zero. */
  feedCache: boolean;
}

/** A hosted stream's caches (a snapshot, or where a restored stream resumes). */
export interface HostedCaches {
  channel: Float32Array;
  time: Float32Array;
  len: number;
}

/** One step's outcome for one stream: `valid` log-prob frames of `vocab` values each. */
export interface StepResult {
  sid: number;
  logprobs: Float32Array;
  valid: number;
  tOut: number;
  vocab: number;
}

export type WorkerRequest =
  | { type: 'run'; id: number; feeds: Record<string, WireTensor> }
  | { type: 'config'; cfg: number; config: HostedModelConfig }
  | { type: 'open'; sid: number; cfg: number; caches?: HostedCaches }
  | { type: 'step'; sid: number; window: Float32Array; length: number }
  | { type: 'snapshot'; sid: number }
  | { type: 'close'; sid: number };

export type WorkerReply =
  | {
      type: 'ready';
      inputNames: string[];
      outputNames: string[];
      inputMetadata: ort.InferenceSession['inputMetadata'];
      outputMetadata: ort.InferenceSession['outputMetadata'];
    }
  | { type: 'error'; message: string }
  | { type: 'result'; id: number; outputs: Record<string, WireTensor> }
  | { type: 'fail'; id: number; message: string }
  /** One model call's results, one per stream it carried (in the streams' order). */
  | { type: 'steps'; results: StepResult[] }
  | { type: 'stepsFailed'; sids: number[]; message: string }
  | { type: 'snapshot'; sid: number; caches: HostedCaches };
