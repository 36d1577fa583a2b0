/**
 * The OnnxSTT sample as a user runs it (`npm run sample:onnxstt -- ...` = node dist/samples/OnnxSTT/main.js):
 * folders and several files, one failing file among good ones, jsonl, and the offline (whole-utterance)
 * path, which must give the streaming transcript. All runs start at once in `before` (a few seconds).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { longRecording } from './helpers/long-recording.js';

const MAIN = join(TOOLKIT_ROOT, 'dist', 'samples', 'OnnxSTT', 'main.js');
const BUNDLED = join(TOOLKIT_ROOT, 'models', 'stt-en-char-fastconformer-ctc');
const FOX = 'samples/audio/flite-slt-fox.wav';
const LIBRIVOX = 'samples/audio/librivox-0880.wav';
/** A development copy of the offline export, used only when it was exported from the bundled weights. */
const DEV_OFFLINE_DIR = '/work/stt-runs/export-offline';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function sample(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    // As run by node directly: no INIT_CWD (which npm sets, and the sample resolves relative paths against).
    const env = { ...process.env };
    delete env.INIT_CWD;
    const p = spawn(process.execPath, [MAIN, ...args], { cwd: TOOLKIT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

/** The sample run on a terminal (a pseudo-terminal from script(1)): stdout and stderr as the terminal shows them. */
function sampleOnTerminal(args: string[]): Promise<Run> {
  const env = { ...process.env };
  delete env.INIT_CWD;
  const command = [process.execPath, MAIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const p = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd: TOOLKIT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err: '' }));
  });
}

/** Text-format lines `<file> [start-end]: text` as file -> text, in order. */
function texts(r: Run): Array<[string, string]> {
  return r.out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = /^(\S+) \[[\d.]+-[\d.]+\]: (.*)$/.exec(l);
      expect(m, `not a transcript line: ${l}\n${r.err}`).to.not.equal(null);
      return [m![1], m![2]] as [string, string];
    });
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

/** A folder holding the bundled model, its tokens and the offline export of the same weights, if one exists here. */
function offlineModelFolder(dir: string): string | undefined {
  let offline = join(BUNDLED, 'model.offline.onnx');
  if (!existsSync(offline)) {
    const dev = join(DEV_OFFLINE_DIR, 'model.offline.onnx');
    if (!existsSync(dev) || !existsSync(join(DEV_OFFLINE_DIR, 'model.onnx'))) return undefined;
    if (sha(join(DEV_OFFLINE_DIR, 'model.onnx')) !== sha(join(BUNDLED, 'model.onnx'))) return undefined;
    offline = dev;
  }
  const folder = join(dir, 'with-offline');
  mkdirSync(folder);
  symlinkSync(join(BUNDLED, 'model.onnx'), join(folder, 'model.onnx'));
  symlinkSync(join(BUNDLED, 'tokens.txt'), join(folder, 'tokens.txt'));
  symlinkSync(offline, join(folder, 'model.offline.onnx'));
  return folder;
}

/** Exit 0 and one non-empty final transcript for each shipped clip, in file order. */
function expectShippedClipsTranscribed(r: Run): void {
  expect(r.code, r.err).to.equal(0);
  const t = texts(r);
  expect(t.map(([f]) => f)).to.deep.equal([FOX, LIBRIVOX]);
  for (const [, text] of t) expect(text).to.match(/[a-z]/);
}

