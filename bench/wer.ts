/**
 * bench:wer — word and character error rates of the toolkit's file graph (graphs/onnx-stt.yaml:
 * FileSource -> Chunker -> MelExtractor -> OnnxSTT -> CtcDecoder -> Sink), streaming and offline, beside
 * PocketSphinx on the same clips, in one run:
 *
 *   npm run bench:wer [-- --set name=DIR ...] [-- --eval-dir DIR] [-- --limit N] [-- --quick]
 *                     [-- --model m.onnx --tokens t.txt] [-- --offline-model m.offline.onnx]
 *                     [-- --no-pocketsphinx] [-- --pocketsphinx-sets a,b] [-- --pocketsphinx-bin PATH] [-- --hyps out.tsv]
 *
 * A set is a folder of WAV files with their references in `refs.tsv` (`utt<TAB>reference`, the clip
 * being <utt>.wav: the layout training/evaluate.py reads) or `transcripts.tsv` (`file.wav<TAB>reference`,
 * as samples/audio has). Sets: each `--set name=DIR`; else every such folder under `--eval-dir`
 * (default /work/stt-runs/data/eval, evaluate.py's default) when it exists; else samples/audio.
 * `--quick`: samples/audio only. `--limit N`: the first N references of each set.
 *
 * Each set runs through the graph twice: streaming (OnnxSTT mode streaming) and offline (mode offline on
 * model.offline.onnx, the offline export of the same weights, when it lies beside the model, else on the
 * streaming model itself); the table counts the files whose two transcripts are equal. PocketSphinx is
 * Debian's pocketsphinx_continuous with its default en-us model (packages pocketsphinx, pocketsphinx-en-us),
 * one process per file; without it its columns say n/a. References and hypotheses are normalised as
 * training/textnorm.py does (support/textnorm.ts). WER: word edit distance / reference words; CER: character
 * edit distance (spaces included) / reference characters; both summed over the set, as evaluate.py does.
 * Ends with `RESULT wer set_<name>_stream=... set_<name>_offline=... set_<name>_pocketsphinx=... ...`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { OPERATORS } from '../operators/index.js';
import { fileSource } from '../operators/file-source/index.js';
import { inspectWav } from '../operators/file-source/read-wav.js';
import type { AudioItem, ErrorItem, StreamItem, TranscriptItem } from '../toolkit/items.js';
import { loadGraphFile } from '../toolkit/graph/load.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { runPlan } from '../toolkit/runtime/run.js';
import { makeWav } from '../test/helpers/wav-writer.js';
import { SHARED_MACHINE_NOTE, argv, editDistance, flag, fmt, machine, main, measure, num, opt, quick, requireModel, result, table, wer, type Cost } from './common.js';
import { parse as parseYaml } from 'yaml';
import { normalize } from '../support/textnorm.js';

const DEFAULT_EVAL_DIR = '/work/stt-runs/data/eval';
/** training/evaluate.py's order; other sets follow, sorted. */
const EVAL_ORDER = ['flite-slt', 'espeak-m3', 'espeak-f2', 'so762-test', 'librivox'];
const SAMPLES = join(TOOLKIT_ROOT, 'samples', 'audio');
/** `npm run` starts scripts in the package folder: relative paths are meant from where npm was run (INIT_CWD). */
const fromUser = (p: string) => resolve(process.env.INIT_CWD ?? process.cwd(), p);

interface Utt {
  id: string;
  file: string;
  ref: string;
  seconds: number;
}
interface EvalSet {
  name: string;
  dir: string;
  utts: Utt[];
  /** References that normalisation changed (0: the file was already normalised). */
  renormalised: number;
}
interface Hyps {
  texts: Map<string, string>;
  failed: Map<string, string>;
  cost: Cost;
}
interface Scores {
  wer: number;
  cer: number;
}

/** The transcripts file of a set folder, or undefined. */
function refsFile(dir: string): string | undefined {
  return ['refs.tsv', 'transcripts.tsv'].map((f) => join(dir, f)).find((f) => existsSync(f));
}

