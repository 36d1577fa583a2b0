/**
 * An InferenceSession that runs on a worker thread (OnnxSTT `inferenceThread: worker`): the same
 * `run(feeds)` as onnxruntime-node's session, but the model computes while the main thread goes on with
 * the rest of the graph (file reading, mel features, decoding), so on two or more cores those costs
 * overlap the model's instead of adding to it. Feeds are copied to the worker (one compact copy each,
 * transferred), outputs come back as transferred buffers.
 */
import { Worker } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { WireTensor, WorkerReply } from './worker-protocol.js';

export class WorkerSession {
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];
  inputMetadata: ort.InferenceSession['inputMetadata'] = [];
  outputMetadata: ort.InferenceSession['outputMetadata'] = [];
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: Record<string, ort.Tensor>) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure?: Error;

  private constructor(worker: Worker) {
    this.worker = worker;
  }

  static create(path: string, options: ort.InferenceSession.SessionOptions): Promise<WorkerSession> {
    const worker = new Worker(new URL('./session-worker.js', import.meta.url), { workerData: { path, options } });
    const s = new WorkerSession(worker);
    return new Promise((resolve, reject) => {
      worker.on('error', (e) => {
        s.fail(e);
        reject(e);
      });
      worker.on('exit', (code) => s.fail(new Error(`the inference worker thread exited (code ${code})`)));
      worker.on('message', (m: WorkerReply) => {
        switch (m.type) {
          case 'ready':
            s.inputNames = m.inputNames;
            s.outputNames = m.outputNames;
            s.inputMetadata = m.inputMetadata;
            s.outputMetadata = m.outputMetadata;
            worker.unref(); // an idle session never keeps the process alive
            resolve(s);
            return;
          case 'error':
            void worker.terminate();
            reject(new Error(m.message));
            return;
          case 'result':
          case 'fail': {
            const p = s.pending.get(m.id);
            if (!p) return;
            s.pending.delete(m.id);
            if (!s.pending.size) worker.unref();
            if (m.type === 'fail') p.reject(new Error(m.message));
            else {
              const out: Record<string, ort.Tensor> = {};
              for (const [name, t] of Object.entries(m.outputs)) out[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
              p.resolve(out);
            }
          }
        }
      });
    });
  }

  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const wire: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      // A compact copy: posting a view would clone its whole underlying buffer (e.g. a batch's output).
      const data = (t.data as Float32Array).slice();
      wire[name] = { type: t.type, data, dims: [...t.dims] };
      transfer.push(data.buffer as ArrayBuffer);
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ type: 'run', id, feeds: wire }, transfer);
    });
  }

  async release(): Promise<void> {
    this.fail(new Error('the session was released'));
    await this.worker.terminate();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
