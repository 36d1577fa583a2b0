/**
 * bench:concurrency — how many live streams one process carries in real time.
 *
 *   npm run bench:concurrency [-- --quick] [-- --n 1,4,16,64,128] [-- --seconds 20] [-- --max-wait-ms 0] [-- --max-batch 32]
 *                             [-- --model m.onnx --tokens t.txt] [-- --worker (OnnxSTT inferenceThread: worker)]
 *
 * For each N: N streams fed in real time by an in-process paced feeder (100 ms blocks, as FileSource and
 * WebSocketSource emit them; stream starts staggered over one block so arrivals interleave), each playing a
 * LibriVox clip in a loop, through MelExtractor -> OnnxSTT (maxBatch min(N, --max-batch)) -> CtcDecoder (partials on). Batches
 * beyond about 16-32 windows no longer cost less per window (bench note in docs/performance.md) but take
 * longer, so a cap keeps latency down when many windows are queued (the worker-thread model).
 * Chunk latency = time from the arrival of the audio block that completes a model window to the emission
 * of that window's log-probs (the CtcDecoder's partial follows synchronously in the same turn);
 * p50/p95/p99 over all windows of all streams after the first second. First-result latency = from a
 * stream's first audio to its first log-probs (includes the model's own chunk, 320 ms for the bundled one).
 * "Real time" = p95 < 200 ms and the last result less than 1 s after the last audio.
 * Ends with `RESULT concurrency max_streams=<largest real-time N> p95_ms=<its p95> ...`.
 */
import { Subject, tap } from 'rxjs';
import { ctcDecoder } from '../operators/ctc-decoder/index.js';
import { melExtractor } from '../operators/mel-extractor/index.js';
import { OnnxSTT, onnxStt, prepareModel, type OnnxSttParams } from '../operators/onnx-stt/index.js';
import { loadModel } from '../operators/onnx-stt/session.js';
import { WorkerSession } from '../operators/onnx-stt/worker/worker-session.js';
import { validateParams } from '../toolkit/params.js';
import { punct, type AudioItem, type LogprobsItem, type StreamItem } from '../toolkit/items.js';
import { SHARED_MACHINE_NOTE, chooseAudio, flag, fmt, list, machine, main, num, percentile, quick, readWavFile, requireModel, result, table } from './common.js';

const SR = 16000;
const BLOCK = SR / 10;
const HOP = 160;
/** Samples a mel frame needs beyond its own start (centred 512-point STFT minus one hop): frame t needs t*160 + 256 samples. */
const MEL_LOOKAHEAD = 96;

export interface LevelResult {
  n: number;
  windows: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  firstP50: number;
  firstMax: number;
  cpuPct: number;
  rssMaxMb: number;
  tailMs: number;
  batches: number;
  meanBatch: number;
  realTime: boolean;
}