async function loadSet(name: string, dir: string, limit: number): Promise<EvalSet> {
  const tsv = refsFile(dir);
  if (!tsv) throw new Error(`set ${name}: ${dir} has neither refs.tsv nor transcripts.tsv`);
  let lines = readFileSync(tsv, 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() && !l.startsWith('#'));
  if (limit > 0) lines = lines.slice(0, limit);
  let renormalised = 0;
  const utts: Utt[] = [];
  for (const line of lines) {
    const tab = line.indexOf('\t');
    if (tab < 0) throw new Error(`${tsv}: no tab in line: ${line}`);
    const id = line.slice(0, tab).trim();
    const raw = line.slice(tab + 1).trim();
    const ref = normalize(raw);
    if (ref !== raw) renormalised++;
    const file = join(dir, /\.wave?$/i.test(id) ? id : `${id}.wav`);
    let seconds = NaN;
    try {
      const info = await inspectWav(file);
      seconds = info.frames / info.sampleRate;
    } catch {
      // Reported as a failed file by both engines.
    }
    utts.push({ id: id.replace(/\.wave?$/i, ''), file, ref, seconds });
  }
  return { name, dir, utts, renormalised };
}

/** The sets to run, from --set name=DIR, --eval-dir, or the defaults. */
function chooseSets(): Array<{ name: string; dir: string }> {
  if (quick) return [{ name: 'samples', dir: SAMPLES }];
  const given: Array<{ name: string; dir: string }> = [];
  argv.forEach((a, i) => {
    if (a !== '--set') return;
    const v = argv[i + 1] ?? '';
    const eq = v.indexOf('=');
    const dir = fromUser(eq > 0 ? v.slice(eq + 1) : v);
    given.push({ name: eq > 0 ? v.slice(0, eq) : basename(dir), dir });
  });
  if (given.length) return given;
  const evalDir = fromUser(opt('eval-dir') ?? DEFAULT_EVAL_DIR);
  if (existsSync(evalDir)) {
    const names = readdirSync(evalDir)
      .filter((n) => statSync(join(evalDir, n)).isDirectory() && refsFile(join(evalDir, n)))
      .sort((a, b) => {
        const ia = EVAL_ORDER.indexOf(a);
        const ib = EVAL_ORDER.indexOf(b);
        return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || (a < b ? -1 : a > b ? 1 : 0);
      });
    if (names.length) return names.map((n) => ({ name: n, dir: join(evalDir, n) }));
  }
  return [{ name: 'samples', dir: SAMPLES }];
}

/** Runs the shipped file graph on the set's files; the final transcripts by file. */
async function toolkit(set: EvalSet, model: string, tokens: string, mode: 'streaming' | 'offline', tmp: string): Promise<Hyps> {
  const texts = new Map<string, string>();
  const failed = new Map<string, string>();
  const out = join(tmp, `${set.name}-${mode}.jsonl`);
  const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs', 'onnx-stt.yaml'), {
    registry: OPERATORS,
    params: { audio: set.utts.map((u) => u.file), model, tokens, mode, partials: false, format: 'jsonl', out, ...decoderParams() },
  });
  const silent = { info: () => undefined, warn: () => undefined, verbose: () => undefined };
  const cost = await measure(() =>
    runPlan(plan, {
      log: silent,
      onItem: (item: StreamItem) => {
        if (item.kind === 'transcript' && (item as TranscriptItem).isFinal) {
          const t = (item as TranscriptItem).text.trim();
          const before = texts.get(item.streamId);
          texts.set(item.streamId, before ? `${before} ${t}` : t);
        } else if (item.kind === 'error') failed.set(item.streamId, (item as ErrorItem).message);
      },
    }),
  );
  return { texts, failed, cost };
}

/** `command -v`: the PocketSphinx binary, or undefined when it is not installed. */
function findPocketsphinx(bin: string): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', bin], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

/** A 16 kHz mono 16-bit copy of `file` (what pocketsphinx_continuous reads), made by the toolkit's FileSource. */
async function as16k(file: string, tmp: string, k: number): Promise<string> {
  const info = await inspectWav(file);
  if (info.sampleRate === 16000 && info.channels === 1 && info.encoding === 'pcm' && info.bitsPerSample === 16) return file;
  const items = await lastValueFrom(fileSource({ files: file, sampleRate: 16000 }).pipe(toArray()));
  const err = items.find((i) => i.kind === 'error') as ErrorItem | undefined;
  if (err) throw new Error(err.message);
  const blocks = items.filter((i): i is AudioItem => i.kind === 'audio').map((a) => a.samples);
  const samples = new Float32Array(blocks.reduce((n, b) => n + b.length, 0));
  let p = 0;
  for (const b of blocks) samples.set(b, (p += b.length) - b.length);
  const out = join(tmp, `ps-${k}.wav`);
  writeFileSync(out, makeWav({ sampleRate: 16000, channels: [samples] }));
  return out;
}