describe('OnnxSTT sample (npm run sample:onnxstt)', function () {
  this.timeout(60000);
  let dir: string;
  let offlineFolder: string | undefined;
  const runs: Record<string, Run> = {};

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'sample-onnxstt-'));
    offlineFolder = offlineModelFolder(dir);
    const cases: Record<string, string[]> = {
      defaults: [],
      folder: ['--audio-file', 'samples/audio'],
      twoFiles: ['--audio-file', LIBRIVOX, '--audio-file', FOX],
      missing: ['--audio-file', join(dir, 'missing.wav'), '--audio-file', FOX],
      jsonl: ['--format', 'jsonl', '--audio-file', 'samples/audio'],
      offline: ['--offline', '--verbose', '--model', join(BUNDLED, 'model.onnx'), '--audio-file', FOX],
      badUsage: ['--no-such-option'],
      lm: ['--lm', '--audio-file', 'samples/audio'],
      badBeam: ['--beam', '0'],
      parallel: ['--parallel', '2', '--audio-file', 'samples/audio'],
      badParallel: ['--parallel', 'x'],
    };
    if (offlineFolder) cases.offlineExport = ['--offline', '--verbose', '--model', offlineFolder, '--audio-file', FOX];
    const long = longRecording(2).path;
    const terminalCases: Record<string, string[]> = {
      progress: ['--audio-file', long, '--audio-file', FOX],
      quiet: ['--quiet', '--audio-file', long],
      partialsOnTerminal: ['--partials', '--audio-file', FOX],
    };
    cases.partials = ['--partials', '--audio-file', FOX];
    cases.progressNotTty = ['--audio-file', long];
    // A folder as sherpa-onnx's int8 exports come: model.int8.onnx and tokens.txt only.
    const int8Folder = join(dir, 'int8-only');
    mkdirSync(int8Folder);
    symlinkSync(join(BUNDLED, 'model.int8.onnx'), join(int8Folder, 'model.int8.onnx'));
    symlinkSync(join(BUNDLED, 'tokens.txt'), join(int8Folder, 'tokens.txt'));
    cases.int8Folder = ['--model', int8Folder, '--audio-file', FOX];
    cases.int8File = ['--model', join(BUNDLED, 'model.int8.onnx'), '--audio-file', FOX];
    // A folder of mixed formats: the same clip as WAV, FLAC, MP3, Ogg Vorbis and Opus.
    const mixed = join(dir, 'mixed');
    mkdirSync(mixed);
    symlinkSync(join(TOOLKIT_ROOT, LIBRIVOX), join(mixed, 'a.wav'));
    for (const ext of ['flac', 'mp3', 'ogg', 'opus']) symlinkSync(join(TOOLKIT_ROOT, `test/fixtures/audio/librivox.${ext}`), join(mixed, `b.${ext}`));
    cases.mixedFolder = ['--audio-file', mixed];
    const names = Object.keys(cases);
    const terminalNames = Object.keys(terminalCases);
    const done = await Promise.all([...names.map((n) => sample(cases[n])), ...terminalNames.map((n) => sampleOnTerminal(terminalCases[n]))]);
    [...names, ...terminalNames].forEach((n, i) => (runs[n] = done[i]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('with no arguments transcribes the shipped clips (what npm start runs)', () => {
    expectShippedClipsTranscribed(runs.defaults);
  });

  it('takes a folder: each *.wav in it, sorted, one final transcript per file', () => {
    const r = runs.folder;
    expect(r.code, r.err).to.equal(0);
    expect(texts(r)).to.deep.equal(texts(runs.defaults));
  });

  it('takes several --audio-file options, in the order given', () => {
    const r = runs.twoFiles;
    expect(r.code, r.err).to.equal(0);
    const byFile = new Map(texts(runs.defaults));
    expect(texts(r)).to.deep.equal([
      [LIBRIVOX, byFile.get(LIBRIVOX)],
      [FOX, byFile.get(FOX)],
    ]);
  });

  it("a model folder holding only model.int8.onnx (sherpa-onnx's int8 folders) runs that model", () => {
    expect(runs.int8Folder!.code, runs.int8Folder!.err).to.equal(0);
    expect(texts(runs.int8Folder!)).to.deep.equal(texts(runs.int8File!));
    expect(texts(runs.int8Folder!)).to.have.length(1);
  });

  it('a folder of mixed .wav/.flac/.mp3/.ogg/.opus files: every one transcribed, sorted; FLAC as the WAV', () => {
    const r = runs.mixedFolder!;
    expect(r.code, r.err).to.equal(0);
    const t = texts(r);
    expect(t.map(([f]) => f.split('/').pop())).to.deep.equal(['a.wav', 'b.flac', 'b.mp3', 'b.ogg', 'b.opus']);
    expect(t[1]![1]).to.equal(t[0]![1]);
    for (const [, text] of t) expect(text).to.match(/[a-z]/);
  });

  it('a missing file: exit 1, its error on stderr, the other file still transcribed', () => {
    const r = runs.missing;
    expect(r.code, r.out + r.err).to.equal(1);
    expect(r.err).to.match(/missing\.wav: no such file/);
    expect(r.err).to.match(/1 failed/);
    expect(texts(r)).to.deep.equal([[FOX, new Map(texts(runs.defaults)).get(FOX)]]);
  });

  it('--partials in text format: one line per partial, marked (partial), then the final (not a terminal)', () => {
    const r = runs.partials;
    expect(r.code, r.err).to.equal(0);
    const lines = r.out.split('\n').filter(Boolean);
    const partials = lines.filter((l) => / \(partial\): /.test(l));
    expect(partials.length, r.out).to.be.greaterThan(0);
    for (const l of partials) expect(l).to.match(new RegExp(`^${FOX} \\[[\\d.]+-[\\d.]+\\] \\(partial\\): `));
    expect(lines.at(-1)).to.equal(`${FOX} [${/\[([\d.-]+)\]/.exec(lines.at(-1)!)![1]}]: ${new Map(texts(runs.defaults)).get(FOX)}`);
  });

  it('--partials on a terminal: the partials update one line in place, the final takes it over', () => {
    const r = runs.partialsOnTerminal;
    expect(r.code, r.out).to.equal(0);
    // Each record starts by clearing the line; partials end without a newline.
    const records = r.out.split('\r\x1b[K').slice(1);
    const partials = records.filter((x) => / \(partial\): /.test(x));
    expect(partials.length, JSON.stringify(r.out)).to.be.greaterThan(0);
    for (const p of partials) expect(p).to.not.match(/\n/);
    expect(records.find((x) => !/ \(partial\): /.test(x) && x.startsWith(FOX))).to.match(/^\S+ \[[\d.]+-[\d.]+\]: [^\n]*\r?\n/);
  });

  it('on a terminal, a long file shows progress on stderr (files done, audio seconds, x real time); --quiet and pipes do not', () => {
    expect(runs.progress.code, runs.progress.out).to.equal(0);
    const shown = [...runs.progress.out.matchAll(/progress: (\d+) file\(s\) done, ([\d.]+) s of audio, ([\d.]+)x real time/g)];
    expect(shown.length, JSON.stringify(runs.progress.out.slice(0, 500))).to.be.greaterThan(0);
    const seconds = shown.map((m) => Number(m[2]));
    expect(seconds.at(-1)).to.be.greaterThan(0);
    for (let k = 1; k < seconds.length; k++) expect(seconds[k]).to.be.at.least(seconds[k - 1]);
    expect(Number(shown.at(-1)![3])).to.be.greaterThan(0);
    expect(runs.quiet.code).to.equal(0);
    expect(runs.quiet.out).to.not.include('progress:');
    expect(runs.progressNotTty.code).to.equal(0);
    expect(runs.progressNotTty.err).to.not.include('progress:');
  });

  it('--format jsonl: one final JSON record per file, no partials', () => {
    const r = runs.jsonl;
    expect(r.code, r.err).to.equal(0);
    const records = r.out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { streamId: string; text: string; isFinal: boolean; words: unknown[] });
    expect(records.map((x) => x.streamId)).to.deep.equal([FOX, LIBRIVOX]);
    for (const x of records) {
      expect(x.isFinal).to.equal(true);
      expect(x.words).to.be.an('array').that.is.not.empty;
    }
    expect(records.map((x) => [x.streamId, x.text])).to.deep.equal(texts(runs.defaults));
  });

  it('--offline on the streaming model (mode offline) gives the streaming transcript', () => {
    const r = runs.offline;
    expect(r.code, r.err).to.equal(0);
    expect(r.err).to.match(/contract nemo-cache-aware.*mode offline/);
    expect(texts(r)).to.deep.equal([[FOX, new Map(texts(runs.defaults)).get(FOX)]]);
  });

  it('--offline on a model folder with model.offline.onnx runs that offline export, same transcript', function () {
    if (!offlineFolder) {
      console.log('      skipped: no model.offline.onnx exported from the bundled weights on this machine');
      this.skip();
    }
    const r = runs.offlineExport;
    expect(r.code, r.err).to.equal(0);
    expect(r.err).to.match(/model\.offline\.onnx: contract nemo-offline.*mode offline/);
    expect(texts(r)).to.deep.equal([[FOX, new Map(texts(runs.defaults)).get(FOX)]]);
  });

  it('bad usage: exit 2 with the usage text', () => {
    const r = runs.badUsage;
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/usage: npm run sample:onnxstt/);
    expect(r.out).to.equal('');
  });

  it('--parallel 2: both files at once on the worker thread, the same transcripts', () => {
    const r = runs.parallel;
    expect(r.code, r.err).to.equal(0);
    // Printed as files finish: compare by file.
    expect(new Map(texts(r))).to.deep.equal(new Map(texts(runs.defaults)));
    expect(runs.badParallel.code).to.equal(2);
    expect(runs.badParallel.err).to.contain("OnnxSTT sample: --parallel must be a whole number >= 1, got 'x'");
  });

  it('--lm: beam search with the bundled word language model, one final per file', () => {
    expectShippedClipsTranscribed(runs.lm);
    expect(runs.badBeam.code).to.equal(2);
    expect(runs.badBeam.err).to.contain("OnnxSTT sample: --beam must be a whole number >= 1, got '0'");
  });
});
