/**
 * The package from anywhere: the embedding example (samples/embed) run from another folder, and what
 * `npm pack` ships, installed into a scratch project's node_modules (as `npm install <tarball>` lays it
 * out, without the network: its dependencies are this checkout's) and used from there through the CLI
 * and through `import ... from 'streamsx-stt'`.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { fileTranscript } from './helpers/live.js';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.INIT_CWD;
    const p = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

const FLAC = join(TOOLKIT_ROOT, 'test/fixtures/audio/librivox.flac');
const MP3 = join(TOOLKIT_ROOT, 'test/fixtures/audio/librivox.mp3');
let scratch: string;

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'package-'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('samples/embed (the README embedding example)', () => {
  it('run from another folder: finds the bundled model, prints each final, reports a bad file and exits 1', async () => {
    const missing = join(scratch, 'missing.wav');
    const r = await run([join(TOOLKIT_ROOT, 'dist/samples/embed/main.js'), FLAC, missing], scratch);
    expect(r.out).to.equal(`${FLAC}: ${await fileTranscript(FLAC)}\n`);
    expect(r.err).to.equal(`${missing}: no such file\n`);
    expect(r.code).to.equal(1);
  });
});

describe('npm pack: the package installed elsewhere', function () {
  let files: string[];
  let app: string;
  let installed: string;

  before(function () {
    this.timeout(120000);
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: TOOLKIT_ROOT, encoding: 'utf8' });
    expect(pack.status, pack.stderr).to.equal(0);
    files = (JSON.parse(pack.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    app = join(scratch, 'app');
    installed = join(app, 'node_modules', 'streamsx-stt');
    for (const f of files) {
      mkdirSync(dirname(join(installed, f)), { recursive: true });
      copyFileSync(join(TOOLKIT_ROOT, f), join(installed, f));
    }
    // Its dependencies as npm would install them beside it (this checkout's copies: no network).
    symlinkSync(join(TOOLKIT_ROOT, 'node_modules'), join(installed, 'node_modules'));
    mkdirSync(join(app, 'node_modules', '.bin'));
    symlinkSync(join(installed, 'dist/toolkit/cli/main.js'), join(app, 'node_modules', '.bin', 'streamsx-stt'));
    cpSync(MP3, join(app, 'talk.mp3'));
  });

  it('holds the CLI, the library, the bundled model, the graphs and the docs, and no tests', () => {
    for (const f of [
      'package.json',
      'README.md',
      'dist/toolkit/cli/main.js',
      'dist/toolkit/index.js',
      'dist/toolkit/index.d.ts',
      'models/stt-en-char-fastconformer-ctc/model.onnx',
      'models/stt-en-char-fastconformer-ctc/tokens.txt',
      'graphs/onnx-stt.yaml',
      'samples/web/index.html',
      'docs/output-formats.md',
      'docs/models.md',
    ]) {
      expect(files).to.include(f);
    }
    expect(files.filter((f) => f.startsWith('dist/test/') || f.startsWith('test/') || f.startsWith('training/'))).to.deep.equal([]);
  });

  it('the installed CLI runs the shipped graph on the user\'s MP3 from the user\'s folder, and says its version', async () => {
    const bin = join(app, 'node_modules', '.bin', 'streamsx-stt');
    const r = await run([bin, 'run', 'graphs/onnx-stt.yaml', '--param', 'audio=talk.mp3', '--param', 'format=text', '--param', 'partials=false'], app);
    expect(r.err).to.equal('');
    expect(r.code).to.equal(0);
    expect(r.out).to.match(new RegExp(`^talk\\.mp3 \\[[\\d.]+-[\\d.]+\\]: ${await fileTranscript(MP3)}\\n$`));
    const version = await run([bin, '--version'], app);
    expect(version.out).to.match(/^streamsx-stt \d+\.\d+\.\d+\n$/);
  });

  it("import ... from 'streamsx-stt' in the user's program: the bundled model by the path the README gives", async () => {
    writeFileSync(
      join(app, 'app.mjs'),
      `import { fileSource, chunker, melExtractor, onnxStt, ctcDecoder } from 'streamsx-stt';
const dir = 'models/stt-en-char-fastconformer-ctc';
fileSource({ files: ['talk.mp3'] })
  .pipe(chunker({ chunkMs: 160 }), melExtractor(), onnxStt({ model: dir + '/model.onnx' }), ctcDecoder({ tokens: dir + '/tokens.txt' }))
  .subscribe((item) => item.kind === 'transcript' && item.isFinal && console.log(item.text));
`,
    );
    const r = await run(['app.mjs'], app);
    expect(r.err).to.equal('');
    expect(r.out).to.equal(`${await fileTranscript(MP3)}\n`);
  });
});