async function pocketsphinx(bin: string, set: EvalSet, tmp: string): Promise<Hyps> {
  const texts = new Map<string, string>();
  const failed = new Map<string, string>();
  const cost = await measure(async () => {
    for (const [k, u] of set.utts.entries()) {
      try {
        const input = await as16k(u.file, tmp, k);
        const r = spawnSync(bin, ['-infile', input, '-logfn', '/dev/null'], { encoding: 'utf8', maxBuffer: 1 << 24 });
        if (r.status !== 0) throw new Error(`exit ${r.status ?? r.signal}: ${(r.stderr || '').trim().split('\n').pop()}`);
        texts.set(u.file, r.stdout.split('\n').filter(Boolean).join(' '));
      } catch (e) {
        failed.set(u.file, (e as Error).message);
      }
    }
  });
  // pocketsphinx_continuous runs in child processes: measure() sees only this process's CPU.
  return { texts, failed, cost: { wallS: cost.wallS, cpuS: NaN } };
}

/** Corpus WER and CER (%) of hypotheses against the set's (normalised) references; failed files count as empty. */
function score(utts: Utt[], hyps: Hyps): Scores {
  const pairs: Array<[string, string]> = utts.map((u) => [u.ref, normalize(hyps.texts.get(u.file) ?? '')]);
  let chars = 0;
  let edits = 0;
  for (const [r, h] of pairs) {
    edits += editDistance([...r], [...h]);
    chars += r.length;
  }
  return { wer: wer(pairs), cer: chars ? (100 * edits) / chars : NaN };
}

const key = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, '_');

