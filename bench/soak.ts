/**
 * bench:soak — memory over a long paced run in which streams open and close all the time.
 *
 *   npm run bench:soak [-- --minutes 2] [-- --slots 8] [-- --pace 1] [-- --worker] [-- --quick] [-- --model m.onnx --tokens t.txt]
 *
 * `slots` streams run at once, each fed in real time (x pace) in 100 ms blocks for a random 2–6 s of
 * LibriVox speech (0.5–1.5 s with --quick), then ended (window punctuation); a new stream (new id) takes its slot at once.
 * MelExtractor -> OnnxSTT (maxBatch = slots; --worker: inferenceThread worker, the streams hosted on the
 * worker thread) -> CtcDecoder. RSS and V8 heap are sampled every second
 * (after a forced GC when run with --expose-gc, as the npm script does).
 * Drift = (median RSS of the last fifth of the run - median RSS of the fifth after warm-up) / the latter.
 * Ends with `RESULT soak rss_drift_pct=... streams=... minutes=...`.
 */
import { Subject } from 'rxjs';
import { ctcDecoder } from '../operators/ctc-decoder/index.js';
import { melExtractor } from '../operators/mel-extractor/index.js';
import { onnxStt, openStreamStates } from '../operators/onnx-stt/index.js';
import { punct, type AudioItem, type StreamItem } from '../toolkit/items.js';
import { SHARED_MACHINE_NOTE, chooseAudio, flag, fmt, machine, main, num, quick, readWavFile, requireModel, result, table } from './common.js';

const SR = 16000;
const BLOCK = SR / 10;

main(async () => {
  const m = requireModel('soak');
  const minutes = num('minutes', quick ? 0.25 : 2);
  const slots = num('slots', 8);
  const pace = num('pace', 1);
  const clips = chooseAudio().map((a) => readWavFile(a.file).samples);
  if (!clips.length) throw new Error('no audio: pass --audio a.wav');
  const header = machine(`onnxruntime intra-op threads 1, inter-op threads 1, the model on the ${flag('worker') ? 'worker' : 'main'} thread`);
  const durationMs = minutes * 60_000;

  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const input = new Subject<StreamItem>();
  let finals = 0;
  let errors = 0;
  const done = new Promise<void>((resolve, reject) => {
    input
      .pipe(melExtractor({ preset: 'nemo-80' }), onnxStt({ model: m.model, maxBatch: slots, inferenceThread: flag('worker') ? 'worker' : 'main' }), ctcDecoder({ tokens: m.tokens }))
      .subscribe({
        next: (it) => {
          if (it.kind === 'transcript' && it.isFinal) finals++;
          if (it.kind === 'error') errors++;
        },
        error: reject,
        complete: resolve,
      });
  });

  interface Slot {
    id: string;
    clip: Float32Array;
    total: number;
    fed: number;
    start: number;
  }
  let opened = 0;
  const t0 = performance.now();
  const open = (now: number): Slot => {
    const k = opened++;
    return { id: `soak-${k}`, clip: clips[k % clips.length], total: Math.round((quick ? 0.5 + rnd() : 2 + 4 * rnd()) * SR), fed: 0, start: now };
  };
  const active: Slot[] = Array.from({ length: slots }, (_, i) => open(t0 + (100 * i) / slots));
  const samples: Array<{ t: number; rss: number; heap: number; streams: number }> = [];
  const sample = () => {
    if (global.gc) global.gc();
    const mu = process.memoryUsage();
    samples.push({ t: (performance.now() - t0) / 1000, rss: mu.rss, heap: mu.heapUsed, streams: opened });
  };
  const sampler = setInterval(sample, 1000);
  const c0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const stopping = now - t0 >= durationMs;
      for (let i = 0; i < active.length; i++) {
        let s = active[i];
        for (;;) {
          const due = s.start + ((s.fed + BLOCK) / SR / pace) * 1000;
          if (due > now) break;
          const pos = s.fed % s.clip.length;
          const len = Math.min(BLOCK, s.clip.length - pos, s.total - s.fed);
          const item: AudioItem = { kind: 'audio', streamId: s.id, samples: s.clip.subarray(pos, pos + len), sampleRate: SR, startSample: s.fed };
          s.fed += len;
          input.next(item);
          if (s.fed >= s.total) {
            input.next(punct(s.id));
            if (stopping) {
              active.splice(i--, 1);
              break;
            }
            s = active[i] = open(due);
          }
        }
      }
      if (!active.length) return resolve();
      setTimeout(tick, 10);
    };
    tick();
  });
  input.complete();
  await done;
  clearInterval(sampler);
  sample();
  const c = process.cpuUsage(c0);
  const wallS = (performance.now() - t0) / 1000;

  const n = samples.length;
  const fifth = Math.max(1, Math.floor(n / 5));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const warm = samples.slice(fifth, 2 * fifth);
  const last = samples.slice(n - fifth);
  const base = median(warm.map((s) => s.rss));
  const end = median(last.map((s) => s.rss));
  const drift = (100 * (end - base)) / base;
  const heapDrift = (100 * (median(last.map((s) => s.heap)) - median(warm.map((s) => s.heap)))) / median(warm.map((s) => s.heap));

  console.log(`## bench:soak — RSS while streams open and close continuously\n`);
  console.log(`Machine: ${header}.`);
  console.log(
    `Model: ${m.label}. ${fmt(minutes, 2)} min, ${slots} streams at a time at ${pace}x real time, each 2–6 s, then replaced: ` +
      `${opened} streams in all, ${finals} final transcripts, ${errors} errors; CPU ${fmt((100 * (c.user + c.system)) / 1e6 / wallS, 0)} % of one core.\n`,
  );
  const step = Math.max(1, Math.floor(n / 10));
  const rows = samples.filter((_, i) => i % step === 0 || i === n - 1).map((s) => [fmt(s.t, 0), s.streams, fmt(s.rss / 2 ** 20, 1), fmt(s.heap / 2 ** 20, 1)]);
  console.log(table(['t s', 'streams opened so far', 'RSS MB', 'V8 heap used MB'], rows));
  console.log(
    `\nRSS drift: median of the last fifth ${fmt(end / 2 ** 20, 1)} MB vs the fifth after warm-up ${fmt(base / 2 ** 20, 1)} MB: **${fmt(drift, 1)} %** ` +
      `(heap ${fmt(heapDrift, 1)} %). Per-stream states still open at the end: ${openStreamStates()}. ${SHARED_MACHINE_NOTE}\n`,
  );
  result('soak', {
    rss_drift_pct: Number(fmt(drift, 2)),
    heap_drift_pct: Number(fmt(heapDrift, 2)),
    streams: opened,
    minutes: Number(fmt(minutes, 2)),
    rss_mb: Number(fmt(end / 2 ** 20, 1)),
    open_states: openStreamStates(),
  });
});
