/**
 * An InferenceSession that runs on a worker thread (OnnxSTT `inferenceThread: worker`): the same
 * `run(feeds)` as onnxruntime-node's session, but the model computes while the main thread goes on with
 * the rest of the graph (file reading, mel features, decoding), so on two or more cores those costs
 * overlap the model's instead of adding to it. Feeds are copied to the worker (one compact copy each,
 * transferred), outputs come back as transferred buffers.
 *
 * Cache-aware streams are hosted on the worker instead (`openStream` / `step`): their caches stay
 * there, so a step costs one feature window in and its log-probs out, and steps are sent without
 * waiting for the previous one's result (stream-host.ts batches them across streams).
 */
import { Worker } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { HostedCaches, HostedModelConfig, StepResult, WireTensor, WorkerReply } from './protocol.js';

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
}

/** Main-thread bookkeeping of one hosted stream: its steps and snapshot requests awaiting replies, in order. */
interface HostedStreamWaiters {
  steps: Array<Waiter<StepResult>>;
  snapshots: Array<Waiter<HostedCaches>>;
}

export class WorkerSession {
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];
  inputMetadata: ort.InferenceSession['inputMetadata'] = [];
  outputMetadata: ort.InferenceSession['outputMetadata'] = [];
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: Record<string, ort.Tensor>) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure?: Error;
  private readonly hosted = new Map<number, HostedStreamWaiters>();
  private nextSid = 0;
  private nextCfg = 0;
  private readonly configs = new Map<string, number>();
  /** Requests awaiting a reply: while there are any, the worker keeps the process alive. */
  private outstanding = 0;
  /** Model calls of hosted streams and the steps they carried. */
  readonly streamStats = { runs: 0, items: 0, maxBatch: 0 };

  private constructor(worker: Worker) {
    this.worker = worker;
  }

  static create(path: string, options: ort.InferenceSession.SessionOptions): Promise<WorkerSession> {
    const worker = new Worker(new URL('./thread.js', import.meta.url), { workerData: { path, options } });
    const s = new WorkerSession(worker);
    return new Promise((resolve, reject) => {
      worker.on('error', (e) => {
        s.fail(e);
        reject(e);
      });
      worker.on('exit', (code) => {
        const e = new Error(`the inference worker thread exited (code ${code})`);
        s.fail(e);
        reject(e); // before 'ready': creation failed (no effect once resolved)
      });
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
          case 'steps': {
            const st = s.streamStats;
            st.runs++;
            st.items += m.results.length;
            st.maxBatch = Math.max(st.maxBatch, m.results.length);
            for (const r of m.results) s.settle(s.hosted.get(r.sid)?.steps.shift())?.resolve(r);
            return;
          }
          case 'stepsFailed':
            for (const sid of m.sids) s.settle(s.hosted.get(sid)?.steps.shift())?.reject(new Error(m.message));
            return;
          case 'snapshot':
            s.settle(s.hosted.get(m.sid)?.snapshots.shift())?.resolve(m.caches);
            return;
          case 'result':
          case 'fail': {
            const p = s.settle(s.pending.get(m.id));
            if (!p) return;
            s.pending.delete(m.id);
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
      this.worker.postMessage({ type: 'run', id, feeds: wire }, transfer);
      this.pending.set(id, { resolve, reject });
      this.expect();
    });
  }

  /** Registers a cache-aware model's shapes and batching with the worker; returns its id for `openStream`. */
  defineHostedModel(config: HostedModelConfig): number {
    // OnnxSTT prepares its model several times (validation, input checks, run): one config each kind.
    const key = JSON.stringify(config);
    let cfg = this.configs.get(key);
    if (cfg === undefined) {
      cfg = this.nextCfg++;
      this.worker.postMessage({ type: 'config', cfg, config });
      this.configs.set(key, cfg);
    }
    return cfg;
  }

  /** A new hosted stream (zero caches, or `caches` of a snapshot); returns its id. */
  openStream(cfg: number, caches?: HostedCaches): number {
    const sid = this.nextSid++;
    this.hosted.set(sid, { steps: [], snapshots: [] });
    this.worker.postMessage({ type: 'open', sid, cfg, caches });
    return sid;
  }

  /** Queues one window (feature-major, transferred: the caller must not touch it again). */
  step(sid: number, window: Float32Array, length: number): Promise<StepResult> {
    if (this.failure) return Promise.reject(this.failure);
    const h = this.hosted.get(sid);
    if (!h) return Promise.reject(new Error(`hosted stream ${sid} is closed`));
    return new Promise((resolve, reject) => {
      // Posted first: if it throws, no waiter is left to take the stream's next result.
      this.worker.postMessage({ type: 'step', sid, window, length }, [window.buffer as ArrayBuffer]);
      h.steps.push({ resolve, reject });
      this.expect();
    });
  }

  /** The stream's caches once every step sent before has run. */
  snapshotStream(sid: number): Promise<HostedCaches> {
    if (this.failure) return Promise.reject(this.failure);
    const h = this.hosted.get(sid);
    if (!h) return Promise.reject(new Error(`hosted stream ${sid} is closed`));
    return new Promise((resolve, reject) => {
      this.worker.postMessage({ type: 'snapshot', sid });
      h.snapshots.push({ resolve, reject });
      this.expect();
    });
  }

  /** Frees the stream's caches on the worker; its unanswered requests are rejected. */
  closeStream(sid: number): void {
    const h = this.hosted.get(sid);
    if (!h) return;
    this.hosted.delete(sid);
    const closed = new Error(`hosted stream ${sid} is closed`);
    for (const w of [...h.steps, ...h.snapshots]) this.settle(w)!.reject(closed);
    if (!this.failure) this.worker.postMessage({ type: 'close', sid });
  }

  private expect(): void {
    if (this.outstanding++ === 0) this.worker.ref();
  }

  /** A reply arrived for `w` (if any): one request fewer keeps the process alive. */
  private settle<T>(w: T | undefined): T | undefined {
    if (w !== undefined && --this.outstanding === 0) this.worker.unref();
    return w;
  }

  async release(): Promise<void> {
    this.fail(new Error('the session was released'));
    await this.worker.terminate();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) this.settle(p)!.reject(e);
    this.pending.clear();
    for (const h of this.hosted.values()) for (const w of [...h.steps, ...h.snapshots]) this.settle(w)!.reject(e);
    this.hosted.clear();
  }
}
