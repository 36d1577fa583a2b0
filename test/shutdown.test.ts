/**
 * Shutdown from the CLI: SIGINT/SIGTERM stop the sources, flush each open stream's final result and
 * the sinks, then exit 130/143; a second signal exits at once.
 */
import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { MODEL } from './helpers/live.js';

const CLI = join(TOOLKIT_ROOT, 'dist/toolkit/cli/main.js');
const FIXTURES = join(TOOLKIT_ROOT, 'test/fixtures/models');
const CLIPS = ['librivox-0880.wav', 'flite-slt-fox.wav'].map((n) => join(TOOLKIT_ROOT, 'samples/audio', n));

interface Rec {
  streamId: string;
  isFinal?: boolean;
  endMs?: number;
  kind?: string;
}

describe('shutdown: signals to the CLI', function () {
  this.timeout(60000);
  let graph: string;

  before(() => {
    // The shipped file graph, read in real time (pace 1), both clips at once.
    const dir = mkdtempSync(join(tmpdir(), 'shutdown-'));
    graph = join(dir, 'paced.yaml');
    const shipped = readFileSync(join(TOOLKIT_ROOT, 'graphs/onnx-stt.yaml'), 'utf8');
    const paced = shipped.replace('params: { files: "${audio}", sampleRate: 16000, concurrency: "${files}" }', 'params: { files: "${audio}", sampleRate: 16000, pace: 1, concurrency: 2 }');
    expect(paced).to.not.equal(shipped);
    writeFileSync(graph, paced.replace(/^ {2}audio: .*$/m, '  audio: [samples/audio/*.wav]'));
  });

  function start(): { child: ChildProcessWithoutNullStreams; out: () => string; err: () => string; firstPartial: Promise<void>; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> } {
    const model = existsSync(MODEL) ? [] : ['--param', `model=${join(FIXTURES, 'cache_aware.onnx')}`, '--param', `tokens=${join(FIXTURES, 'cache_aware.tokens.txt')}`];
    const child = spawn(process.execPath, [CLI, 'run', graph, '--param', `audio=${CLIPS.join(',')}`, '--param', 'format=jsonl', ...model], { cwd: TOOLKIT_ROOT });
    let stdout = '';
    let stderr = '';
    let onPartial: () => void = () => {};
    const firstPartial = new Promise<void>((r) => (onPartial = r));
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('"isFinal":false')) onPartial();
    });
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, at: Date.now() })));
    return { child, out: () => stdout, err: () => stderr, firstPartial, done };
  }

  const records = (stdout: string): Rec[] =>
    stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Rec); // every line complete: the sink was flushed

  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${sig} after ~1 s of a paced run: sources stop, every open stream gets its final, exit ${code}`, async () => {
      const run = start();
      await run.firstPartial; // the graph is running: audio is being read in real time
      await new Promise((r) => setTimeout(r, 300));
      const sentAt = Date.now();
      run.child.kill(sig);
      const end = await run.done;
      expect(end.code, run.err()).to.equal(code);
      const recs = records(run.out());
      for (const clip of CLIPS) {
        const finals = recs.filter((r) => r.streamId === clip && r.isFinal);
        expect(finals, `${clip}: one final`).to.have.length(1);
        // Stopped early: the final covers only what was read before the signal (each clip is about 3 s).
        expect(finals[0]!.endMs!, clip).to.be.below(2900);
        expect(recs.filter((r) => r.streamId === clip).at(-1)!.isFinal, `${clip}: the final is the stream's last record`).to.equal(true);
      }
      expect(run.err()).to.contain(`${sig}: stopping sources and flushing open streams`);
      expect(end.at - sentAt, 'time from the signal to exit').to.be.below(5000);
    });
  }

  it('a second signal exits at once', async () => {
    const run = start();
    await run.firstPartial;
    run.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 50));
    run.child.kill('SIGINT');
    const sentAt = Date.now();
    const end = await run.done;
    // After the first signal the CLI gives SIGINT/SIGTERM back their default action, so the second one
    // ends the process even if a blocking write holds its thread (the shell reports 130 either way).
    expect(end.code === 130 || end.signal === 'SIGINT', `exit ${end.code} / ${end.signal}`).to.equal(true);
    expect(end.at - sentAt).to.be.below(3000);
  });
});
