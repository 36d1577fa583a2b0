/**
 * bench:scale — Redis scale-out on this machine: throughput (sessions/min) of 1 and 2 worker processes
 * on the same batch of sessions, and the failover delay (a worker SIGKILLed -> its sessions resumed
 * elsewhere from their checkpoints). Starts its own redis-server on a free loopback port.
 *
 *   npm run bench:scale [-- --sessions 24 --failover-ms 2000 --quick]
 */
import { basename, join } from 'node:path';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { collectResults, produceFiles } from '../operators/redis/index.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { fmt, machine, main, num, quick, readWavFile, result, SHARED_MACHINE_NOTE, table } from './common.js';
import { redisServerAvailable, startRedis, startWorker, type WorkerProcess } from '../support/redis-local.js';

const CLIPS = ['flite-slt-fox.wav', 'librivox-0880.wav'].map((f) => join(TOOLKIT_ROOT, 'samples/audio', f));
/** Seconds of audio in one pair of sessions (the two clips). */
const PAIR_SECONDS = CLIPS.reduce((s, f) => {
  const w = readWavFile(f);
  return s + w.samples.length / w.sampleRate;
}, 0);

function sessionFiles(n: number): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'scale-'));
  return Array.from({ length: n }, (_, i) => {
    const link = join(dir, `s${String(i).padStart(3, '0')}-${basename(CLIPS[i % 2])}`);
    symlinkSync(CLIPS[i % 2], link);
    return link;
  });
}

const stopAll = async (ws: WorkerProcess[]) => {
  for (const w of ws) if (w.proc.exitCode === null) w.proc.kill('SIGKILL');
  await Promise.all(ws.map((w) => w.exited));
};

main(async () => {
  if (!redisServerAvailable()) throw new Error('bench:scale needs redis-server (apt-get install redis-server)');
  const sessions = num('sessions', quick ? 4 : 480);
  const failoverMs = num('failover-ms', 2000);
  const redis = await startRedis();
  const client = new Redis(redis.url);
  const rows: Array<Array<string | number>> = [];
  const perMin: number[] = [];
  try {
    // Throughput: the whole batch is queued in Redis first, then the workers start together; the time runs
    // from their start (model loading included, the same for 1 and 2) to the last session's end record.
    for (const n of [1, 2]) {
      const prefix = `scale${n}`;
      const produced = await produceFiles({ url: redis.url, prefix, files: sessionFiles(sessions), concurrency: 8 });
      const t0 = performance.now();
      const ws = await Promise.all(Array.from({ length: n }, (_, i) => startWorker(redis.url, `t${n}-${i}`, { prefix, maxSessions: 16 })));
      const readyS = (performance.now() - t0) / 1000;
      const res = await collectResults(redis.url, prefix, produced.map((x) => x.session), { timeoutMs: 600000 });
      const s = (performance.now() - t0) / 1000;
      await stopAll(ws);
      const ok = [...res.values()].filter((r) => r.finals.length === 1 && r.entries === 2).length;
      perMin.push((sessions / s) * 60);
      rows.push([`${n} worker process${n > 1 ? 'es' : ''}`, sessions, fmt(readyS, 1), fmt(s, 1), fmt((sessions / s) * 60, 0), fmt(((sessions / 2) * PAIR_SECONDS) / s, 1), `${ok}/${sessions}`]);
    }

    // Failover: two workers, live (real-time) sessions; kill the one holding more once checkpoints exist.
    const prefix = 'failover';
    const ws = await Promise.all(['a', 'b'].map((c) => startWorker(redis.url, c, { prefix, maxSessions: 16, checkpointEvery: 5, failoverMs })));
    const live = Math.min(sessions, 16);
    const producing = produceFiles({ url: redis.url, prefix, files: sessionFiles(live), pace: 1, concurrency: live });
    while ((await client.keys(`${prefix}:ckpt:*`)).length < Math.ceil(live / 2)) await new Promise((r) => setTimeout(r, 20));
    const [, , , consumers] = (await client.xpending(`${prefix}:sessions`, 'workers')) as [number, string, string, Array<[string, string]>];
    const [victimName, held] = consumers.sort((x, y) => Number(y[1]) - Number(x[1]))[0];
    const victim = ws.find((w) => w.consumer === victimName)!;
    const survivor = ws.find((w) => w !== victim)!;
    const before = (survivor.log().match(/resumed from checkpoint/g) ?? []).length;
    const killedAt = performance.now();
    victim.proc.kill('SIGKILL');
    while ((survivor.log().match(/resumed from checkpoint/g) ?? []).length === before) await new Promise((r) => setTimeout(r, 5));
    const delayMs = performance.now() - killedAt;
    const produced = await producing;
    const res = await collectResults(redis.url, prefix, produced.map((s) => s.session), { timeoutMs: 120000 });
    await stopAll(ws);
    const ok = [...res.values()].filter((r) => r.finals.length === 1 && r.entries === 2).length;
    const resumed = (survivor.log().match(/resumed from checkpoint/g) ?? []).length - before;

    console.log(`bench:scale — ${machine('OnnxSTT 1 intra-op thread per worker, maxBatch 16')}`);
    console.log(SHARED_MACHINE_NOTE);
    console.log('');
    console.log(table(['throughput', 'sessions', 'workers ready after s', 'wall s (start → last end)', 'sessions/min', 'x real time', 'finals exactly once'], rows));
    console.log('');
    console.log(
      table(
        ['failover', 'live sessions', 'held by the killed worker', 'failoverMs', 'kill -> first resumed (ms)', 'resumed from checkpoint', 'finals exactly once'],
        [['SIGKILL one of 2 workers', live, held, failoverMs, fmt(delayMs, 0), resumed, `${ok}/${live}`]],
      ),
    );
    console.log('');
    result('scale', {
      sessions_per_min_1w: perMin[0],
      sessions_per_min_2w: perMin[1],
      speedup_2w: perMin[1] / perMin[0],
      failover_ms: delayMs,
      failover_setting_ms: failoverMs,
    });
  } finally {
    client.disconnect();
    await redis.stop();
  }
});
