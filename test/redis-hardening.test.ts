/**
 * Workers against a Redis that misbehaves and producers that lie (issue #16): a Redis restart without
 * persistence, a hostile `start` jump, NaN/Inf, huge and malformed f32 fields, a session announced
 * twice, and a Redis at maxmemory. Each runs real worker processes on the test's own redis-server;
 * without redis-server the suite is skipped, and says so.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { basename, join } from 'node:path';
import { lastValueFrom, of, toArray } from 'rxjs';
import { collectResults, produceFiles, redisResultSink } from '../operators/redis/index.js';
import { punct, type StreamItem } from '../toolkit/items.js';
import { FlowControl } from '../toolkit/runtime/flow.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { startRedis, startWorker, type LocalRedis, type WorkerProcess } from '../support/redis-local.js';
import { startRedisOrSkip } from './helpers/redis-server.js';
import { readWavMono, sharedTranscript, CLIP } from './helpers/live.js';

const FOX = join(TOOLKIT_ROOT, 'samples/audio/flite-slt-fox.wav');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const f32 = (samples: Float32Array) => Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);

/** Writes a session by hand, as a producer would: audio entries of 1600 samples, end, announcement. */
async function writeSession(client: Redis, prefix: string, id: string, samples: Float32Array, announce = true): Promise<void> {
  for (let at = 0; at < samples.length; at += 1600) {
    await client.xadd(`${prefix}:audio:${id}`, '*', 'start', at, 'rate', 16000, 'f32', f32(samples.subarray(at, at + 1600)));
  }
  await client.xadd(`${prefix}:audio:${id}`, '*', 'end', 1);
  if (announce) await client.xadd(`${prefix}:sessions`, '*', 'session', id, 'sampleRate', 16000);
}