main(async () => {
  const m = requireModel('wer');
  const limit = num('limit', 0);
  const offlineGiven = opt('offline-model');
  const besideModel = join(dirname(m.model), 'model.offline.onnx');
  const offline = offlineGiven
    ? { model: fromUser(offlineGiven), label: `${offlineGiven} (mode offline)` }
    : existsSync(besideModel) && resolve(besideModel) !== resolve(m.model)
      ? { model: besideModel, label: 'model.offline.onnx beside the model (the offline export of the same weights, mode offline)' }
      : { model: m.model, label: 'the streaming model itself with mode offline (no model.offline.onnx beside it)' };
  const psWanted = !flag('no-pocketsphinx');
  // PocketSphinx runs a process per file at about 2x real time: --pocketsphinx-sets librivox limits it to some sets.
  const psSets = opt('pocketsphinx-sets')?.split(',');
  const psBin = psWanted ? findPocketsphinx(opt('pocketsphinx-bin') ?? 'pocketsphinx_continuous') : undefined;
  const psNote = !psWanted
    ? 'n/a: PocketSphinx skipped (--no-pocketsphinx)'
    : psBin
      ? `${psBin} (Debian pocketsphinx, default pocketsphinx-en-us model), one process per file`
      : `n/a: ${opt('pocketsphinx-bin') ?? 'pocketsphinx_continuous'} is not installed (apt-get install pocketsphinx pocketsphinx-en-us)`;

  const sets: EvalSet[] = [];
  for (const s of chooseSets()) sets.push(await loadSet(s.name, s.dir, limit));

  console.log('# bench:wer — WER/CER of the toolkit graph, streaming and offline, beside PocketSphinx\n');
  console.log(machine('onnxruntime 1 intra-op thread, 1 inter-op thread (the graph defaults); PocketSphinx single-threaded'));
  console.log(`\nmodel: ${m.label}`);
  console.log(`offline: ${offline.label}`);
  console.log(`PocketSphinx: ${psNote}`);
  const renorm = sets.filter((s) => s.renormalised);
  console.log(
    `references: normalised as training/textnorm.py (a-z, apostrophe, space); ` +
      (renorm.length ? `normalisation changed ${renorm.map((s) => `${s.renormalised} of ${s.name}`).join(', ')}` : 'all were already normalised') +
      (limit > 0 ? `; first ${limit} references of each set (--limit)` : ''),
  );
  console.log('');

  const tmp = mkdtempSync(join(tmpdir(), 'bench-wer-'));
  interface Row {
    set: EvalSet;
    stream: Hyps;
    off: Hyps;
    ps?: Hyps;
  }
  const rows: Row[] = [];
  try {
    for (const set of sets) {
      const stream = await toolkit(set, m.model, m.tokens, 'streaming', tmp);
      const off = await toolkit(set, offline.model, m.tokens, 'offline', tmp);
      const ps = psBin && (!psSets || psSets.includes(set.name)) ? await pocketsphinx(psBin, set, tmp) : undefined;
      rows.push({ set, stream, off, ps });
      const failures = [...stream.failed, ...off.failed, ...(ps?.failed ?? [])];
      // Progress on stderr (not in --quick runs, whose output the smoke test reads as one piece).
      if (!quick) process.stderr.write(`bench:wer: ${set.name}: ${set.utts.length} files done${failures.length ? `, ${failures.length} failures` : ''}\n`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const hypsOut = opt('hyps');
  if (hypsOut) {
    // Every transcript, to see which files differ (`differs` = streaming and offline transcripts not equal).
    const esc = (t: string) => t.replace(/[\t\n]/g, ' ');
    const lines = ['set\tutt\treference\tstreaming\toffline\tpocketsphinx\tdiffers'];
    for (const r of rows) {
      for (const u of r.set.utts) {
        const st = r.stream.texts.get(u.file) ?? '';
        const of = r.off.texts.get(u.file) ?? '';
        lines.push([r.set.name, u.id, u.ref, st, of, r.ps?.texts.get(u.file) ?? '', st === of ? '' : 'differs'].map(esc).join('\t'));
      }
    }
    writeFileSync(fromUser(hypsOut), `${lines.join('\n')}\n`);
  }

  const pct = (x: number) => fmt(x, 1);
  const same = (r: Row) => r.set.utts.filter((u) => !r.stream.failed.has(u.file) && r.stream.texts.get(u.file) === r.off.texts.get(u.file)).length;
  const minutes = (utts: Utt[]) => utts.reduce((s, u) => s + (Number.isFinite(u.seconds) ? u.seconds : 0), 0) / 60;
  const merge = (hs: Hyps[]): Hyps => ({
    texts: new Map(hs.flatMap((h) => [...h.texts])),
    failed: new Map(hs.flatMap((h) => [...h.failed])),
    cost: { wallS: hs.reduce((s, h) => s + h.cost.wallS, 0), cpuS: hs.reduce((s, h) => s + h.cost.cpuS, 0) },
  });
  const all: Row = {
    set: { name: 'all (pooled)', dir: '', utts: rows.flatMap((r) => r.set.utts), renormalised: 0 },
    stream: merge(rows.map((r) => r.stream)),
    off: merge(rows.map((r) => r.off)),
    ps: rows.every((r) => r.ps) ? merge(rows.map((r) => r.ps!)) : undefined,
  };
  const scored = [...rows, ...(rows.length > 1 ? [all] : [])].map((r) => ({
    r,
    s: score(r.set.utts, r.stream),
    o: score(r.set.utts, r.off),
    p: r.ps ? score(r.set.utts, r.ps) : undefined,
    same: same(r),
  }));
  const na = 'n/a';
  console.log(
    table(
      ['set', 'files', 'audio min', 'streaming WER %', 'streaming CER %', 'offline WER %', 'offline CER %', 'streaming = offline', 'PocketSphinx WER %', 'PocketSphinx CER %'],
      scored.map(({ r, s, o, p, same: eq }) => [
        r === all ? `**${r.set.name}**` : r.set.name,
        r.set.utts.length,
        fmt(minutes(r.set.utts), 1),
        pct(s.wer),
        pct(s.cer),
        pct(o.wer),
        pct(o.cer),
        `${eq}/${r.set.utts.length}`,
        p ? pct(p.wer) : na,
        p ? pct(p.cer) : na,
      ]),
    ),
  );

  const audioS = minutes(all.set.utts) * 60;
  const speed = (h: Hyps | undefined) => (h ? [fmt(h.cost.wallS, 1), Number.isFinite(h.cost.cpuS) ? fmt(h.cost.cpuS, 1) : na, fmt(audioS / h.cost.wallS, 1)] : [na, na, na]);
  console.log('');
  console.log(
    table(
      ['engine (all sets)', 'wall s', 'CPU s', 'x real time'],
      [
        ['toolkit streaming (graph run per set, model load included)', ...speed(all.stream)],
        ['toolkit offline (graph run per set, model load included)', ...speed(all.off)],
        ['PocketSphinx (a process per file, start-up included)', ...speed(all.ps)],
      ],
    ),
  );
  const failures = scored.filter(({ r }) => r !== all).flatMap(({ r }) => [
    ...[...r.stream.failed].map(([f, e]) => `streaming ${f}: ${e}`),
    ...[...r.off.failed].map(([f, e]) => `offline ${f}: ${e}`),
    ...[...(r.ps?.failed ?? [])].map(([f, e]) => `PocketSphinx ${f}: ${e}`),
  ]);
  if (failures.length) console.log(`\nFailed files (counted as empty transcripts):\n${failures.map((f) => `- ${f}`).join('\n')}`);
  console.log(
    `\nWER: word edit distance / reference words; CER: character edit distance (spaces included) / reference characters; ` +
      `both summed over each set (training/evaluate.py's definition), ${decoderNote()}. ` +
      `"streaming = offline" counts files whose two transcripts are identical. ` +
      (psBin ? '' : `PocketSphinx columns are n/a: ${psNote.replace(/^n\/a: /, '')}. `) +
      SHARED_MACHINE_NOTE +
      '\n',
  );

  const kv: Record<string, string | number> = {};
  for (const { r, s, o, p, same: eq } of scored) {
    const k = r === all ? 'all' : `set_${key(r.set.name)}`;
    kv[`${k}_n`] = r.set.utts.length;
    kv[`${k}_stream`] = Number(fmt(s.wer, 1));
    kv[`${k}_stream_cer`] = Number(fmt(s.cer, 1));
    kv[`${k}_offline`] = Number(fmt(o.wer, 1));
    kv[`${k}_offline_cer`] = Number(fmt(o.cer, 1));
    kv[`${k}_same`] = eq;
    kv[`${k}_pocketsphinx`] = p ? Number(fmt(p.wer, 1)) : na;
    kv[`${k}_pocketsphinx_cer`] = p ? Number(fmt(p.cer, 1)) : na;
  }
  kv.offline_model = offline.model === m.model ? 'streaming_model' : basename(offline.model);
  kv.pocketsphinx = !psWanted ? 'skipped' : psBin ? 'ok' : 'not_installed';
  result('wer', kv);
});

/** CtcDecoder settings from the command line: --beam N, --lm file.arpa[.gz], --lm-weight X, --word-bonus X. */
function decoderParams(): Record<string, string> {
  const out: Record<string, string> = {};
  const beam = opt('beam');
  const lm = opt('lm');
  if (beam) out.beamWidth = beam;
  if (lm) {
    out.lm = fromUser(lm);
    out.beamWidth ??= '16'; // as the sample's --lm
  }
  if (opt('lm-weight')) out.lmWeight = opt('lm-weight')!;
  if (opt('word-bonus')) out.wordBonus = opt('word-bonus')!;
  return out;
}

/** graphs/onnx-stt.yaml's own defaults (its LM fusion weights are tuned for the bundled model). */
function graphDefaults(): { lmWeight: unknown; wordBonus: unknown } {
  return (parseYaml(readFileSync(join(TOOLKIT_ROOT, 'graphs', 'onnx-stt.yaml'), 'utf8')) as { params: { lmWeight: unknown; wordBonus: unknown } }).params;
}

/** How CtcDecoder decoded, for the table's note. */
function decoderNote(): string {
  const d = decoderParams();
  if (!d.beamWidth || d.beamWidth === '1') return 'greedy CTC, no language model';
  const GRAPH_DEFAULTS = graphDefaults();
  return `CTC prefix beam search (${d.beamWidth} beams)` + (d.lm ? ` with the word LM ${basename(d.lm)} (lmWeight ${d.lmWeight ?? GRAPH_DEFAULTS.lmWeight}, wordBonus ${d.wordBonus ?? GRAPH_DEFAULTS.wordBonus})` : ', no language model');
}
