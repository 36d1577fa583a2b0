/**
 * RedisAudioSource: a worker's input. Claims sessions from the sessions stream's consumer group (new
 * ones with XREADGROUP, those of dead workers with XAUTOCLAIM once idle for `failoverMs`), reads each
 * claimed session's audio stream in order, and every `checkpointEvery` entries places a checkpoint
 * marker in-band (RedisResultSink stores what comes out of the graph). A session claimed with a
 * checkpoint is first restored (a restore marker carrying every operator's state) and replayed from
 * the checkpoint's entry. The session's owner hash fences every write, and a heartbeat keeps the claim.
 */
import { hostname } from 'node:os';
import { Observable } from 'rxjs';
import type { Redis } from 'ioredis';
import type { StreamItem } from '../../toolkit/items.js';
import { punct } from '../../toolkit/items.js';
import type { OperatorContext, SourceSpec } from '../../toolkit/operator.js';
import { decodeCheckpoint } from '../../toolkit/runtime/snapshot.js';
import { connect, DEFAULT_REDIS_URL, redisUrlProblem } from './connection.js';
import { readAudioEntry } from './audio-entry.js';
import { fieldsOf, RedisKeys } from './keys.js';
import { isNoGroup, isOutOfMemory, redisMemory } from './pressure.js';
import { claimOutcome, claimSession, heartbeat } from './scripts.js';

export interface RedisAudioSourceParams {
  url: string;
  prefix: string;
  group: string;
  consumer: string;
  maxSessions: number;
  checkpointEvery: number;
  failoverMs: number;
  blockMs: number;
  idleExitMs: number;
  sessionIdleMs: number;
  maxGapSeconds: number;
}

export const redisParamsSchema = {
  url: { type: 'string', minLength: 1, default: DEFAULT_REDIS_URL, description: 'Redis URL (redis://host:port[/db]).' },
  prefix: { type: 'string', pattern: '^[A-Za-z0-9_.:-]+$', default: 'stt', description: 'Key prefix shared with producers and result consumers.' },
  group: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', default: 'workers', description: 'Consumer group of the workers.' },
  consumer: { type: 'string', default: '', description: "This worker's consumer name, the same in source and sink ('' = <hostname>-<pid>)." },
} as const;

export function consumerName(p: { consumer: string }): string {
  return p.consumer || `${hostname()}-${process.pid}`;
}

interface Session {
  id: string;
  /** The session's entry in the sessions stream (acknowledged when it is done). */
  entry: string;
  /** Last audio entry read. */
  offset: string;
  seq: number;
  sinceCheckpoint: number;
  sampleRate: number;
  /** When its last audio entry arrived (or it was claimed). */
  lastEntryAt: number;
  /** The sample after the last audio entry read (undefined before the first one, and after a restore). */
  nextSample?: number;
  /** NaN/Inf samples replaced by 0 so far (warned once per session). */
  nonFinite: number;
}

const HAND_BACK_IDLE_MS = 2 ** 31 - 1;

