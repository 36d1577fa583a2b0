/**
 * The worker-thread side of hosted cache-aware streams (OnnxSTT `inferenceThread: worker`).
 *
 * Each stream's caches live here; the main thread posts feature windows and gets log-probs back. Steps
 * queue per stream, so the main thread never waits for one step before sending the next, and whenever
 * the model is free it runs the next step of every stream that has one (up to `maxBatch`) as one batch:
 * the batch size follows the load by itself. A stream's steps run strictly in order (each needs the
 * caches of the one before), and a snapshot request is answered when the steps before it have run.
 */
import ort from 'onnxruntime-node';
import type { HostedCaches, HostedModelConfig, StepResult, WorkerReply, WorkerRequest } from './protocol.js';

type Job = { type: 'step'; window: Float32Array; length: number; at: number } | { type: 'snapshot' };

interface HostedStream {
  sid: number;
  cfg: number;
  channel: Float32Array;
  time: Float32Array;
  len: number;
  jobs: Job[];
  /** Whether it is in `ready` (at most once, even when steps arrive while one of its steps runs). */
  listed: boolean;
}

/** Reusable batch input buffers of one model config (the worker runs one batch at a time). */
interface BatchBuffers {
  window: Float32Array;
  channel: Float32Array;
  time: Float32Array;
  len: BigInt64Array;
  length: BigInt64Array;
}

/** Element i of a per-stream output; a model may also give one scalar for the whole batch. */
const scalarAt = (data: unknown, i: number): number => {
  const a = data as ArrayLike<number | bigint>;
  return Number(a[a.length > i ? i : 0]);
};

