/**
 * The benchmarks are not part of the test run, but each one must start and print its table and its
 * RESULT line: every bench runs here with --quick on a 3-second clip (in parallel, a few seconds each).
 * The model benches use the bundled model when it is there, else the cache-aware fixture model
 * (test/fixtures/models/cache_aware.onnx), so they are exercised either way. bench:wer runs --quick on the
 * two shipped clips (samples/audio), once as it finds the machine and once with PocketSphinx made
 * unavailable, which must still succeed and say n/a. bench:chaos runs in test/chaos.test.ts, where its
 * outcome is checked.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { redisServerAvailable } from '../support/redis-local.js';

const ROOT = process.cwd();
const DIST = join(ROOT, 'dist', 'bench');
const CLIP = join(ROOT, 'test', 'fixtures', 'mel', 'librivox.wav');
const BUNDLED = join(ROOT, 'models', 'stt-en-char-fastconformer-ctc');
const bundled = existsSync(join(BUNDLED, 'model.onnx')) && existsSync(join(BUNDLED, 'tokens.txt'));
const MODEL = bundled
  ? []
  : ['--model', join(ROOT, 'test/fixtures/models/cache_aware.onnx'), '--tokens', join(ROOT, 'test/fixtures/models/cache_aware.tokens.txt')];

interface Run {
  code: number | null;
  out: string;
  ms: number;
}

function runBench(script: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', join(DIST, script), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, ms: Date.now() - t0 }));
  });
}

const BENCHES: Array<{ name: string; script: string; args: string[]; results: string[]; env?: Record<string, string> }> = [
  { name: 'mel', script: 'mel.js', args: ['--quick'], results: ['mel'] },
  { name: 'overhead', script: 'overhead.js', args: ['--quick', '--reps', '1', '--audio', CLIP, ...MODEL], results: ['overhead'] },
  {
    name: 'peer',
    script: 'peer.js',
    args: ['--quick', '--reps', '1', '--streams', '2', '--no-pocketsphinx', '--audio', CLIP, ...MODEL],
    results: ['peer', 'wer'],
  },
  { name: 'concurrency', script: 'concurrency.js', args: ['--quick', '--n', '1,2', '--seconds', '1', '--audio', CLIP, ...MODEL], results: ['concurrency'] },
  { name: 'soak', script: 'soak.js', args: ['--quick', '--minutes', '0.02', '--slots', '2', '--audio', CLIP, ...MODEL], results: ['soak'] },
  // Needs redis-server (.ci/run installs it); without it the bench says so and is left out here.
  ...(redisServerAvailable() ? [{ name: 'scale', script: 'scale.js', args: ['--quick', '--sessions', '2', '--failover-ms', '1000'], results: ['scale'] }] : []),
  // Without pocketsphinx-testdata the default audio is samples/audio's clips, said on stderr.
  { name: 'overhead-without-testdata', script: 'overhead.js', args: ['--quick', '--reps', '1', ...MODEL], results: ['overhead'], env: { BENCH_LIBRIVOX_DIR: '/nonexistent/librivox' } },
  { name: 'wer', script: 'wer.js', args: ['--quick', ...MODEL], results: ['wer'] },
  { name: 'wer-without-pocketsphinx', script: 'wer.js', args: ['--quick', '--pocketsphinx-bin', '/nonexistent/pocketsphinx_continuous', ...MODEL], results: ['wer'] },
];

describe(`bench smoke test (each bench --quick on a 3 s clip, ${bundled ? 'bundled model' : 'fixture model: the bundled one is absent'})`, function () {
  this.timeout(120000);
  let runs: Record<string, Run>;

  before(async () => {
    const all = await Promise.all(BENCHES.map((b) => runBench(b.script, b.args, b.env)));
    runs = Object.fromEntries(BENCHES.map((b, i) => [b.name, all[i]]));
  });

  for (const b of BENCHES) {
    it(`bench:${b.name} prints its markdown table with the machine line and its RESULT line`, () => {
      const r = runs[b.name];
      expect(r.code, r.out).to.equal(0);
      expect(r.out).to.match(/^\| .* \|$/m);
      expect(r.out).to.match(/^\| ---/m);
      expect(r.out).to.match(/\d+ cores/);
      for (const name of b.results) expect(r.out, r.out).to.match(new RegExp(`^RESULT ${name} (\\S+=\\S+ ?)+$`, 'm'));
      const lines = r.out.trim().split('\n');
      expect(lines[lines.length - 1]).to.match(/^RESULT /);
    });
  }

  it('without pocketsphinx-testdata, the benches fall back to samples/audio and say so', () => {
    expect(runs['overhead-without-testdata']!.out).to.include(
      'bench: /nonexistent/librivox not found (Debian package pocketsphinx-testdata); using the clips in samples/audio (or pass --audio a.wav,b.wav)',
    );
  });

  it('the model benches say which thread settings they ran with, and the soak leaves no stream state behind', () => {
    for (const name of ['overhead', 'peer', 'concurrency', 'soak', 'wer']) expect(runs[name].out).to.match(/thread/);
    expect(runs.soak.out).to.match(/^RESULT soak .*open_states=0/m);
    expect(runs.peer.out).to.match(/sherpa-onnx-node/);
  });

  it('bench:wer scores streaming and offline on the same clips (same transcripts), and PocketSphinx or says n/a', () => {
    const r = runs.wer;
    expect(r.out).to.match(/^\| set \| files \| audio min \| streaming WER % \| streaming CER % \| offline WER % \| offline CER % \| streaming = offline \| PocketSphinx WER % \| PocketSphinx CER % \|$/m);
    expect(r.out).to.match(/^\| samples \| 2 \| .* \| 2\/2 \| .* \|$/m);
    expect(r.out).to.match(/^RESULT wer set_samples_n=2 set_samples_stream=[\d.]+ set_samples_stream_cer=[\d.]+ set_samples_offline=[\d.]+ .*set_samples_same=2 /m);
    const ps = /^RESULT wer .* pocketsphinx=(\S+)$/m.exec(r.out)![1];
    if (ps === 'ok') expect(r.out).to.match(/set_samples_pocketsphinx=[\d.]+ /);
    else expect(ps).to.equal('not_installed');
    const none = runs['wer-without-pocketsphinx'];
    expect(none.out).to.match(/^\| samples \| 2 \| .* \| n\/a \| n\/a \|$/m);
    expect(none.out).to.match(/not installed/);
    expect(none.out).to.match(/^RESULT wer .*set_samples_pocketsphinx=n\/a .*pocketsphinx=not_installed$/m);
  });
});