export const RedisAudioSource: SourceSpec<RedisAudioSourceParams> = {
  kind: 'RedisAudioSource',
  role: 'source',
  description:
    'Worker input on Redis Streams: claims sessions in a consumer group (failover with XAUTOCLAIM), reads their audio in order, checkpoints every N entries, resumes claimed sessions from their checkpoint.',
  output: 'audio',
  params: {
    type: 'object',
    properties: {
      ...redisParamsSchema,
      maxSessions: { type: 'integer', minimum: 1, default: 16, description: 'Sessions this worker reads at once.' },
      checkpointEvery: { type: 'integer', minimum: 0, default: 25, description: 'Audio entries between checkpoints (0: never; a failover then replays the session from its start).' },
      failoverMs: { type: 'integer', minimum: 100, default: 5000, description: "A session whose worker has not renewed its claim for this long is taken over (the dead worker's)." },
      blockMs: { type: 'integer', minimum: 1, maximum: 10000, default: 200, description: 'Longest wait for new audio in one read.' },
      idleExitMs: { type: 'integer', minimum: 0, default: 0, description: 'End (the worker exits) after this long with no session to work on; 0: run until stopped.' },
      sessionIdleMs: {
        type: 'integer',
        minimum: 0,
        default: 600000,
        description: "A session with no new audio for this long (a producer that died without 'end') fails with an error result and is completed; 0: wait forever.",
      },
      maxGapSeconds: {
        type: 'number',
        minimum: 0,
        default: 10,
        description: "An audio entry whose 'start' is more than this past the end of the previous one ends its session with an error (a hostile or broken producer would make the worker fill the gap with silence).",
      },
    },
  },
  check: (p) => {
    const problem = redisUrlProblem(p.url);
    return problem ? [`url: ${problem}`] : [];
  },
  create: (p, ctx) =>
    new Observable<StreamItem>((dest) => {
      let stopped = false;
      const stop = () => {
        stopped = true;
      };
      ctx.signal?.addEventListener('abort', stop, { once: true });
      run(p, ctx, (item) => dest.next(item), () => stopped).then(
        () => dest.complete(),
        (e: unknown) => dest.error(e),
      );
      return () => {
        stopped = true;
        ctx.signal?.removeEventListener('abort', stop);
      };
    }),
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(p: RedisAudioSourceParams, ctx: OperatorContext, emit: (item: StreamItem) => void, stopped: () => boolean): Promise<void> {
  const keys = new RedisKeys(p.prefix);
  const me = consumerName(p);
  const redis = await connect(p.url, `${ctx.nodeId} (RedisAudioSource)`);
  // Claims are renewed on their own connection and timer: never queued behind a blocking read, nor
  // held up while the graph is busy with a burst (a replay after a takeover).
  const control = await connect(p.url, `${ctx.nodeId} (RedisAudioSource heartbeat)`).catch((e: unknown) => {
    redis.disconnect();
    throw e;
  });
  const active = new Map<string, Session>();
  /** Ended sessions whose results are still being written: their claim is kept until RedisResultSink completes them. */
  const draining = new Map<string, Session>();
  let idleSince = Date.now();
  let lastClaimTry = 0;
  let warnedAt = 0;
  let stopTimer = () => {};
  let claimCursor = '0-0';

  /** Redis memory is shared by this worker's source and sink (pressure.ts). */
  const where = `${p.url} ${p.prefix}`;
  let groupReady = false;
  let warnedFull = false;

  /** Creates the consumer group (at start, and again when it vanished: NOGROUP). */
  const ensureGroup = async () => {
    await redis.xgroup('CREATE', keys.sessions, p.group, '0', 'MKSTREAM').catch((e: Error) => {
      if (!/BUSYGROUP/.test(e.message)) throw e;
    });
    groupReady = true;
  };

  /**
   * The group vanished (Redis restarted without persistence, FLUSHALL, a failover to a replica without
   * it): recreate it and go on. Sessions whose keys vanished with it cannot be finished by anyone (their
   * audio is gone too); their state is dropped here.
   */
  const recoverGroup = async () => {
    await ensureGroup();
    let lost = 0;
    for (const s of [...active.values(), ...draining.values()]) {
      if (await redis.exists(keys.owner(s.id))) continue;
      lost++;
      if (active.delete(s.id)) emit({ kind: 'restore', streamId: s.id, states: {} });
      draining.delete(s.id);
    }
    ctx.log.warn(
      `${ctx.nodeId}: Redis ${p.url}: consumer group '${p.group}' on ${keys.sessions} was gone (a restart without persistence, FLUSHALL or a failover?): recreated it` +
        (lost ? `; ${lost} session(s) in progress lost with Redis' data` : ''),
    );
    claimCursor = '0-0';
  };

  try {
    await ensureGroup().catch((e: unknown) => {
      // A Redis at maxmemory refuses even XGROUP CREATE: wait for it in the loop instead of exiting.
      if (!isOutOfMemory(e)) throw e;
    });
    ctx.log.info(`${ctx.nodeId}: worker '${me}' ready for sessions in ${keys.sessions} on ${p.url}`);

    const start = async (entry: string, flat: Buffer[]) => {
      const f = fieldsOf(flat);
      const id = f.get('session')?.toString();
      if (!id) {
        ctx.log.warn(`${ctx.nodeId}: sessions entry ${entry} has no 'session' field; acknowledged and skipped`);
        await redis.xack(keys.sessions, p.group, entry);
        return;
      }
      // Our own entry, idle too long (a Redis outage, a stalled loop) and handed back to us: keep going as we were.
      if ((active.get(id) ?? draining.get(id))?.entry === entry) return;
      const claimed = claimOutcome(await claimSession(redis, [keys.owner(id), keys.checkpoint(id), keys.sessions, keys.audio(id)], [me, entry, p.group]));
      if (!claimed.claimed) {
        // Otherwise its previous holder completed it just now.
        if (claimed.duplicate) ctx.log.warn(`${ctx.nodeId}: session '${id}' announced again (entry ${entry}) while in progress or after it was done; acknowledged and skipped`);
        return;
      }
      const ckpt = claimed.checkpoint;
      const s: Session = {
        id,
        entry,
        offset: '0-0',
        seq: 0,
        sinceCheckpoint: 0,
        sampleRate: Number(f.get('sampleRate')?.toString() ?? 16000),
        lastEntryAt: Date.now(),
        nonFinite: 0,
      };
      let states: Record<string, Uint8Array> = {};
      if (ckpt) {
        let c;
        try {
          c = decodeCheckpoint(ckpt);
        } catch (e) {
          ctx.log.warn(`${ctx.nodeId}: session '${id}': unreadable checkpoint (${(e as Error).message}); replaying the session from its start`);
        }
        if (c) {
          s.offset = c.position;
          s.seq = c.seq;
          states = c.states;
          ctx.log.info(`${ctx.nodeId}: session '${id}' taken over; resumed from checkpoint ${c.seq} (after entry ${c.position})`);
        }
      }
      // Always: whatever an earlier holder of this id left in this process's operators is replaced.
      emit({ kind: 'restore', streamId: id, states });
      active.set(id, s);
    };

    const claim = async () => {
      const room = p.maxSessions - active.size;
      if (room <= 0) return;
      // Redis is full: a new session's results could not be written; let the ones in progress finish first.
      if (redisMemory.isFull(where)) return;
      // Sessions of workers that stopped renewing their claim come first: they are the oldest.
      // The cursor carries over between polls: XAUTOCLAIM looks at no more than COUNT x 10 pending entries per call.
      const [next, reclaimed] = (await redis.callBuffer('XAUTOCLAIM', keys.sessions, p.group, me, p.failoverMs, claimCursor, 'COUNT', room)) as unknown as [
        Buffer,
        Array<[Buffer, Buffer[]] | null>,
      ];
      claimCursor = next.toString();
      for (const e of reclaimed) if (e && e[1]) await start(e[0].toString(), e[1]);
      const left = p.maxSessions - active.size;
      if (left <= 0) return;
      const fresh = (await redis.callBuffer('XREADGROUP', 'GROUP', p.group, me, 'COUNT', left, 'STREAMS', keys.sessions, '>')) as
        | Array<[Buffer, Array<[Buffer, Buffer[]]>]>
        | null;
      for (const [, entries] of fresh ?? []) for (const [entry, flat] of entries) await start(entry.toString(), flat);
    };

    const beat = async (idleMs = 0) => {
      const all = [...active.values(), ...draining.values()];
      if (!all.length) return;
      const kept = (await heartbeat(control, [keys.sessions, ...all.map((s) => keys.owner(s.id))], [p.group, me, idleMs, ...all.map((s) => s.entry)])) as number[];
      all.forEach((s, i) => {
        if (kept[i]) return;
        if (draining.delete(s.id)) return; // completed by the sink
        if (active.delete(s.id)) {
          ctx.log.warn(`${ctx.nodeId}: session '${s.id}' was taken over by another worker; dropping it here`);
          emit({ kind: 'restore', streamId: s.id, states: {} }); // frees its state in every operator, emits nothing
        }
      });
    };

    /** Sessions whose producer went silent without 'end' fail, so they do not hold a slot forever. */
    const expire = () => {
      if (!p.sessionIdleMs) return;
      const now = Date.now();
      for (const s of [...active.values()]) {
        if (now - s.lastEntryAt < p.sessionIdleMs) continue;
        active.delete(s.id);
        draining.set(s.id, s);
        emit({ kind: 'error', streamId: s.id, operator: ctx.nodeId, message: `session '${s.id}': no audio for ${p.sessionIdleMs} ms and no end entry (after entry ${s.offset}); ended` });
        emit(punct(s.id));
      }
    };

    const read = async () => {
      const ids = [...active.keys()];
      const reply = (await redis.xreadBuffer(
        'COUNT',
        32,
        'BLOCK',
        p.blockMs,
        'STREAMS',
        ...ids.map((id) => keys.audio(id)),
        ...ids.map((id) => active.get(id)!.offset),
      )) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
      for (const [key, entries] of reply ?? []) {
        const id = key.toString().slice(keys.audio('').length);
        const s = active.get(id);
        if (!s) continue;
        if (entries.length) s.lastEntryAt = Date.now();
        for (const [entryId, flat] of entries) {
          s.offset = entryId.toString();
          const f = fieldsOf(flat);
          if (f.has('end')) {
            active.delete(id);
            draining.set(id, s);
            emit(punct(id));
            break;
          }
          const audio = readAudioEntry(f, { defaultRate: s.sampleRate, nextSample: s.nextSample, maxGapSeconds: p.maxGapSeconds });
          if ('problem' in audio) {
            emit({ kind: 'error', streamId: id, operator: ctx.nodeId, message: `session '${id}': audio entry ${s.offset} ${audio.problem}` });
            active.delete(id);
            draining.set(id, s);
            emit(punct(id));
            break;
          }
          if (audio.nonFinite && !s.nonFinite) ctx.log.warn(`${ctx.nodeId}: session '${id}': replaced NaN/Inf sample(s) with 0 (from entry ${s.offset})`);
          s.nonFinite += audio.nonFinite;
          s.nextSample = Math.max(s.nextSample ?? 0, audio.startSample + audio.samples.length);
          emit({ kind: 'audio', streamId: id, samples: audio.samples, sampleRate: audio.sampleRate, startSample: audio.startSample });
          if (p.checkpointEvery > 0 && ++s.sinceCheckpoint >= p.checkpointEvery) {
            s.sinceCheckpoint = 0;
            emit({ kind: 'checkpoint', streamId: id, position: s.offset, seq: ++s.seq, states: {} });
          }
        }
      }
    };

    let beating = false;
    const timer = setInterval(() => {
      if (beating) return;
      beating = true;
      beat()
        .catch((e: unknown) => ctx.log.warn(`${ctx.nodeId}: Redis ${p.url}: cannot renew session claims: ${(e as Error).message}`))
        .finally(() => (beating = false));
    }, p.failoverMs / 4);
    stopTimer = () => clearInterval(timer);

    while (!stopped()) {
      try {
        const now = Date.now();
        if (!groupReady || redisMemory.isFull(where)) {
          // While Redis is full it refuses XGROUP CREATE with OOM: the same call probes for room.
          await ensureGroup();
          redisMemory.room(where);
        }
        if (active.size < p.maxSessions && now - lastClaimTry >= Math.min(100, p.blockMs)) {
          lastClaimTry = now;
          await claim();
        }
        if (active.size) {
          idleSince = Date.now();
          await ctx.flow.ready();
          await read();
          expire();
        } else {
          if (p.idleExitMs > 0 && !draining.size && Date.now() - idleSince >= p.idleExitMs) break;
          await sleep(Math.min(p.blockMs, 100));
        }
        if (warnedFull && !redisMemory.isFull(where)) {
          warnedFull = false;
          ctx.log.info(`${ctx.nodeId}: Redis ${p.url} has room again; taking new sessions`);
        }
      } catch (e) {
        if (stopped()) break;
        if (isNoGroup(e)) {
          await recoverGroup().catch(() => (groupReady = false));
          continue;
        }
        if (isOutOfMemory(e)) {
          redisMemory.full(where);
          if (!warnedFull) {
            warnedFull = true;
            ctx.log.warn(`${ctx.nodeId}: Redis ${p.url} is out of memory (${(e as Error).message.split('\n')[0]}): taking no new sessions until it has room`);
          }
          await sleep(500);
          continue;
        }
        if (Date.now() - warnedAt > 5000) {
          warnedAt = Date.now();
          ctx.log.warn(`${ctx.nodeId}: Redis ${p.url}: ${(e as Error).message}; retrying`);
        }
        await sleep(500);
      }
    }
    stopTimer();
    // Stopped: hand the unfinished sessions back at once (their claim made idle), and drop their state
    // here so that completing the graph does not flush half a session as if it had ended.
    if (active.size) {
      const open = [...active.values()];
      draining.clear();
      await beat(HAND_BACK_IDLE_MS).catch(() => {});
      for (const s of open) emit({ kind: 'restore', streamId: s.id, states: {} });
      ctx.log.info(`${ctx.nodeId}: handed ${open.length} unfinished session(s) back to the group`);
    }
  } finally {
    stopTimer();
    redis.disconnect();
    control.disconnect();
  }
}