describe('Redis workers under attack (issue #16, own redis-server)', function () {
  this.timeout(120000);
  let redis: LocalRedis | undefined;
  let client: Redis | undefined;
  const workers: WorkerProcess[] = [];
  let clipText = '';

  before(async function () {
    ({ redis, client } = await startRedisOrSkip(this));
    clipText = await sharedTranscript();
    expect(clipText.length).to.be.greaterThan(10);
  });

  after(async () => {
    for (const w of workers) if (w.proc.exitCode === null) w.proc.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    client?.disconnect();
    await redis?.stop();
  });

  async function worker(consumer: string, params: Record<string, string | number>): Promise<WorkerProcess> {
    const w = await startWorker(redis!.url, consumer, params);
    workers.push(w);
    return w;
  }

  it('a hostile start jump (0 -> 4e8) ends that session with an error naming it; a normal session beside it is transcribed', async () => {
    const prefix = 'jump';
    await worker('j1', { prefix });
    const tone = new Float32Array(1600).fill(0.1);
    await client!.xadd(`${prefix}:audio:evil`, '*', 'start', 0, 'rate', 16000, 'f32', f32(tone));
    const bad = await client!.xadd(`${prefix}:audio:evil`, '*', 'start', 4e8, 'rate', 16000, 'f32', f32(tone));
    await client!.xadd(`${prefix}:audio:evil`, '*', 'end', 1);
    await client!.xadd(`${prefix}:sessions`, '*', 'session', 'evil', 'sampleRate', 16000);
    const [good] = await produceFiles({ url: redis!.url, prefix, files: [CLIP] });
    const results = await collectResults(redis!.url, prefix, ['evil', good.session], { timeoutMs: 30000 });
    expect(results.get('evil')!.error).to.equal(`session 'evil': audio entry ${bad} starts at sample 400000000, 24999.9 s after the previous entry's end (more than maxGapSeconds, 10 s)`);
    expect(results.get(good.session)!.finals.map((f) => f.text).join(' ')).to.equal(clipText);
  });

  it('NaN/Inf become 0 and huge values are clipped, as on files; a malformed f32 field is that session\'s error', async () => {
    const prefix = 'values';
    const w = await worker('v1', { prefix });
    const clean = readWavMono(CLIP);
    const hostile = clean.slice();
    const expected = clean.slice();
    for (let i = 500; i < hostile.length; i += 997) {
      const k = (i / 997) % 4 | 0;
      hostile[i] = [NaN, Infinity, -Infinity, 1e30][k];
      expected[i] = [0, 0, 0, 1][k];
    }
    await writeSession(client!, prefix, 'hostile', hostile);
    await writeSession(client!, prefix, 'expected', expected);
    await client!.xadd(`${prefix}:audio:odd`, '*', 'start', 0, 'rate', 16000, 'f32', Buffer.alloc(7));
    await client!.xadd(`${prefix}:audio:odd`, '*', 'end', 1);
    await client!.xadd(`${prefix}:sessions`, '*', 'session', 'odd', 'sampleRate', 16000);
    const results = await collectResults(redis!.url, prefix, ['hostile', 'expected', 'odd'], { timeoutMs: 30000 });
    const expectedText = results.get('expected')!.finals.map((f) => f.text);
    expect(expectedText.join(' ').length).to.be.greaterThan(10);
    expect(results.get('hostile')!.error).to.equal(undefined);
    expect(results.get('hostile')!.finals.map((f) => f.text)).to.deep.equal(expectedText);
    expect(results.get('odd')!.error).to.match(/^session 'odd': audio entry \d+-\d+ has 7 bytes of f32 samples, not a whole number of float32 samples$/);
    expect(w.log()).to.match(/session 'hostile': replaced NaN\/Inf sample\(s\) with 0/);
    expect(w.log()).not.to.match(/retrying/);
  });

  it('a session announced twice (while in progress, and after it is done) is transcribed once: one end, no error', async () => {
    const prefix = 'twice';
    const w = await worker('t1', { prefix, sessionIdleMs: 1500 });
    const samples = readWavMono(FOX);
    await writeSession(client!, prefix, 'dup', samples);
    await client!.xadd(`${prefix}:sessions`, '*', 'session', 'dup', 'sampleRate', 16000); // while in progress
    const first = await collectResults(redis!.url, prefix, ['dup'], { timeoutMs: 30000 });
    expect(first.get('dup')!.ended).to.equal(true);
    await client!.xadd(`${prefix}:sessions`, '*', 'session', 'dup', 'sampleRate', 16000); // after it is done
    await sleep(3000); // longer than sessionIdleMs: a second session would have failed by now
    const all = await collectResults(redis!.url, prefix, ['dup'], { timeoutMs: 5000 });
    const r = all.get('dup')!;
    expect(r.error).to.equal(undefined);
    expect(r.finals.length).to.equal(1);
    expect(r.entries, 'one final and one end').to.equal(2);
    expect(await client!.xlen(`${prefix}:sessions`)).to.equal(0);
    expect(w.log()).to.match(/session 'dup' announced again \(entry \d+-\d+\) while in progress or after it was done; acknowledged and skipped/);
  });

  it('Redis at maxmemory: workers stay up and take no session; once it has room, every session is transcribed once', async () => {
    const prefix = 'oom';
    const produced = await produceFiles({ url: redis!.url, prefix, files: [CLIP, FOX] });
    await client!.config('SET', 'maxmemory', '1');
    try {
      const ws = await Promise.all(['o1', 'o2'].map((c) => worker(c, { prefix, failoverMs: 1000 })));
      await sleep(2500);
      for (const w of ws) {
        expect(w.proc.exitCode, w.log()).to.equal(null);
        expect(w.log()).to.match(/is out of memory \(OOM command not allowed[^)]*\): taking no new sessions until it has room/);
      }
      expect(await client!.xlen(`${prefix}:results`)).to.equal(0);
    } finally {
      await client!.config('SET', 'maxmemory', '0');
    }
    const results = await collectResults(redis!.url, prefix, produced.map((s) => s.session), { timeoutMs: 30000 });
    for (const s of produced) {
      const r = results.get(s.session)!;
      expect(r.error, s.session).to.equal(undefined);
      expect(r.entries, `${s.session}: one final, one end`).to.equal(2);
      if (basename(s.file) === basename(CLIP)) expect(r.finals[0].text).to.equal(clipText);
    }
  });

  it('a result that Redis at maxmemory refuses is retried, holding the flow, and written once it has room: the worker does not stop', async () => {
    const prefix = 'sinkoom';
    await client!.hset(`${prefix}:owner:call`, 'consumer', 'me', 'entry', '0-1');
    const final: StreamItem = { kind: 'transcript', streamId: 'call', text: 'hello there', isFinal: true, confidence: 1, utteranceNumber: 0, startMs: 0, endMs: 900 };
    const flow = new FlowControl();
    const silent = { info: () => undefined, warn: () => undefined, verbose: () => undefined };
    await client!.config('SET', 'maxmemory', '1');
    let settled = false;
    let outcome: Promise<StreamItem[]>;
    try {
      outcome = lastValueFrom(of(final, punct('call')).pipe(redisResultSink({ url: redis!.url, prefix, consumer: 'me' }, { flow, log: silent }), toArray()));
      outcome.then(() => (settled = true), () => (settled = true));
      await sleep(1500);
      expect(settled, 'the sink stopped while Redis was full').to.equal(false);
      expect(flow.pending, 'writes held in the flow control').to.equal(2);
      expect(await client!.xlen(`${prefix}:results`)).to.equal(0);
    } finally {
      await client!.config('SET', 'maxmemory', '0');
    }
    await outcome;
    const results = await collectResults(redis!.url, prefix, ['call'], { timeoutMs: 5000 });
    expect(results.get('call')!.finals.map((f) => f.text)).to.deep.equal(['hello there']);
    expect(results.get('call')!.entries).to.equal(2);
    expect(flow.pending).to.equal(0);
  });

  it('Redis restarted without persistence: the worker recreates its group and transcribes a session produced afterwards', async () => {
    const w = await worker('r1', { failoverMs: 1000 });
    const [before] = await produceFiles({ url: redis!.url, prefix: 'stt', files: [CLIP] });
    expect((await collectResults(redis!.url, 'stt', [before.session], { timeoutMs: 30000 })).get(before.session)!.finals.map((f) => f.text).join(' ')).to.equal(clipText);
    client!.disconnect();
    const port = redis!.port;
    await redis!.stop();
    await sleep(1000);
    redis = await startRedis({ port });
    client = new Redis(redis.url);
    const [after] = await produceFiles({ url: redis.url, prefix: 'stt', files: [CLIP] });
    const results = await collectResults(redis.url, 'stt', [after.session], { timeoutMs: 30000 });
    expect(results.get(after.session)!.finals.map((f) => f.text).join(' ')).to.equal(clipText);
    expect(w.proc.exitCode).to.equal(null);
    expect(w.log()).to.match(/consumer group 'workers' on stt:sessions was gone \(a restart without persistence, FLUSHALL or a failover\?\): recreated it/);
  });
});
