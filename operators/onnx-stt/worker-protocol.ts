/** Messages between a WorkerSession and its worker thread (session-worker.ts). */
import type ort from 'onnxruntime-node';

export interface WireTensor {
  type: string;
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Float64Array;
  dims: number[];
}

export type WorkerRequest = { type: 'run'; id: number; feeds: Record<string, WireTensor> };

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
  | { type: 'fail'; id: number; message: string };
