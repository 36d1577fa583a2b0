/**
 * bench:mel — MelExtractor speed as x real time, on one core (Node is single-threaded here).
 *
 *   npm run bench:mel [-- --quick] [-- --preset nemo-80-per-feature]
 *
 * Rows: the streaming core alone, the RxJS operator with 160 ms chunks for one stream, and the operator
 * with 16 streams interleaved chunk by chunk (aggregate audio seconds per second). Each case runs many
 * short repetitions; "best" is the fastest one, which is what an undisturbed core does on a shared,
 * busy machine, the median shows the disturbance.
 * Last line: `RESULT mel x_realtime=<operator, 1 stream, 160 ms chunks, best> ...`.
 */
import { cpus, loadavg } from 'node:os';
import { from, lastValueFrom, reduce } from 'rxjs';
import type { AudioItem, StreamItem } from '../toolkit/items.js';
import { punct } from '../toolkit/items.js';
import { melExtractor, MelStream, MelTables, resolveConfig, type PRESETS } from '../operators/mel-extractor/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const presetArg = args.indexOf('--preset');
const preset = (presetArg >= 0 ? args[presetArg + 1] : 'nemo-80') as keyof typeof PRESETS;
const SR = 16000;
const chunk = (SR * 160) / 1000;
/** Audio per repetition: short enough that some repetitions run undisturbed on a busy machine. */
const REP_SECONDS = 2;
const REPS = quick ? 100 : 400;

/** Speech-like test signal: a syllable-rate envelope over a few harmonics and noise. */
function signal(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5;
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t + seed);
    x[i] = env * (0.2 * Math.sin(2 * Math.PI * 140 * t) + 0.1 * Math.sin(2 * Math.PI * 420 * t) + 0.05 * rnd());
  }
  return x;
}

function chunks(id: string, x: Float32Array): AudioItem[] {
  const out: AudioItem[] = [];
  for (let p = 0; p < x.length; p += chunk) {
    out.push({ kind: 'audio', streamId: id, samples: x.subarray(p, Math.min(x.length, p + chunk)), sampleRate: SR, startSample: p });
  }
  return out;
}

/** The streaming core alone, 160 ms pushes. */
function core(x: Float32Array): number {
  const mel = new MelStream(MelTables.for(resolveConfig({ preset })));
  let frames = 0;
  const sink = (_d: Float32Array, n: number) => (frames += n);
  for (let p = 0; p < x.length; p += chunk) mel.push(x.subarray(p, Math.min(x.length, p + chunk)), sink);
  mel.end(sink);
  return frames;
}

async function operator(items: StreamItem[]): Promise<number> {
  return lastValueFrom(
    from(items).pipe(
      melExtractor({ preset }),
      reduce((n, it) => n + (it.kind === 'features' ? it.nFrames : 0), 0),
    ),
  );
}

interface Timing {
  best: number;
  median: number;
  cpuTotal: number;
  wallTotal: number;
}

/** `reps` timed repetitions: best and median wall seconds, and total CPU and wall seconds. */
async function time(fn: () => unknown | Promise<unknown>, reps: number): Promise<Timing> {
  const walls: number[] = [];
  const c0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    walls.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const c = process.cpuUsage(c0);
  walls.sort((a, b) => a - b);
  return { best: walls[0], median: walls[walls.length >> 1], cpuTotal: (c.user + c.system) / 1e6, wallTotal: walls.reduce((a, b) => a + b, 0) };
}

async function main() {
  const x = signal(REP_SECONDS * SR, 1);
  const one: StreamItem[] = [...chunks('s0', x), punct('s0')];
  const nStreams = 16;
  const perStream = REP_SECONDS / 4; // 16 x 0.5 s per repetition
  const streams = Array.from({ length: nStreams }, (_, k) => chunks(`s${k}`, signal(perStream * SR, k + 2)));
  const interleaved: StreamItem[] = [];
  for (let i = 0; i < streams[0].length; i++) for (const s of streams) if (i < s.length) interleaved.push(s[i]);
  for (let k = 0; k < nStreams; k++) interleaved.push(punct(`s${k}`));

  // warm-up (JIT)
  for (let i = 0; i < 5; i++) {
    core(x);
    await operator(one);
    await operator(interleaved);
  }

  const rows: Array<[string, number, Timing]> = [
    ['core (MelStream), 1 stream, 160 ms pushes', REP_SECONDS, await time(() => core(x), REPS)],
    ['operator, 1 stream, 160 ms chunks', REP_SECONDS, await time(() => operator(one), REPS)],
    [`operator, ${nStreams} interleaved streams, 160 ms chunks (aggregate)`, perStream * nStreams, await time(() => operator(interleaved), REPS)],
  ];
  const cpu = cpus();
  const load = loadavg();
  console.log(
    `MelExtractor (${preset}) on ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores (one used: Node runs it on one thread), ` +
      `Node ${process.version}, load average ${load[0].toFixed(2)} (1 min)\n`,
  );
  console.log('| case | audio s / rep | reps | best ms | x real time (best) | x real time (median) | x real time (CPU time, all reps) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, audio, t] of rows) {
    console.log(
      `| ${name} | ${audio} | ${REPS} | ${(t.best * 1000).toFixed(2)} | ${Math.round(audio / t.best)} | ${Math.round(audio / t.median)} | ${Math.round((audio * REPS) / t.cpuTotal)} |`,
    );
  }
  console.log(
    '\nx real time = audio seconds / elapsed seconds on one core. best = the fastest repetition (what one undisturbed core does);' +
      '\nmedian and CPU time include whatever else the machine was running (see the load average).',
  );
  const [, , one1] = rows[1];
  const [, , many] = rows[2];
  console.log(
    `RESULT mel x_realtime=${Math.round(REP_SECONDS / one1.best)} x_realtime_16_streams=${Math.round((perStream * nStreams) / many.best)} ` +
      `x_realtime_median=${Math.round(REP_SECONDS / one1.median)}`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