main(async () => {
  const m = requireModel('concurrency');
  const levels = list('n', quick ? [1, 4, 16, 64] : [1, 4, 16, 64, 128]);
  const seconds = num('seconds', quick ? 4 : 20);
  const maxWaitMs = num('max-wait-ms', 0);
  const maxBatchCap = num('max-batch', 32);
  const clips = chooseAudio().map((a) => readWavFile(a.file).samples);
  if (!clips.length) throw new Error('no audio: pass --audio a.wav');
  const header = machine('onnxruntime intra-op threads 1, inter-op threads 1; one Node process (onnxruntime-node 1.30 runs session.run synchronously on its calling thread: ' + (flag('worker') ? 'here a worker thread)' : 'here the main thread)'));

  const rows: LevelResult[] = [];
  for (const n of levels) {
    rows.push(await level(n, seconds, maxWaitMs, maxBatchCap, m.model, m.tokens, clips));
    if (global.gc) global.gc();
  }

  console.log(`## bench:concurrency — N live streams, paced in real time, in one process\n`);
  console.log(`Machine: ${header}.`);
  console.log(
    `Model: ${m.label}. Each stream: ${seconds} s of LibriVox speech (looped) in 100 ms blocks; MelExtractor -> OnnxSTT (maxBatch = min(N, ${maxBatchCap}), maxWaitMs ${maxWaitMs}, model on the ${flag('worker') ? 'worker' : 'main'} thread) -> CtcDecoder.\n`,
  );
  console.log(
    table(
      ['streams', 'windows', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'first result p50 / max ms', 'CPU % of one core', 'RSS max MB', 'model calls (mean batch)', 'last result after last audio ms', 'real time'],
      rows.map((r) => [
        r.n,
        r.windows,
        fmt(r.p50, 1),
        fmt(r.p95, 1),
        fmt(r.p99, 1),
        fmt(r.max, 1),
        `${fmt(r.firstP50, 0)} / ${fmt(r.firstMax, 0)}`,
        fmt(r.cpuPct, 0),
        fmt(r.rssMaxMb, 0),
        `${r.batches} (${fmt(r.meanBatch, 1)})`,
        fmt(r.tailMs, 0),
        r.realTime ? 'yes' : 'no',
      ]),
    ),
  );
  const ok = rows.filter((r) => r.realTime);
  const best = ok.length ? ok.reduce((a, b) => (b.n > a.n ? b : a)) : undefined;
  console.log(
    `\nLatency: audio block arrival -> log-probs of the window it completed (compute and queueing only; the model's own 320 ms chunk is ` +
      `in the first-result column). Real time: p95 < 200 ms and the last result < 1 s after the last audio. ${SHARED_MACHINE_NOTE}\n`,
  );
  result('concurrency', {
    max_streams: best?.n ?? 0,
    p95_ms: best ? Number(fmt(best.p95, 1)) : 'n/a',
    ...Object.fromEntries(rows.flatMap((r) => [[`p95_ms_n${r.n}`, Number(fmt(r.p95, 1))], [`cpu_pct_n${r.n}`, Math.round(r.cpuPct)]])),
    seconds,
  });
});

async function level(n: number, seconds: number, maxWaitMs: number, maxBatchCap: number, model: string, tokens: string, clips: Float32Array[]): Promise<LevelResult> {
  const input = new Subject<StreamItem>();
  const total = Math.round(seconds * SR);
  interface Feed {
    id: string;
    clip: Float32Array;
    offsetMs: number;
    fed: number;
    ends: number[];
    arrivals: number[];
    first?: number;
    start: number;
    done: boolean;
  }
  const feeds: Feed[] = Array.from({ length: n }, (_, s) => ({
    id: `s${s}`,
    clip: clips[s % clips.length],
    offsetMs: (100 * s) / n,
    fed: 0,
    ends: [],
    arrivals: [],
    start: 0,
    done: false,
  }));
  const byId = new Map(feeds.map((f) => [f.id, f]));
  const latencies: number[] = [];
  const firsts: number[] = [];
  let lastResult = 0;
  let t0 = 0;

  const stt = onnxStt({ model, maxBatch: Math.min(n, maxBatchCap), maxWaitMs, intraOpThreads: 1, interOpThreads: 1, inferenceThread: flag('worker') ? 'worker' : 'main' });
  const done = new Promise<void>((resolve, reject) => {
    input
      .pipe(
        melExtractor({ preset: 'nemo-80' }),
        stt,
        tap((it) => {
          if (it.kind !== 'logprobs') return;
          const now = performance.now();
          const lp = it as LogprobsItem;
          const f = byId.get(lp.streamId)!;
          if (f.first === undefined) {
            f.first = now;
            firsts.push(now - f.start);
          }
          const outEnd = lp.startFrame + lp.nFrames;
          const need = Math.min(f.fed, outEnd * Math.round(lp.frameShiftMs / 10) * HOP + MEL_LOOKAHEAD);
          let k = 0;
          while (k < f.ends.length - 1 && f.ends[k] < need) k++;
          if (f.arrivals[k] - t0 >= 1000) latencies.push(now - f.arrivals[k]);
          lastResult = now;
        }),
        ctcDecoder({ tokens }),
      )
      .subscribe({
        next: (it) => {
          if (it.kind === 'error') reject(new Error(`${it.streamId}: ${it.message}`));
        },
        error: reject,
        complete: resolve,
      });
  });
  // Load the session and warm it up before the clock starts.
  await warmUp(model);

  const rss: number[] = [];
  const rssTimer = setInterval(() => rss.push(process.memoryUsage.rss()), 250);
  const c0 = process.cpuUsage();
  t0 = performance.now();
  for (const f of feeds) f.start = t0 + f.offsetMs;
  let remaining = n;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      let next = Infinity;
      for (const f of feeds) {
        if (f.done) continue;
        for (;;) {
          const due = f.start + ((f.fed + BLOCK) / SR) * 1000;
          if (due > now) {
            next = Math.min(next, due);
            break;
          }
          const pos = f.fed % f.clip.length;
          const len = Math.min(BLOCK, f.clip.length - pos, total - f.fed);
          const item: AudioItem = { kind: 'audio', streamId: f.id, samples: f.clip.subarray(pos, pos + len), sampleRate: SR, startSample: f.fed };
          f.fed += len;
          f.ends.push(f.fed);
          f.arrivals.push(due);
          input.next(item);
          if (f.fed >= total) {
            f.done = true;
            input.next(punct(f.id));
            remaining--;
            break;
          }
        }
      }
      if (remaining === 0) return resolve();
      setTimeout(tick, Math.max(0, Math.min(20, next - performance.now())));
    };
    tick();
  });
  const lastAudio = performance.now();
  input.complete();
  await done;
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  clearInterval(rssTimer);
  rss.push(process.memoryUsage.rss());
  latencies.sort((a, b) => a - b);
  firsts.sort((a, b) => a - b);
  const tailMs = Math.max(0, lastResult - lastAudio);
  const p95 = percentile(latencies, 95);
  const batchInfo = await lastBatchStats(model);
  return {
    n,
    windows: latencies.length,
    p50: percentile(latencies, 50),
    p95,
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    firstP50: percentile(firsts, 50),
    firstMax: firsts[firsts.length - 1] ?? NaN,
    cpuPct: (100 * ((c.user + c.system) / 1000)) / wall,
    rssMaxMb: Math.max(...rss) / 2 ** 20,
    tailMs,
    batches: batchInfo.runs,
    meanBatch: batchInfo.runs ? batchInfo.items / batchInfo.runs : 0,
    realTime: p95 < 200 && tailMs < 1000,
  };
}


