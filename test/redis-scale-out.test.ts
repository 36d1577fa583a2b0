/**
 * Scale-out on Redis Streams (issue #10): three worker processes share 30 sessions streamed in real
 * time; one worker is killed with SIGKILL mid-run. Every session's final must arrive exactly once and
 * equal the single-process transcript, and the dead worker's sessions must be resumed from their
 * checkpoints by the others. The test runs its own redis-server on a free loopback port (.ci/run
 * installs it); without redis-server the suite is skipped, and says so.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Redis } from 'ioredis';
import { OPERATORS } from '../operators/index.js';
import { collectResults, produceFiles } from '../operators/redis/index.js';
import type { StreamItem, TranscriptItem } from '../toolkit/items.js';
import { loadGraphFile } from '../toolkit/graph/load.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { runPlan } from '../toolkit/runtime/run.js';
import { startWorker, type LocalRedis, type WorkerProcess } from '../support/redis-local.js';
import { startRedisOrSkip } from './helpers/redis-server.js';

const CLIPS = ['flite-slt-fox.wav', 'librivox-0880.wav'].map((f) => join(TOOLKIT_ROOT, 'samples/audio', f));

/** The single-process transcripts: the shipped file graph over the same clips. */
async function singleProcess(): Promise<Map<string, string>> {
  const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs/onnx-stt.yaml'), { registry: OPERATORS, params: { audio: CLIPS, out: join(mkdtempSync(join(tmpdir(), 'ref-')), 'o.jsonl') } });
  const items: StreamItem[] = [];
  await runPlan(plan, { collect: items });
  return new Map(items.filter((i): i is TranscriptItem => i.kind === 'transcript' && i.isFinal).map((t) => [basename(t.streamId), t.text]));
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 30000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Redis scale-out (worker and produce commands, own redis-server)', function () {
  this.timeout(180000);
  let redis: LocalRedis | undefined;
  let client: Redis | undefined;
  const workers: WorkerProcess[] = [];

  before(async function () {
    ({ redis, client } = await startRedisOrSkip(this));
  });

  after(async () => {
    for (const w of workers) if (w.proc.exitCode === null) w.proc.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    client?.disconnect();
    await redis?.stop();
  });

  it('3 workers, 30 real-time sessions, one SIGKILLed: every final exactly once, equal to the single-process transcript', async () => {
    const reference = await singleProcess();
    expect([...reference.values()].every((t) => t.length > 10)).to.equal(true);
    const params = { maxSessions: 10, checkpointEvery: 4, failoverMs: 2000 };
    workers.push(...(await Promise.all(['w1', 'w2', 'w3'].map((c) => startWorker(redis!.url, c, params)))));

    const dir = mkdtempSync(join(tmpdir(), 'sessions-'));
    const files = Array.from({ length: 30 }, (_, i) => {
      const link = join(dir, `s${String(i).padStart(2, '0')}-${basename(CLIPS[i % 2])}`);
      symlinkSync(CLIPS[i % 2], link);
      return link;
    });
    // Real time, all at once: like 30 live calls.
    const producing = produceFiles({ url: redis!.url, prefix: 'stt', files, pace: 1, concurrency: 30, blockMs: 100 });

    // Once sessions are checkpointed, kill the worker holding the most of them.
    await until('checkpoints', async () => (await client!.keys('stt:ckpt:*')).length >= 12);
    const [, , , consumers] = (await client!.xpending('stt:sessions', 'workers')) as [number, string, string, Array<[string, string]>];
    const [victimName, held] = consumers.sort((a, b) => Number(b[1]) - Number(a[1]))[0];
    const victim = workers.find((w) => w.consumer === victimName)!;
    victim.proc.kill('SIGKILL');
    expect(Number(held)).to.be.greaterThan(0);

    const sessions = await producing;
    expect(sessions).to.have.length(30);
    const results = await collectResults(redis!.url, 'stt', sessions.map((s) => s.session), { timeoutMs: 90000 });
    for (const s of sessions) {
      const r = results.get(s.session)!;
      const clip = basename(s.file).slice(4);
      expect(r.error, s.session).to.equal(undefined);
      expect(r.finals.map((f) => f.text), `${s.session}: finals`).to.deep.equal([reference.get(clip)]);
      expect(r.entries, `${s.session}: entries (final + end)`).to.equal(2);
    }
    // The dead worker's sessions were taken over and resumed from checkpoints, not restarted.
    const survivors = workers.filter((w) => w !== victim);
    const resumed = survivors.map((w) => (w.log().match(/resumed from checkpoint/g) ?? []).length).reduce((a, b) => a + b, 0);
    expect(resumed).to.be.at.least(1);
    expect(resumed).to.be.at.most(Number(held));
    // Nothing left behind but the two streams.
    await until('session keys cleaned up', async () => (await client!.keys('stt:*')).sort().join() === 'stt:results,stt:sessions', 10000);
  });

  it('a worker stopped with SIGTERM hands its sessions back at once; `produce --wait` prints every transcript', async () => {
    const reference = await singleProcess();
    const prefix = 'handback';
    // failoverMs is long: only the hand-back can make the second worker resume these sessions quickly.
    const params = { prefix, checkpointEvery: 3, failoverMs: 60000 };
    const first = await startWorker(redis!.url, 'first', params);
    workers.push(first);
    const cli = join(TOOLKIT_ROOT, 'dist/toolkit/cli/main.js');
    const dir = mkdtempSync(join(tmpdir(), 'handback-'));
    const files = [0, 1, 2, 3].map((i) => {
      const link = join(dir, `${i}-${basename(CLIPS[i % 2])}`);
      symlinkSync(CLIPS[i % 2], link);
      return link;
    });
    const producer = spawn(process.execPath, [cli, 'produce', '--redis', redis!.url, '--prefix', prefix, '--pace', '1', '--wait', '--timeout-s', '60', ...files], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    producer.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const produced = new Promise<number | null>((r) => producer.once('exit', r));
    await until('checkpoints', async () => (await client!.keys(`${prefix}:ckpt:*`)).length >= 2);
    const stoppedAt = Date.now();
    first.proc.kill('SIGTERM');
    expect(await first.exited).to.equal(0);
    expect(first.log()).to.match(/handed \d+ unfinished session\(s\) back to the group/);
    const second = await startWorker(redis!.url, 'second', params);
    workers.push(second);
    expect(await produced).to.equal(0);
    expect(Date.now() - stoppedAt).to.be.below(30000);
    expect(second.log()).to.match(/resumed from checkpoint/);
    const lines = out.trim().split('\n');
    expect(lines).to.have.length(4);
    for (const line of lines) {
      const [session, file, text] = line.split('\t');
      expect(session).to.match(/\S/);
      expect(text, line).to.equal(reference.get(basename(file).slice(2)));
    }
  });

  it('bad Redis URLs and unreachable servers are one-line errors naming them', () => {
    const cli = join(TOOLKIT_ROOT, 'dist/toolkit/cli/main.js');
    const bad = spawnSync(process.execPath, [cli, 'worker', '--redis', 'http://x'], { encoding: 'utf8' });
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/redis-worker\.yaml:\d+:5: src \(RedisAudioSource\): url: 'http:\/\/x' is not a Redis URL \(expected redis:\/\/host:port\[\/db\]\)\n/);
    const down = spawnSync(process.execPath, [cli, 'produce', '--redis', 'redis://127.0.0.1:1', CLIPS[0]], { encoding: 'utf8' });
    expect(down.status).to.equal(1);
    expect(down.stderr.trim()).to.equal('streamsx-stt produce: producer: cannot connect to Redis at redis://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1');
    // An unreadable file is reported and skipped; the others are produced; exit 1.
    const missing = join(mkdtempSync(join(tmpdir(), 'missing-')), 'nope.wav');
    const some = spawnSync(process.execPath, [cli, 'produce', '--redis', redis!.url, '--prefix', 'unreadable', missing, CLIPS[0]], { encoding: 'utf8' });
    expect(some.status).to.equal(1);
    expect(some.stderr).to.contain(`streamsx-stt produce: ${missing}: no such file\n`);
    expect(some.stdout.trim().split('\n').map((l) => l.split('\t')[1])).to.deep.equal([CLIPS[0]]);
  });

  it('a malformed audio entry or a producer gone silent fails that session alone, with an error result naming it', async () => {
    const reference = await singleProcess();
    const prefix = 'malformed';
    const worker = await startWorker(redis!.url, 'm1', { prefix, sessionIdleMs: 1500 });
    workers.push(worker);
    // A hand-written producer: session 'bad' has an entry without samples; 'good' is a shipped clip.
    await client!.xadd(`${prefix}:audio:bad`, '*', 'start', 0, 'rate', 16000, 'pcm', 'not float32');
    await client!.xadd(`${prefix}:audio:bad`, '*', 'end', 1);
    await client!.xadd(`${prefix}:sessions`, '*', 'session', 'bad', 'sampleRate', 16000);
    // 'silent': a producer that died after one entry, without 'end'.
    await client!.xadd(`${prefix}:audio:silent`, '*', 'start', 0, 'rate', 16000, 'f32', Buffer.from(new Float32Array(1600).buffer));
    await client!.xadd(`${prefix}:sessions`, '*', 'session', 'silent', 'sampleRate', 16000);
    const [good] = await produceFiles({ url: redis!.url, prefix, files: [CLIPS[0]] });
    const results = await collectResults(redis!.url, prefix, ['bad', 'silent', good.session], { timeoutMs: 30000 });
    expect(results.get('silent')!.error).to.match(/^session 'silent': no audio for 1500 ms and no end entry \(after entry \d+-\d+\); ended$/);
    expect(await client!.xlen(`${prefix}:sessions`)).to.equal(0); // done sessions leave the sessions stream
    expect(results.get('bad')!.error).to.match(/^session 'bad': audio entry \d+-\d+ has no f32 samples or no valid start$/);
    expect(results.get('bad')!.finals).to.deep.equal([]);
    expect(results.get(good.session)!.finals.map((f) => f.text)).to.deep.equal([reference.get(basename(CLIPS[0]))]);
    worker.proc.kill('SIGTERM');
    expect(await worker.exited).to.equal(0);
  });

  it('fences writes: a worker that lost a session can write neither its results nor its checkpoints', async () => {
    const { writeResult, writeCheckpoint, claimSession, claimOutcome } = await import('../operators/redis/scripts.js');
    const k = { owner: 'fence:owner:x', seen: 'fence:seen:x', results: 'fence:results', ckpt: 'fence:ckpt:x', sessions: 'fence:sessions', audio: 'fence:audio:x' };
    await client!.xadd(k.audio, '*', 'start', 0);
    const entry = (await client!.xadd(k.sessions, '*', 'session', 'x'))!;
    expect(claimOutcome(await claimSession(client!, [k.owner, k.ckpt, k.sessions, k.audio], ['old', entry, 'g']))).to.deep.equal({ claimed: true, checkpoint: undefined });
    expect(await writeResult(client!, [k.owner, k.seen, k.results], ['old', 'u0', 'session', 'x', 'type', 'final', 'text', 'a'])).to.equal(1);
    expect(await writeResult(client!, [k.owner, k.seen, k.results], ['old', 'u0', 'session', 'x', 'type', 'final', 'text', 'a'])).to.equal(0); // duplicate
    await claimSession(client!, [k.owner, k.ckpt, k.sessions, k.audio], ['new', entry, 'g']); // taken over
    expect(await writeResult(client!, [k.owner, k.seen, k.results], ['old', 'u1', 'session', 'x', 'type', 'final', 'text', 'b'])).to.equal(-1);
    expect(await writeCheckpoint(client!, [k.owner, k.ckpt], ['old', 'state'])).to.equal(0);
    expect(await writeCheckpoint(client!, [k.owner, k.ckpt], ['new', 'state'])).to.equal(1);
    expect(await client!.xlen(k.results)).to.equal(1);
    const again = claimOutcome(await claimSession(client!, [k.owner, k.ckpt, k.sessions, k.audio], ['third', entry, 'g']));
    expect(again.claimed && again.checkpoint?.toString()).to.equal('state');
  });

  it('a session completed between XAUTOCLAIM and the claim is not claimed: no owner key, nothing written again', async () => {
    const { claimSession, claimOutcome, completeSession } = await import('../operators/redis/scripts.js');
    const k = { owner: 'race:owner:y', ckpt: 'race:ckpt:y', seen: 'race:seen:y', audio: 'race:audio:y', sessions: 'race:sessions', results: 'race:results' };
    await client!.xgroup('CREATE', k.sessions, 'g', '0', 'MKSTREAM');
    await client!.xadd(k.audio, '*', 'start', 0);
    const entry = (await client!.xadd(k.sessions, '*', 'session', 'y'))!;
    await client!.xreadgroup('GROUP', 'g', 'a', 'STREAMS', k.sessions, '>');
    expect(claimOutcome(await claimSession(client!, [k.owner, k.ckpt, k.sessions, k.audio], ['a', entry, 'g'])).claimed).to.equal(true);
    // Worker b took the entry over (XAUTOCLAIM) just before a completed the session.
    await client!.xautoclaim(k.sessions, 'g', 'b', 0, '0-0');
    expect(await completeSession(client!, [k.owner, k.ckpt, k.seen, k.audio, k.sessions, k.results], ['a', 'g', 'session', 'y', 'type', 'end'])).to.equal(1);
    expect(claimOutcome(await claimSession(client!, [k.owner, k.ckpt, k.sessions, k.audio], ['b', entry, 'g']))).to.deep.equal({ claimed: false, duplicate: false });
    expect(await client!.exists(k.owner)).to.equal(0);
    expect(await client!.xlen(k.results)).to.equal(1);
  });
});