export class StreamHost {
  private readonly configs = new Map<number, HostedModelConfig>();
  private readonly buffers = new Map<number, BatchBuffers>();
  private readonly streams = new Map<number, HostedStream>();
  /** Streams with jobs, in the order their oldest job arrived (fairness between streams). */
  private ready: HostedStream[] = [];
  private busy = false;
  private scheduled: ReturnType<typeof setImmediate> | ReturnType<typeof setTimeout> | undefined;
  /** `scheduled` is a maxWaitMs timer (not the next turn). */
  private delayed = false;
  /** A model run just ended: what queued behind it runs without waiting further. */
  private justRan = false;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly post: (m: WorkerReply, transfer?: ArrayBuffer[]) => void,
  ) {}

  handle(m: Exclude<WorkerRequest, { type: 'run' }>): void {
    switch (m.type) {
      case 'config':
        this.configs.set(m.cfg, m.config);
        return;
      case 'open': {
        const c = this.configs.get(m.cfg)!;
        const [cl, cf, cd] = c.channelDims;
        const [tl, td, tk] = c.timeDims;
        this.streams.set(m.sid, {
          sid: m.sid,
          cfg: m.cfg,
          channel: m.caches?.channel ?? new Float32Array(cl * cf * cd),
          time: m.caches?.time ?? new Float32Array(tl * td * tk),
          len: m.caches?.len ?? 0,
          jobs: [],
          listed: false,
        });
        return;
      }
      case 'step':
      case 'snapshot': {
        const s = this.streams.get(m.sid);
        if (!s) return;
        s.jobs.push(m.type === 'step' ? { type: 'step', window: m.window, length: m.length, at: performance.now() } : { type: 'snapshot' });
        this.list(s);
        this.schedule();
        return;
      }
      case 'close': {
        const s = this.streams.get(m.sid);
        if (!s) return;
        this.streams.delete(m.sid);
        s.jobs = [];
        this.unlist((r) => r !== s);
        // A batch waiting for this stream's window no longer has to.
        this.schedule();
      }
    }
  }

  private list(s: HostedStream): void {
    if (s.listed || !s.jobs.length || this.streams.get(s.sid) !== s) return;
    s.listed = true;
    this.ready.push(s);
  }

  private unlist(keep: (s: HostedStream) => boolean): void {
    this.ready = this.ready.filter((s) => keep(s) || (s.listed = false));
  }

  /**
   * After the messages that arrived together have been queued (they may join one batch). A pending
   * maxWaitMs delay is cut short by any new message: the batch may be complete now.
   */
  private schedule(delayMs = 0): void {
    if (this.busy) return;
    if (this.scheduled && this.delayed && delayMs === 0) {
      clearTimeout(this.scheduled as ReturnType<typeof setTimeout>);
      this.scheduled = undefined;
    }
    if (this.scheduled) return;
    const go = () => {
      this.scheduled = undefined;
      this.delayed = false;
      void this.pump();
    };
    this.delayed = delayMs > 0;
    this.scheduled = delayMs > 0 ? setTimeout(go, delayMs) : setImmediate(go);
  }

  private async pump(): Promise<void> {
    this.answerSnapshots();
    const afterRun = this.justRan;
    this.justRan = false;
    if (!this.ready.length) return;
    const first = this.ready[0];
    const cfg = this.configs.get(first.cfg)!;
    const batch: HostedStream[] = [];
    // Only windows of one length batch together: a dynamic model's unpadded last window runs at its own.
    const frames = (s: HostedStream) => (s.jobs[0] as Extract<Job, { type: 'step' }>).window.length;
    for (const s of this.ready) {
      if (s.cfg === first.cfg && batch.length < cfg.maxBatch && frames(s) === frames(first)) batch.push(s);
    }
    // Steps that queued up behind a model run have waited long enough (as the main-thread Batcher does).
    if (cfg.maxWaitMs > 0 && batch.length < cfg.maxBatch && !afterRun) {
      const open = [...this.streams.values()].filter((s) => s.cfg === first.cfg).length;
      const waited = performance.now() - (first.jobs[0] as { at: number }).at;
      if (batch.length < open && waited < cfg.maxWaitMs) {
        this.schedule(cfg.maxWaitMs - waited);
        return;
      }
    }
    this.busy = true;
    const steps = batch.map((s) => s.jobs.shift() as Extract<Job, { type: 'step' }>);
    this.unlist((s) => !batch.includes(s));
    try {
      const results = await this.runBatch(cfg, first.cfg, batch, steps);
      const transfer = results.map((r) => r.logprobs.buffer as ArrayBuffer);
      this.post({ type: 'steps', results }, transfer);
    } catch (e) {
      this.post({ type: 'stepsFailed', sids: batch.map((s) => s.sid), message: e instanceof Error ? e.message : String(e) });
    }
    // Streams closed meanwhile are gone; the others go to the back of the line with their next jobs.
    for (const s of batch) this.list(s);
    this.busy = false;
    this.justRan = true;
    this.schedule();
  }

  /** Snapshot requests at the head of a stream's queue: every step before them has run. */
  private answerSnapshots(): void {
    for (const s of this.ready) {
      while (s.jobs[0]?.type === 'snapshot') {
        s.jobs.shift();
        const caches: HostedCaches = { channel: s.channel.slice(), time: s.time.slice(), len: s.len };
        this.post({ type: 'snapshot', sid: s.sid, caches }, [caches.channel.buffer as ArrayBuffer, caches.time.buffer as ArrayBuffer]);
      }
    }
    this.unlist((s) => s.jobs.length > 0);
  }

  private async runBatch(c: HostedModelConfig, cfgId: number, batch: HostedStream[], steps: Array<{ window: Float32Array; length: number }>): Promise<StepResult[]> {
    const n = batch.length;
    const [cl, cf, cd] = c.channelDims;
    const [tl, td, tk] = c.timeDims;
    // A full window, or a dynamic model's shorter last one (every step of a batch has the same length).
    const winSize = steps[0].window.length;
    const frames = winSize / c.nFeat;
    const chSize = cl * cf * cd;
    const tSize = tl * td * tk;
    let b = this.buffers.get(cfgId);
    if (!b || b.len.length < n) {
      const m = c.maxBatch;
      b = {
        window: new Float32Array(c.nFeat * c.window * m),
        channel: new Float32Array(chSize * m),
        time: new Float32Array(tSize * m),
        len: new BigInt64Array(m),
        length: new BigInt64Array(m),
      };
      this.buffers.set(cfgId, b);
    }
    let win: Float32Array, ch: Float32Array, tm: Float32Array;
    if (n === 1) {
      // One stream: its own buffers are the inputs, no copy.
      [win, ch, tm] = [steps[0].window, batch[0].channel, batch[0].time];
    } else {
      [win, ch, tm] = [b.window.subarray(0, winSize * n), b.channel.subarray(0, chSize * n), b.time.subarray(0, tSize * n)];
      for (let i = 0; i < n; i++) {
        win.set(steps[i].window, i * winSize);
        ch.set(batch[i].channel, i * chSize);
        tm.set(batch[i].time, i * tSize);
      }
    }
    const lens = b.len.subarray(0, n);
    const lengths = b.length.subarray(0, n);
    for (let i = 0; i < n; i++) {
      lens[i] = BigInt(batch[i].len);
      lengths[i] = BigInt(steps[i].length);
    }
    const nm = c.names;
    const feeds: Record<string, ort.Tensor> = {
      [nm.signal]: new ort.Tensor('float32', win, [n, c.nFeat, frames]),
      [nm.cacheChannel]: new ort.Tensor('float32', ch, [n, cl, cf, cd]),
      [nm.cacheTime]: new ort.Tensor('float32', tm, [n, tl, td, tk]),
      [nm.cacheChannelLen]: new ort.Tensor('int64', lens, [n]),
    };
    if (nm.length) feeds[nm.length] = new ort.Tensor('int64', lengths, [n]);
    const r = await this.session.run(feeds);
    const lp = r[nm.logprobs];
    const [, tOut, vocab] = lp.dims as number[];
    const lpData = lp.data as Float32Array;
    const results: StepResult[] = [];
    for (let i = 0; i < n; i++) {
      const s = batch[i];
      let valid = nm.encodedLengths && r[nm.encodedLengths] ? scalarAt(r[nm.encodedLengths].data, i) : tOut;
      valid = Math.max(0, Math.min(valid, tOut));
      if (c.feedCache) {
        const chNext = r[nm.cacheChannelNext].data as Float32Array;
        const tNext = r[nm.cacheTimeNext].data as Float32Array;
        // Views into this call's outputs: the next batch copies them in, a lone stream feeds them as they are.
        s.channel = n === 1 ? chNext : chNext.subarray(i * chSize, (i + 1) * chSize);
        s.time = n === 1 ? tNext : tNext.subarray(i * tSize, (i + 1) * tSize);
        s.len = nm.cacheChannelLenNext && r[nm.cacheChannelLenNext] ? scalarAt(r[nm.cacheChannelLenNext].data, i) : Math.min(cf, s.len + valid);
      }
      // A compact copy: it is transferred to the main thread.
      const logprobs = lpData.slice(i * tOut * vocab, i * tOut * vocab + valid * vocab);
      results.push({ sid: s.sid, logprobs, valid, tOut, vocab });
    }
    return results;
  }
}