/** Model-call statistics: OnnxSTT instances keep theirs private; a probe counts session.run calls instead. */
const counters = { runs: 0, items: 0 };
let probed = false;
let hostedBase = { runs: 0, items: 0 };

/** The session of this model as the bench's OnnxSTT uses it (main thread or worker thread). */
async function sessionOf(model: string) {
  return (await loadModel(model, { intraOpThreads: 1, interOpThreads: 1, worker: flag('worker') })).session;
}

async function warmUp(model: string): Promise<void> {
  const p = validateParams(OnnxSTT, { model, intraOpThreads: 1, interOpThreads: 1, inferenceThread: flag('worker') ? 'worker' : 'main' }, 'bench') as unknown as OnnxSttParams;
  const cm = await prepareModel(p);
  const session = await sessionOf(model);
  if (!probed && !(session instanceof WorkerSession)) {
    probed = true;
    // Count model calls and their batch sizes on the shared session.
    const s = session as unknown as { run: (f: Record<string, { dims: readonly number[] }>, ...rest: unknown[]) => Promise<unknown> };
    const orig = s.run.bind(s);
    s.run = (f, ...rest) => {
      counters.runs++;
      const first = Object.values(f)[0];
      counters.items += first?.dims[0] ?? 1;
      return orig(f, ...rest);
    };
  }
  const st = cm.openStream('warm-up');
  const F = cm.detection.nFeatures ?? 80;
  await st.push({ kind: 'features', streamId: 'warm-up', data: new Float32Array(F * 200), nFeatures: F, nFrames: 200, startFrame: 0, frameShiftMs: 10 }, () => {});
  await st.end(() => {});
  st.release();
  counters.runs = 0;
  counters.items = 0;
  if (session instanceof WorkerSession) hostedBase = { ...session.streamStats };
}

async function lastBatchStats(model: string): Promise<{ runs: number; items: number }> {
  const session = await sessionOf(model);
  // Hosted streams (the model on a worker thread) are counted by the worker session itself.
  if (session instanceof WorkerSession) return { runs: session.streamStats.runs - hostedBase.runs, items: session.streamStats.items - hostedBase.items };
  return { runs: counters.runs, items: counters.items };
}
