/**
 * The bad-input corpus (test/bad-inputs/corpus.ts) through the whole file graph, from the CLI and from
 * the API: every bad file gets its exact one-line error, every odd-but-usable file its transcript, the
 * good file in the same run its complete transcript, and the run exits 1. Bad graphs and models are
 * refused before anything runs (exit 2) with exact `file:line:col` lines.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { OPERATORS } from '../operators/index.js';
import { chunker } from '../operators/chunker/index.js';
import { ctcDecoder } from '../operators/ctc-decoder/index.js';
import { fileSource } from '../operators/file-source/index.js';
import { melExtractor } from '../operators/mel-extractor/index.js';
import { onnxStt } from '../operators/onnx-stt/index.js';
import type { StreamItem, TranscriptItem } from '../toolkit/items.js';
import { GraphError } from '../toolkit/graph/errors.js';
import { loadGraphFile } from '../toolkit/graph/load.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { runPlan } from '../toolkit/runtime/run.js';
import { writeCorpus, type Corpus, type FileCase } from './bad-inputs/corpus.js';
import { CLIP, MODEL, readWavMono, sharedTranscript } from './helpers/live.js';

const CLI = join(TOOLKIT_ROOT, 'dist/toolkit/cli/main.js');
const FIXTURES = join(TOOLKIT_ROOT, 'test/fixtures/models');
const quiet = { info: () => {}, verbose: () => {}, warn: () => {} };

/** The bundled model once it exists; until then the cache-aware fixture model stands in. */
function modelParams(): Record<string, string> {
  if (existsSync(MODEL)) return {};
  return { model: join(FIXTURES, 'cache_aware.onnx'), tokens: join(FIXTURES, 'cache_aware.tokens.txt') };
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeoutMs = 30000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: TOOLKIT_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI hung: ${args.join(' ')}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

interface Outcome {
  finals: Map<string, TranscriptItem[]>;
  errors: Map<string, string[]>;
  warnings: string[];
}

function outcome(items: Array<Record<string, unknown>>, warnings: string[]): Outcome {
  const finals = new Map<string, TranscriptItem[]>();
  const errors = new Map<string, string[]>();
  const push = <T>(m: Map<string, T[]>, k: string, v: T) => m.set(k, [...(m.get(k) ?? []), v]);
  for (const it of items) {
    const id = it.streamId as string;
    if (it.kind === 'error') push(errors, id, it.message as string);
    else if ((it.kind === undefined || it.kind === 'transcript') && it.isFinal) push(finals, id, it as unknown as TranscriptItem);
  }
  return { finals, errors, warnings };
}

/** Every case's answer, and the good file's complete transcript. */
function checkOutcome(corpus: Corpus, o: Outcome, goodText: string, how: string): void {
  const problems: string[] = [];
  const check = (c: FileCase) => {
    const errs = o.errors.get(c.path) ?? [];
    const finals = o.finals.get(c.path) ?? [];
    if ('error' in c.expect) {
      if (errs.length !== 1 || errs[0] !== c.expect.error) problems.push(`${c.name}: errors ${JSON.stringify(errs)}, expected [${JSON.stringify(c.expect.error)}]`);
      if (finals.length) problems.push(`${c.name}: ${finals.length} transcript(s) for a failed stream`);
      return;
    }
    if (errs.length) problems.push(`${c.name}: unexpected error ${JSON.stringify(errs)}`);
    if (finals.length !== 1) problems.push(`${c.name}: ${finals.length} final transcripts, expected 1`);
    else if ('same' in c.expect && finals[0]!.text !== goodText) problems.push(`${c.name}: transcript ${JSON.stringify(finals[0]!.text)} != the good file's ${JSON.stringify(goodText)}`);
    const warning = (c.expect as { warning?: string }).warning;
    if (warning && !o.warnings.some((w) => w === `${c.path}: ${warning}` || w === `warning: ${c.path}: ${warning}`)) {
      problems.push(`${c.name}: no warning '${warning}'`);
    }
  };
  for (const c of corpus.files) check(c);
  const good = o.finals.get(corpus.good) ?? [];
  if (good.length !== 1 || good[0]!.text !== goodText) problems.push(`good file: ${JSON.stringify(good.map((g) => g.text))}, expected [${JSON.stringify(goodText)}]`);
  expect(problems, `${how}:\n${problems.join('\n')}`).to.deep.equal([]);
}

describe('bad inputs: the corpus through the file graph (CLI and API)', function () {
  this.timeout(60000);
  let dir: string;
  let corpus: Corpus;
  let listGraph: string;
  let goodText: string;
  const errorCases = () => corpus.files.filter((c) => 'error' in c.expect);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bad-inputs-'));
    corpus = writeCorpus(dir, readWavMono(CLIP), FIXTURES);
    // The shipped file graph, with its `audio` parameter a list (so `--param audio=a,b,c` names many files).
    listGraph = join(dir, 'onnx-stt-list.yaml');
    const shipped = readFileSync(join(TOOLKIT_ROOT, 'graphs/onnx-stt.yaml'), 'utf8');
    writeFileSync(listGraph, shipped.replace(/^ {2}audio: .*$/m, '  audio: [samples/audio/*.wav]'));
    goodText = await sharedTranscript(modelParams());
    const errors = errorCases().length;
    console.log(`      corpus: ${corpus.files.length} file cases (${errors} errors, ${corpus.files.length - errors} usable), ${corpus.graphs.length} graph/model cases`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has at least 30 distinct file cases and a good file', () => {
    expect(corpus.files.length).to.be.at.least(30);
    expect(new Set(corpus.files.map((c) => c.path)).size).to.equal(corpus.files.length);
    expect(goodText.length).to.be.greaterThan(0);
  });

  it('CLI: one run over every case: exact one-line errors, the good file complete, no hang, exit 1', async () => {
    const files = [corpus.good, ...corpus.files.map((c) => c.path)];
    const params = { ...modelParams(), audio: files.join(','), format: 'jsonl' };
    const t0 = Date.now();
    const r = await cli(['run', listGraph, ...Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`])]);
    const seconds = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr).to.equal(1);
    const records = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const stderr = r.stderr.split('\n').filter(Boolean);
    checkOutcome(corpus, outcome(records, stderr), goodText, 'CLI');
    // The end-of-run summary names each failed file once, with its one-line reason.
    for (const c of errorCases()) expect(stderr, c.name).to.include(`error: ${(c.expect as { error: string }).error}`);
    expect(stderr.filter((l) => l.startsWith('error: '))).to.have.length(errorCases().length);
    expect(seconds, 'the whole corpus in one CLI run').to.be.below(30);
  });

  it('API: loadGraphFile + runPlan give the same answers; errors are collected, never thrown', async () => {
    const out = join(dir, 'api.jsonl');
    const plan = await loadGraphFile(listGraph, {
      registry: OPERATORS,
      params: { ...modelParams(), audio: [corpus.good, ...corpus.files.map((c) => c.path)], format: 'jsonl', out },
    });
    const warnings: string[] = [];
    const collect: StreamItem[] = [];
    const result = await runPlan(plan, { log: { info: () => {}, verbose: () => {}, warn: (m) => warnings.push(m) }, collect });
    checkOutcome(corpus, outcome(collect as unknown as Array<Record<string, unknown>>, warnings), goodText, 'API');
    expect(result.errors.map((e) => e.message).sort()).to.deep.equal(errorCases().map((c) => (c.expect as { error: string }).error).sort());
    expect(result.streamsEnded).to.equal(corpus.files.length + 1);
    // The sink's file holds the same records.
    const written = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    checkOutcome(corpus, outcome(written, warnings), goodText, 'API sink file');
  });

  it('graphs and models: refused before anything runs, every problem as file:line:col (API; CLI validate and run)', async () => {
    const problems: string[] = [];
    const match = (line: string | undefined, want: string | RegExp) => line !== undefined && (typeof want === 'string' ? line === want : want.test(line));
    const compare = (name: string, lines: string[], want: Array<string | RegExp>) => {
      if (lines.length < want.length || !want.every((w, i) => match(lines[i], w))) {
        problems.push(`${name}: got\n    ${lines.join('\n    ')}\n  expected\n    ${want.join('\n    ')}`);
      }
    };
    const apiLines = new Map<string, string[]>();
    for (const g of corpus.graphs) {
      let thrown: unknown;
      try {
        await loadGraphFile(g.path, { registry: OPERATORS });
      } catch (e) {
        thrown = e;
      }
      if (!(thrown instanceof GraphError)) {
        problems.push(`${g.name}: loadGraphFile did not throw a GraphError (${String(thrown)})`);
        continue;
      }
      for (const p of thrown.problems) if (!(p.line >= 1 && p.col >= 1)) problems.push(`${g.name}: problem without a position: ${JSON.stringify(p)}`);
      apiLines.set(g.name, thrown.message.split('\n'));
      compare(g.name, thrown.message.split('\n'), g.problems);
    }
    // The CLI (each start costs seconds on a loaded machine: a few representative cases): the same lines, exit 2.
    for (const name of ['tabs.yaml', 'wrong-contract.yaml']) {
      const g = corpus.graphs.find((x) => x.name === name)!;
      const v = await cli(['validate', g.path]);
      if (v.code !== 2) problems.push(`${name}: validate exit ${v.code}`);
      compare(`${name} (CLI)`, v.stderr.split('\n').filter(Boolean), apiLines.get(name) ?? g.problems);
    }
    // `run` refuses a text file named model.onnx the same way and starts nothing: no record, no transcript.
    const notOnnx = corpus.graphs.find((x) => x.name === 'model-not-onnx.yaml')!;
    const r = await cli(['run', notOnnx.path]);
    if (r.code !== 2 || r.stdout !== '') problems.push(`model-not-onnx.yaml: run exit ${r.code}, stdout ${JSON.stringify(r.stdout.slice(0, 200))}`);
    compare('model-not-onnx.yaml (CLI run)', r.stderr.split('\n').filter(Boolean), notOnnx.problems);
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('maxStreams: with three files open at once and OnnxSTT maxStreams 2, the third stream gets a clear error; the two others complete', async () => {
    const copies = ['a', 'b', 'c'].map((n) => {
      const p = join(dir, `streams-${n}.wav`);
      writeFileSync(p, readFileSync(corpus.good));
      return p;
    });
    const shipped = readFileSync(listGraph, 'utf8')
      // pace 4: the three files are read side by side (unpaced, one could end before the next opens).
      .replace('sampleRate: 16000, concurrency: "${files}" }', 'sampleRate: 16000, concurrency: 3, pace: 4 }')
      .replace('params: { model: "${model}",', 'params: { model: "${model}", maxStreams: 2,');
    expect(shipped).to.include('maxStreams: 2').and.to.include('pace: 4');
    const graph = join(dir, 'max-streams.yaml');
    writeFileSync(graph, shipped);
    const plan = await loadGraphFile(graph, { registry: OPERATORS, params: { ...modelParams(), audio: copies, format: 'jsonl', out: join(dir, 'max-streams.jsonl') } });
    const collect: StreamItem[] = [];
    const result = await runPlan(plan, { log: { info: () => {}, verbose: () => {}, warn: () => {} }, collect });
    expect(result.errors).to.have.length(1);
    const rejected = result.errors[0]!.streamId; // the last to open (normally c)
    expect(copies).to.include(rejected);
    expect(result.errors[0]!.message).to.equal(`stt: stream '${rejected}' rejected: maxStreams (2) streams are already open; raise maxStreams or end streams sooner`);
    const o = outcome(collect as unknown as Array<Record<string, unknown>>, []);
    for (const c of copies.filter((x) => x !== rejected)) expect(o.finals.get(c)?.map((f) => f.text)).to.deep.equal([goodText]);
    expect(o.finals.get(rejected)).to.equal(undefined);
  });

  it('in code (no loader to check the wiring): a raw-audio model behind a MelExtractor is that stream\'s error, not an empty transcript', async () => {
    const w2v = join(FIXTURES, 'wav2vec2.onnx');
    const out = await lastValueFrom(
      fileSource({ files: corpus.good }, { log: quiet })
        .pipe(chunker(), melExtractor(), onnxStt({ model: w2v }), ctcDecoder({ tokens: join(FIXTURES, 'wav2vec2.vocab.json') }))
        .pipe(toArray()),
    );
    expect(out.filter((i) => i.kind !== 'features')).to.deep.equal([
      {
        kind: 'error',
        streamId: corpus.good,
        operator: 'OnnxSTT',
        message: `stream '${corpus.good}': ${w2v} takes raw 16 kHz audio (wav2vec2) but receives features: wire the audio straight into it, without a MelExtractor`,
      },
      { kind: 'punct', streamId: corpus.good },
    ]);
  });

  it('a Sink file that is a FIFO nobody reads is refused at once (a blocked open would not even let SIGINT through)', async () => {
    const fifo = join(dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const plan = await loadGraphFile(listGraph, { registry: OPERATORS, params: { ...modelParams(), audio: [corpus.good], format: 'jsonl', out: fifo } });
    const err = await runPlan(plan, { log: { info: () => {}, verbose: () => {}, warn: () => {} } }).catch((e: Error) => e);
    expect((err as Error).message).to.equal(`out: cannot write ${fifo}: a FIFO that nobody reads (start its reader first)`);
  });

  it('--max-graph-bytes: a graph over the limit is refused (exit 2); a bad value is a usage error', async () => {
    const r = await cli(['validate', listGraph, '--max-graph-bytes', '100']);
    expect(r.code).to.equal(2);
    const size = readFileSync(listGraph).length;
    expect(r.stderr).to.equal(`${listGraph}:1:1: graph file is ${size} bytes, over the limit of 100 (--max-graph-bytes)\n`);
    const bad = await cli(['validate', listGraph, '--max-graph-bytes', 'lots']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.equal('streamsx-stt: --max-graph-bytes must be a positive number\n(see streamsx-stt --help)\n');
    // At the limit it loads; without the option the default limit (1 MiB) applies.
    await loadGraphFile(listGraph, { registry: OPERATORS, params: modelParams(), maxBytes: size });
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `${readFileSync(listGraph, 'utf8')}#${'x'.repeat(1 << 20)}\n`);
    const err = await loadGraphFile(big, { registry: OPERATORS }).catch((e: Error) => e);
    expect((err as Error).message).to.equal(`${big}:1:1: graph file is ${readFileSync(big).length} bytes, over the limit of 1048576 (--max-graph-bytes)`);
  });
});
