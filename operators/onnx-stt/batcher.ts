/**
 * Cross-stream batching of equal-shaped model steps (cache-aware windows): requests made in the same
 * turn of the event loop are concatenated along the batch dimension (dim 0) into one `session.run`,
 * up to `maxBatch`, and the outputs split back. With maxBatch 1 it is a plain `session.run`.
 */
import { Tensor, type Session } from './session.js';

type Feeds = Record<string, InstanceType<typeof Tensor>>;
export interface Output {
  data: Float32Array | BigInt64Array;
  dims: number[];
}
export type Outputs = Record<string, Output>;

interface Request {
  feeds: Feeds;
  resolve: (o: Outputs) => void;
  reject: (e: unknown) => void;
}

export class Batcher {
  private queue: Request[] = [];
  private scheduled = false;
  /** Batches run and their sizes (for metrics and tests). */
  readonly stats = { runs: 0, items: 0, maxBatch: 0 };

  constructor(
    private readonly session: Session,
    readonly maxBatch: number,
  ) {}

  run(feeds: Feeds): Promise<Outputs> {
    if (this.maxBatch <= 1) {
      this.stats.runs++;
      this.stats.items++;
      this.stats.maxBatch = 1;
      return this.session.run(feeds).then((r) => {
        const out: Outputs = {};
        for (const [k, v] of Object.entries(r)) out[k] = { data: v.data as Float32Array | BigInt64Array, dims: [...v.dims] };
        return out;
      });
    }
    return new Promise<Outputs>((resolve, reject) => {
      this.queue.push({ feeds, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          while (this.queue.length) this.flush();
        });
      }
    });
  }

  private flush(): void {
    const batch = this.queue.splice(0, this.maxBatch);
    if (!batch.length) return;
    this.stats.runs++;
    this.stats.items += batch.length;
    this.stats.maxBatch = Math.max(this.stats.maxBatch, batch.length);
    const n = batch.length;
    let feeds: Feeds;
    try {
      feeds = n === 1 ? batch[0].feeds : concatFeeds(batch.map((b) => b.feeds));
    } catch (e) {
      for (const b of batch) b.reject(e);
      return;
    }
    this.session.run(feeds).then(
      (r) => {
        const parts: Outputs[] = batch.map(() => ({}));
        for (const [k, v] of Object.entries(r)) {
          const dims = [...v.dims];
          const data = v.data as Float32Array | BigInt64Array;
          if (dims[0] !== n) {
            for (const p of parts) p[k] = { data, dims };
            continue;
          }
          const per = data.length / n;
          batch.forEach((_, i) => {
            parts[i][k] = { data: data.slice(i * per, (i + 1) * per), dims: [1, ...dims.slice(1)] };
          });
        }
        batch.forEach((b, i) => b.resolve(parts[i]));
      },
      (e) => {
        for (const b of batch) b.reject(e);
      },
    );
  }
}

function concatFeeds(all: Feeds[]): Feeds {
  const out: Feeds = {};
  for (const name of Object.keys(all[0])) {
    const first = all[0][name];
    const dims = [...first.dims];
    if (dims[0] !== 1) throw new Error(`cannot batch input ${name} with dims [${dims}]`);
    const per = (first.data as ArrayLike<unknown>).length;
    if (first.type === 'int64') {
      const data = new BigInt64Array(per * all.length);
      all.forEach((f, i) => data.set(f[name].data as BigInt64Array, i * per));
      out[name] = new Tensor('int64', data, [all.length, ...dims.slice(1)]);
    } else {
      const data = new Float32Array(per * all.length);
      all.forEach((f, i) => data.set(f[name].data as Float32Array, i * per));
      out[name] = new Tensor('float32', data, [all.length, ...dims.slice(1)]);
    }
  }
  return out;
}
