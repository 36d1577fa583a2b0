/**
 * bench:chaos — the Redis scale-out under failures: live (real-time) sessions are produced while
 * workers are SIGKILLed (a supervisor starts a fresh one, as systemd would) and Redis itself is
 * SIGKILLed and restarted (with AOF, appendfsync always: docs/scaling-out.md). Every session must end
 * either transcribed exactly once (its final equal to the single-process transcript) or with an error
 * result; the table lists each one, and any session missing or duplicated fails the run (exit 1).
 *
 *   npm run bench:chaos [-- --sessions 20 --workers 3 --failover-ms 1500 --quick]
 */
import { basename, join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { OPERATORS } from '../operators/index.js';
import { fieldsOf, RedisKeys } from '../operators/redis/keys.js';
import type { StreamItem, TranscriptItem } from '../toolkit/items.js';
import { loadGraphFile } from '../toolkit/graph/load.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { runPlan } from '../toolkit/runtime/run.js';
import { machine, main, num, quick, readWavFile, result, SHARED_MACHINE_NOTE, table } from './common.js';
import { redisServerAvailable, startRedis, startWorker, type LocalRedis, type WorkerProcess } from '../support/redis-local.js';

const CLIPS = ['flite-slt-fox.wav', 'librivox-0880.wav'].map((f) => join(TOOLKIT_ROOT, 'samples/audio', f));
const PREFIX = 'chaos';
const BLOCK = 1600; // 100 ms entries, as `produce` writes them
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The single-process transcripts of the clips (the shipped file graph): what every session must get. */
async function reference(): Promise<Map<string, string>> {
  const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs/onnx-stt.yaml'), { registry: OPERATORS, params: { audio: CLIPS, out: join(mkdtempSync(join(tmpdir(), 'chaos-ref-')), 'o.jsonl') } });
  const items: StreamItem[] = [];
  await runPlan(plan, { collect: items, log: { info: () => undefined, warn: () => undefined, verbose: () => undefined } });
  return new Map(items.filter((i): i is TranscriptItem => i.kind === 'transcript' && i.isFinal).map((t) => [basename(t.streamId), t.text]));
}

/**
 * A client that rides out a Redis restart: commands wait in ioredis' offline queue until it is back
 * (maxRetriesPerRequest null) and are resent if their reply was lost. A resent audio entry repeats its
 * `start`, so the worker drops the repeated samples; a resent announcement is acknowledged as a duplicate.
 */
const patientClient = (url: string) => new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });

interface Tally {
  finals: string[];
  errors: string[];
  ends: number;
}

