/**
 * Shared helpers of the model benchmarks (overhead, peer, concurrency, soak): arguments, the model and
 * audio they run on, the machine header of every table, timing, WER, `RESULT` lines.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';

export { readWavFile } from '../support/wav-file.js';

export const argv = process.argv.slice(2);
export const quick = argv.includes('--quick');

export function flag(name: string): boolean {
  return argv.includes(`--${name}`);
}
export function opt(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}
export function num(name: string, dflt: number): number {
  const v = opt(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} ${v}: not a number`);
  return n;
}
export function list(name: string, dflt: number[]): number[] {
  const v = opt(name);
  return v === undefined ? dflt : v.split(',').map(Number);
}

export const BUNDLED_DIR = join(TOOLKIT_ROOT, 'models', 'stt-en-char-fastconformer-ctc');
/** Debian pocketsphinx-testdata's LibriVox clips; BENCH_LIBRIVOX_DIR points elsewhere (a test points it nowhere). */
export const LIBRIVOX_DIR = process.env.BENCH_LIBRIVOX_DIR ?? '/usr/share/pocketsphinx/test/data/librivox';

export interface ModelChoice {
  model: string;
  tokens: string;
  /** 'bundled' when it is the toolkit's bundled model, else the path given. */
  label: string;
}

/** The model to bench: --model/--tokens, else the bundled one; undefined when that is absent. */
export function chooseModel(): ModelChoice | undefined {
  const m = opt('model');
  if (m) {
    const tokens = opt('tokens') ?? join(resolve(m, '..'), 'tokens.txt');
    return { model: resolve(m), tokens: resolve(tokens), label: m };
  }
  const model = join(BUNDLED_DIR, 'model.onnx');
  const tokens = join(BUNDLED_DIR, 'tokens.txt');
  if (!existsSync(model) || !existsSync(tokens)) return undefined;
  return { model, tokens, label: 'bundled (models/stt-en-char-fastconformer-ctc)' };
}

export function requireModel(bench: string): ModelChoice {
  const m = chooseModel();
  if (!m) {
    console.log(`${bench}: the bundled model ${BUNDLED_DIR}/model.onnx is absent; pass --model <model.onnx> [--tokens <tokens.txt>]`);
    console.log(`RESULT ${bench} skipped=no_model`);
    process.exit(0);
  }
  return m;
}

/** The clips shipped in samples/audio, with their transcripts (transcripts.tsv). */
export const SAMPLES_AUDIO_DIR = join(TOOLKIT_ROOT, 'samples', 'audio');

/**
 * Audio files: --audio a.wav,b.wav, else the LibriVox clips of Debian's pocketsphinx-testdata (with their
 * transcripts), else, where that package is not installed, the clips shipped in samples/audio (said once
 * on stderr, so a result is never mistaken for one on the LibriVox set).
 */
export function chooseAudio(): Array<{ file: string; ref?: string }> {
  const a = opt('audio');
  if (a) return a.split(',').map((file) => ({ file: resolve(file) }));
  const refs = librivoxRefs();
  const librivox = Object.keys(refs)
    .sort()
    .map((id) => ({ file: join(LIBRIVOX_DIR, `${id}.wav`), ref: refs[id] }))
    .filter((f) => existsSync(f.file));
  if (librivox.length) return librivox;
  console.error(`bench: ${LIBRIVOX_DIR} not found (Debian package pocketsphinx-testdata); using the clips in samples/audio (or pass --audio a.wav,b.wav)`);
  return sampleClips();
}

/** samples/audio's clips and their reference transcripts. */
export function sampleClips(): Array<{ file: string; ref?: string }> {
  const tsv = readFileSync(join(SAMPLES_AUDIO_DIR, 'transcripts.tsv'), 'utf8');
  return tsv
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'))
    .map(([name, ref]) => ({ file: join(SAMPLES_AUDIO_DIR, name!), ref }))
    .filter((f) => existsSync(f.file));
}

/** LibriVox reference transcripts (pocketsphinx-testdata's `transcription` file), by utterance id. */
export function librivoxRefs(): Record<string, string> {
  const f = join(LIBRIVOX_DIR, 'transcription');
  if (!existsSync(f)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    const m = /^(.*)\((\S+)\)\s*$/.exec(line.trim());
    if (m) out[m[2]] = m[1].replace(/<\/?s>/g, '').trim();
  }
  return out;
}

/** Header line of every table: CPU, cores, threads, Node, load. */
export function machine(threads: string): string {
  const c = cpus();
  const load = loadavg();
  return (
    `${c[0]?.model?.trim() ?? 'unknown CPU'}, ${c.length} cores, ${threads}, Node ${process.version}, ` +
    `load average ${load[0].toFixed(2)} (1 min) at start`
  );
}

export const SHARED_MACHINE_NOTE =
  'All figures of a table come from one run on the same (shared, busy) machine: absolute speeds move with the load, ' +
  'the ratios between rows measured in the same run are what to compare.';

export interface Cost {
  wallS: number;
  cpuS: number;
}

/** Wall and process CPU seconds (all threads, onnxruntime's included) of `fn`. */
export async function measure(fn: () => unknown | Promise<unknown>): Promise<Cost> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wallS, cpuS: (c.user + c.system) / 1e6 };
}

/** Runs each case `reps` times, interleaved (a, b, a, b, ...) so that load changes hit all alike; best of each. */
export async function bestOf(reps: number, cases: Array<() => Promise<unknown>>): Promise<Cost[]> {
  const best: Cost[] = cases.map(() => ({ wallS: Infinity, cpuS: Infinity }));
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < cases.length; i++) {
      const c = await measure(cases[i]);
      best[i].wallS = Math.min(best[i].wallS, c.wallS);
      best[i].cpuS = Math.min(best[i].cpuS, c.cpuS);
    }
  }
  return best;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Lower-case words, punctuation removed. */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9' ]+/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

/** Word edit distance. */
export function editDistance(ref: string[], hyp: string[]): number {
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hyp.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[hyp.length];
}

/** Corpus WER in % over (reference, hypothesis) pairs. */
export function wer(pairs: Array<[string, string]>): number {
  let errors = 0;
  let total = 0;
  for (const [r, h] of pairs) {
    const rw = words(r);
    errors += editDistance(rw, words(h));
    total += rw.length;
  }
  return total ? (100 * errors) / total : NaN;
}

export function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** `RESULT <name> k=v ...` */
export function result(name: string, kv: Record<string, string | number>): void {
  const parts = Object.entries(kv).map(([k, v]) => `${k}=${typeof v === 'number' ? (Number.isInteger(v) ? v : Number(v.toPrecision(4))) : v}`);
  console.log(`RESULT ${name} ${parts.join(' ')}`);
}

export function table(head: string[], rows: Array<Array<string | number>>, align?: string[]): string {
  const a = align ?? head.map((_, i) => (i === 0 ? '---' : '---:'));
  return [`| ${head.join(' | ')} |`, `| ${a.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function main(fn: () => Promise<void>): void {
  fn().then(
    () => process.exit(0),
    (e) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : e);
      process.exit(1);
    },
  );
}
