/**
 * Cross-stream batching of equal-shaped model steps (cache-aware windows): steps of different streams
 * that are ready together and have the same input shapes (a dynamic model's unpadded last window is
 * shorter) are concatenated along the batch dimension (dim 0) into one `session.run`,
 * and the outputs are split back per stream (as views into the batch's output buffers: no copy).
 *
 * When a batch runs:
 * - at once when it holds `maxBatch` steps, or one step of every stream that is open (nobody else can
 *   join it: a single stream therefore never waits);
 * - otherwise after `maxWaitMs` (0: at the end of the current turn of the event loop, so the steps that
 *   arrived together run together).
 * With maxBatch 1 it is a plain `session.run`.
 */
import { Tensor, type Session } from './session.js';

type Feeds = Record<string, InstanceType<typeof Tensor>>;
export interface Output {
  data: Float32Array | BigInt64Array;
  dims: readonly number[];
}
export type Outputs = Record<string, Output>;

interface Request {
  feeds: Feeds;
  resolve: (o: Outputs) => void;
  reject: (e: unknown) => void;
}

export interface BatchStats {
  /** session.run calls. */
  runs: number;
  /** Stream steps carried by them. */
  items: number;
  /** Largest batch run. */
  maxBatch: number;
}

export class Batcher {
  private queue: Request[] = [];
  private timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  /** Streams that may still submit a step (openStream .. release). */
  private streams = 0;
  /** session.run calls in flight. */
  private inFlight = 0;
  /** Reusable batch input buffers (one set per run in flight): no allocation per batch. */
  private pool: Array<Map<string, Float32Array | BigInt64Array>> = [];
  readonly stats: BatchStats = { runs: 0, items: 0, maxBatch: 0 };

  /**
   * @param maxBatch most steps in one session.run (1: no batching)
   * @param maxWaitMs how long a step may wait for steps of other streams to join its batch
   * @param maxRuns batches in flight at once; steps that arrive meanwhile form the next batch
   */
  constructor(
    private readonly session: Session,
    readonly maxBatch: number,
    readonly maxWaitMs = 0,
    readonly maxRuns = 1,
  ) {}

  /** A stream opened: it may submit steps. */
  open(): void {
    this.streams++;
  }

  /** A stream closed: a batch waiting for it no longer has to. */
  close(): void {
    this.streams = Math.max(0, this.streams - 1);
    this.schedule();
  }

  run(feeds: Feeds): Promise<Outputs> {
    if (this.maxBatch <= 1) {
      this.count(1);
      return this.session.run(feeds).then((r) => {
        const out: Outputs = {};
        for (const k in r) out[k] = { data: r[k].data as Float32Array | BigInt64Array, dims: r[k].dims };
        return out;
      });
    }
    return new Promise<Outputs>((resolve, reject) => {
      this.queue.push({ feeds, resolve, reject });
      this.schedule();
    });
  }

  /** Runs every batch that is complete (full, or every open stream has a step in it) while runs are free. */
  private schedule(): void {
    while (this.queue.length && this.inFlight < this.maxRuns) {
      if (this.queue.length >= Math.min(this.maxBatch, this.streams)) {
        this.flush();
        continue;
      }
      if (!this.timer) {
        const expire = () => {
          this.timer = undefined;
          if (this.queue.length && this.inFlight < this.maxRuns) this.flush();
          this.schedule();
        };
        this.timer = this.maxWaitMs > 0 ? setTimeout(expire, this.maxWaitMs) : setImmediate(expire);
      }
      return;
    }
  }

  private count(n: number): void {
    this.stats.runs++;
    this.stats.items += n;
    this.stats.maxBatch = Math.max(this.stats.maxBatch, n);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer as ReturnType<typeof setTimeout>);
      clearImmediate(this.timer as ReturnType<typeof setImmediate>);
      this.timer = undefined;
    }
    if (!this.queue.length) return;
    // The oldest step and the steps of its shape (others wait for the next run, in their order).
    const key = shapeKey(this.queue[0].feeds);
    const batch: Request[] = [];
    this.queue = this.queue.filter((r) => !(batch.length < this.maxBatch && shapeKey(r.feeds) === key && batch.push(r)));
    const n = batch.length;
    this.count(n);
    let feeds: Feeds;
    const buffers = n === 1 ? undefined : (this.pool.pop() ?? new Map());
    try {
      feeds = n === 1 ? batch[0].feeds : concatFeeds(batch.map((b) => b.feeds), buffers!, this.maxBatch);
    } catch (e) {
      if (buffers) this.pool.push(buffers);
      for (const b of batch) b.reject(e);
      return;
    }
    this.inFlight++;
    const done = () => {
      // The run is over: its input buffers can take the next batch.
      if (buffers) this.pool.push(buffers);
      this.inFlight--;
      // Steps that queued up behind this run have waited long enough: run them now.
      if (this.queue.length && this.inFlight < this.maxRuns) this.flush();
      this.schedule();
    };
    this.session.run(feeds).then(
      (r) => {
        const parts: Outputs[] = batch.map(() => ({}));
        for (const k in r) {
          const v = r[k];
          const dims = v.dims;
          const data = v.data as Float32Array | BigInt64Array;
          if (n === 1 || dims[0] !== n) {
            for (const p of parts) p[k] = { data, dims };
            continue;
          }
          const per = data.length / n;
          const one = [1, ...dims.slice(1)];
          for (let i = 0; i < n; i++) parts[i][k] = { data: data.subarray(i * per, (i + 1) * per), dims: one };
        }
        done();
        for (let i = 0; i < n; i++) batch[i].resolve(parts[i]);
      },
      (e) => {
        done();
        for (const b of batch) b.reject(e);
      },
    );
  }
}

/** Concatenates equal-shaped [1, ...] inputs along dim 0 into `buffers` (grown to maxBatch once, then reused). */
function concatFeeds(all: Feeds[], buffers: Map<string, Float32Array | BigInt64Array>, maxBatch: number): Feeds {
  const out: Feeds = {};
  const n = all.length;
  for (const name of Object.keys(all[0])) {
    const first = all[0][name];
    const dims = first.dims;
    if (dims[0] !== 1) throw new Error(`cannot batch input ${name} with dims [${dims}]`);
    const per = (first.data as ArrayLike<unknown>).length;
    const shape = [n, ...dims.slice(1)];
    const int = first.type === 'int64';
    let buf = buffers.get(name);
    if (!buf || buf.length < per * n || buf instanceof BigInt64Array !== int) {
      buf = int ? new BigInt64Array(per * maxBatch) : new Float32Array(per * maxBatch);
      buffers.set(name, buf);
    }
    if (int) {
      const data = (buf as BigInt64Array).subarray(0, per * n);
      for (let i = 0; i < n; i++) data.set(all[i][name].data as BigInt64Array, i * per);
      out[name] = new Tensor('int64', data, shape);
    } else {
      const data = (buf as Float32Array).subarray(0, per * n);
      for (let i = 0; i < n; i++) data.set(all[i][name].data as Float32Array, i * per);
      out[name] = new Tensor('float32', data, shape);
    }
  }
  return out;
}

/** The input shapes of a step: steps batch together only when they are equal. */
function shapeKey(feeds: Feeds): string {
  let key = '';
  for (const name in feeds) key += `${name}:${feeds[name].dims.join('x')};`;
  return key;
}