main(async () => {
  if (!redisServerAvailable()) throw new Error('bench:chaos needs redis-server (apt-get install redis-server)');
  const sessions = num('sessions', 20);
  const workerCount = num('workers', 3);
  const failoverMs = num('failover-ms', 1500);
  const spacingMs = num('spacing-ms', quick ? 150 : 300);
  const keys = new RedisKeys(PREFIX);
  const clips = CLIPS.map((f) => ({ name: basename(f), samples: readWavFile(f).samples }));
  const expected = await reference();

  const t0 = performance.now();
  const at = () => ((performance.now() - t0) / 1000).toFixed(1);
  const events: Array<[string, string]> = [];
  const event = (what: string) => events.push([at(), what]);

  let redis: LocalRedis = await startRedis({ appendonly: true });
  const { port, dir } = redis;
  const producer = patientClient(redis.url);
  const reader = patientClient(redis.url);
  producer.on('error', () => undefined);
  reader.on('error', () => undefined);

  // Workers under a supervisor: whatever ends a worker, a fresh one takes its place.
  const workers: WorkerProcess[] = [];
  let generation = 0;
  let stopping = false;
  const params = { prefix: PREFIX, failoverMs, checkpointEvery: 4, maxSessions: 8 };
  const supervise = (w: WorkerProcess) => {
    void w.exited.then(async (code) => {
      if (stopping) return;
      event(`worker ${w.consumer} exited (${code ?? 'signal'}); supervisor starts a fresh one`);
      for (;;) {
        try {
          const next = await startWorker(redis.url, `w${++generation}`, params);
          workers.push(next);
          supervise(next);
          return;
        } catch (e) {
          if (stopping) return;
          event(`fresh worker failed to start (${(e as Error).message.trim().split('\n').slice(-1)[0]}); trying again`);
          await sleep(500);
        }
      }
    });
  };
  for (let i = 0; i < workerCount; i++) {
    const w = await startWorker(redis.url, `w${++generation}`, params);
    workers.push(w);
    supervise(w);
  }
  event(`${workerCount} workers ready`);

  // Live sessions: each streamed in real time, one started every spacingMs.
  const ids = Array.from({ length: sessions }, (_, i) => `s${String(i).padStart(2, '0')}`);
  const clipOf = (i: number) => clips[i % clips.length];
  const produceOne = async (i: number) => {
    const id = ids[i];
    const { samples } = clipOf(i);
    const started = performance.now();
    for (let k = 0, s = 0; s < samples.length; k++, s += BLOCK) {
      const block = samples.subarray(s, s + BLOCK);
      await producer.xadd(keys.audio(id), '*', 'start', s, 'rate', 16000, 'f32', Buffer.from(block.buffer, block.byteOffset, block.byteLength));
      if (k === 0) await producer.xadd(keys.sessions, '*', 'session', id, 'sampleRate', 16000, 'file', clipOf(i).name);
      const due = ((s + BLOCK) / 16000) * 1000 - (performance.now() - started);
      if (due > 0) await sleep(due);
    }
    await producer.xadd(keys.audio(id), '*', 'end', 1);
  };
  const producing = Promise.all(ids.map(async (_, i) => {
    await sleep(i * spacingMs);
    await produceOne(i);
  }));

  // Results, read through the restarts.
  const tally = new Map<string, Tally>(ids.map((id) => [id, { finals: [], errors: [], ends: 0 }]));
  let readingDone = false;
  const reading = (async () => {
    let offset = '0-0';
    const deadline = Date.now() + 180000;
    while (!readingDone && Date.now() < deadline) {
      const reply = (await reader.xreadBuffer('COUNT', 500, 'BLOCK', 200, 'STREAMS', keys.results, offset)) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
      for (const [, entries] of reply ?? []) {
        for (const [id, flat] of entries) {
          offset = id.toString();
          const f = fieldsOf(flat);
          const t = tally.get(f.get('session')?.toString() ?? '');
          if (!t) continue;
          const type = f.get('type')?.toString();
          if (type === 'final') t.finals.push(f.get('text')?.toString() ?? '');
          else if (type === 'error') t.errors.push(f.get('text')?.toString() ?? '');
          else if (type === 'end') t.ends++;
        }
      }
      if ([...tally.values()].every((t) => t.ends > 0)) {
        await sleep(1000); // anything written twice would arrive now
        if (readingDone) break;
        readingDone = true;
      }
    }
  })();

  // The chaos: kill the worker holding the most sessions, restart Redis, again.
  const busiest = async (): Promise<WorkerProcess | undefined> => {
    const [, , , consumers] = (await producer.xpending(keys.sessions, 'workers')) as [number, string, string, Array<[string, string]> | null];
    const ranked = (consumers ?? []).sort((a, b) => Number(b[1]) - Number(a[1]));
    const live = workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null);
    return live.find((w) => w.consumer === ranked[0]?.[0]) ?? live[0];
  };
  const killWorker = async () => {
    const w = await busiest();
    if (!w) return;
    event(`SIGKILL worker ${w.consumer}`);
    w.proc.kill('SIGKILL');
  };
  const restartRedis = async () => {
    event('SIGKILL redis-server');
    await redis.kill();
    await sleep(300);
    redis = await startRedis({ port, dir, appendonly: true });
    event('redis-server restarted (AOF reloaded)');
  };
  const span = sessions * spacingMs + 3000;
  await sleep(Math.min(2500, span * 0.2));
  await killWorker();
  await sleep(span * 0.2);
  await restartRedis();
  await sleep(span * 0.2);
  await killWorker();
  await sleep(span * 0.15);
  await restartRedis();

  await producing;
  event(`all ${sessions} sessions produced`);
  await reading;
  readingDone = true;
  event('results read');
  stopping = true;
  for (const w of workers) if (w.proc.exitCode === null) w.proc.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));
  producer.disconnect();
  reader.disconnect();
  await redis.stop();

  const rows: Array<Array<string | number>> = [];
  const count = { once: 0, error: 0, wrong: 0, duplicate: 0, missing: 0 };
  ids.forEach((id, i) => {
    const t = tally.get(id)!;
    const want = expected.get(clipOf(i).name)!;
    let outcome: keyof typeof count;
    if (t.ends === 0) outcome = 'missing';
    else if (t.ends > 1 || t.finals.length > 1) outcome = 'duplicate';
    else if (t.errors.length) outcome = 'error';
    else if (t.finals.length === 1 && t.finals[0] === want) outcome = 'once';
    else outcome = 'wrong';
    count[outcome]++;
    const label = { once: 'transcribed exactly once', error: `error result: ${t.errors[0]}`, wrong: 'transcribed, text differs', duplicate: 'DUPLICATED', missing: 'MISSING' }[outcome];
    rows.push([id, clipOf(i).name, label, t.finals.length, t.errors.length, t.ends]);
  });
  const resumed = workers.reduce((n, w) => n + (w.log().match(/resumed from checkpoint/g) ?? []).length, 0);
  const kills = events.filter(([, e]) => e.startsWith('SIGKILL worker')).length;
  const restarts = events.filter(([, e]) => e.startsWith('redis-server restarted')).length;

  console.log(`bench:chaos — ${machine(`${workerCount} workers, OnnxSTT 1 intra-op thread each`)}`);
  console.log(SHARED_MACHINE_NOTE);
  console.log('');
  console.log(table(['t (s)', 'event'], events, ['---:', '---']));
  console.log('');
  console.log(table(['session', 'clip', 'outcome', 'finals', 'errors', 'end records'], rows, ['---', '---', '---', '---:', '---:', '---:']));
  console.log('');
  console.log(
    `${sessions} sessions: ${count.once} transcribed exactly once, ${count.error} ended with an error result, ${count.wrong} with a different text, ` +
      `${count.duplicate} duplicated, ${count.missing} missing; ${kills} worker SIGKILLs, ${restarts} Redis restarts, ${resumed} takeovers resumed from a checkpoint`,
  );
  console.log('');
  result('chaos', {
    sessions,
    transcribed_once: count.once,
    error_results: count.error,
    wrong_text: count.wrong,
    duplicated: count.duplicate,
    missing: count.missing,
    worker_kills: kills,
    redis_restarts: restarts,
    resumed_from_checkpoint: resumed,
  });
  if (count.missing || count.duplicate || count.wrong) process.exit(1); // main() would exit 0
});
