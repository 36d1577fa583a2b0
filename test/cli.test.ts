import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATORS } from '../operators/index.js';
import { operatorsMarkdown, withOperatorsTable } from '../toolkit/cli/operators-table.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';

const CLI = join(TOOLKIT_ROOT, 'dist', 'toolkit', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: TOOLKIT_ROOT });

describe('CLI', () => {
  it('prints usage and exits 0 with --help, 2 for an unknown command', () => {
    const help = cli('--help');
    expect(help.status).to.equal(0);
    expect(help.stdout).to.contain('streamsx-stt run <graph.yaml>');
    const bad = cli('transcribe');
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.equal("streamsx-stt: unknown command 'transcribe'\n(see streamsx-stt --help)\n");
  });

  it('--version prints the package version', () => {
    const version = (JSON.parse(readFileSync(join(TOOLKIT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-V']) {
      const r = cli(flag);
      expect(r.status).to.equal(0);
      expect(r.stdout).to.equal(`streamsx-stt ${version}\n`);
    }
  });

  it('an audio or other binary file given as the graph: one line saying how to transcribe it, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-binary-'));
    const noise = join(dir, 'noise.yaml');
    writeFileSync(noise, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37 + 11) & 0xff)));
    const cases: Array<[string, string]> = [
      [join(TOOLKIT_ROOT, 'samples/audio/librivox-0880.wav'), 'a WAV audio file'],
      [join(TOOLKIT_ROOT, 'test/fixtures/audio/librivox.flac'), 'an audio file'],
      [noise, 'a binary file'],
    ];
    for (const [file, what] of cases) {
      const r = cli('run', file);
      expect(r.status).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.equal(`${file}:1:1: not a YAML graph (${what}); to transcribe audio use: streamsx-stt run graphs/onnx-stt.yaml --param audio=${file}\n`);
    }
  });

  it('a text file that is not a graph (prose, CSV, a list, nothing): one line, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-text-'));
    const tail = 'graphs are .yaml files with name: and nodes:, and to transcribe audio use: streamsx-stt run graphs/onnx-stt.yaml --param audio=<file>';
    const cases: Array<[string, string, string]> = [
      ['notes.txt', 'This is my meeting transcript.\nIt is not a graph: it has lines, commas, and: colons.\n', 'not valid YAML: Implicit keys need to be on a single line'],
      ['results.csv', 'a,b,c\n1,2,3\n', 'its top level is plain text, not a mapping'],
      ['list.yaml', '- a\n- b\n', 'its top level is a list, not a mapping'],
      ['empty.yaml', '', 'the file is empty'],
    ];
    for (const [name, text, what] of cases) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const r = cli('run', file);
      expect(r.status).to.equal(2);
      expect(r.stderr).to.equal(`${file}:1:1: not a YAML graph (${what}); ${tail}\n`);
    }
  });

  it('keeps the README operator table in step with the operator specs', () => {
    const readme = readFileSync(join(TOOLKIT_ROOT, 'README.md'), 'utf8');
    expect(withOperatorsTable(readme, operatorsMarkdown(OPERATORS)), 'run: npx streamsx-stt operators --readme README.md').to.equal(readme);
    expect(cli('operators').stdout).to.contain('MelExtractor  (audio -> features)');
  });

  it('reports every graph problem as file:line:col and exits 2 before running anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const graph = join(dir, 'bad.yaml');
    writeFileSync(graph, 'name: bad\nnodes:\n  - { id: src, kind: FileSource, params: { files: x.wav, pace: -1 } }\n  - { id: out, kind: Sinkk }\n');
    const run = cli('run', graph);
    expect(run.status).to.equal(2);
    expect(run.stderr.trim().split('\n')).to.deep.equal([
      `${graph}:3:58: src (FileSource): parameter 'pace' must be >= 0`,
      `${graph}:4:16: unknown operator kind 'Sinkk' (known: ${OPERATORS.map((s) => s.kind).join(', ')})`,
    ]);
  });

  it('runs a graph: a missing file is an error for that stream, the good one still runs to its end, exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const graph = join(dir, 'reblock.yaml');
    const good = join(TOOLKIT_ROOT, 'samples', 'audio', 'librivox-0880.wav');
    writeFileSync(graph, `name: reblock\nparams:\n  audio: [${good}, ${join(dir, 'missing.wav')}]\nnodes:\n  - { id: src, kind: FileSource, params: { files: "\${audio}" } }\n  - { id: chunk, kind: Chunker, params: { chunkMs: 500 } }\n  - { id: mel, kind: MelExtractor }\n  - { id: out, kind: Sink, params: { format: jsonl } }\n`);
    const run = cli('run', graph, '--metrics');
    expect(run.status).to.equal(1);
    expect(run.stderr).to.contain(`error: ${join(dir, 'missing.wav')}: `);
    expect(run.stderr).to.match(/metrics: \d+ items, 2 streams ended, 1 errors/);
  });
});
