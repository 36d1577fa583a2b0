/**
 * Lua scripts: each write a worker makes is fenced by the session's owner hash, so a worker that lost
 * a session (it stalled past the failover timeout and another one took it over) can no longer write
 * its results or checkpoints; and results are de-duplicated by (session, utterance) in the same step.
 */
import type { Redis } from 'ioredis';

type Arg = string | Buffer | number;

/** A script as a function; `binary`: replies as Buffers (ioredis' `<name>Buffer` variant). */
function script(name: string, lua: string, binary = false) {
  const defined = new WeakSet<Redis>();
  return (redis: Redis, keys: string[], args: Arg[]): Promise<unknown> => {
    if (!defined.has(redis)) {
      redis.defineCommand(name, { lua });
      defined.add(redis);
    }
    const call = (redis as unknown as Record<string, (...a: Arg[]) => Promise<unknown>>)[binary ? `${name}Buffer` : name];
    return call.call(redis, keys.length, ...keys, ...args);
  };
}

/**
 * KEYS owner, ckpt, sessions, audio; ARGV consumer, sessions entry id, group -> [1, checkpoint or '']
 * claimed; [0] when the session completed in the meantime (its announcement is gone: its previous
 * holder finished it between our XAUTOCLAIM and this claim), so no owner key is left behind and nothing
 * is written twice; [2] when this announcement is a duplicate: the session is held under another
 * announcement, or its audio stream is gone (it was done already). A duplicate is acknowledged and
 * deleted here, so it never becomes a second session with a second end record.
 */
export const claimSession = script(
  'sttClaimSession',
  `if #redis.call('XRANGE', KEYS[3], ARGV[2], ARGV[2]) == 0 then return {0} end
   local holder = redis.call('HGET', KEYS[1], 'entry')
   if (holder and holder ~= ARGV[2]) or redis.call('EXISTS', KEYS[4]) == 0 then
     redis.call('XACK', KEYS[3], ARGV[3], ARGV[2])
     redis.call('XDEL', KEYS[3], ARGV[2])
     return {2}
   end
   redis.call('HSET', KEYS[1], 'consumer', ARGV[1], 'entry', ARGV[2])
   return {1, redis.call('GET', KEYS[2]) or ''}`,
  true,
);

/** What claimSession returned: gone, a duplicate announcement (acknowledged), or claimed with the checkpoint bytes (undefined: none). */
export function claimOutcome(reply: unknown): { claimed: false; duplicate: boolean } | { claimed: true; checkpoint?: Buffer } {
  const [status, ckpt] = reply as [number, Buffer | undefined];
  if (Number(status) !== 1) return { claimed: false, duplicate: Number(status) === 2 };
  return { claimed: true, checkpoint: ckpt && ckpt.length ? ckpt : undefined };
}

/** KEYS owner, ckpt; ARGV consumer, bytes -> 1 written, 0 not the owner. */
export const writeCheckpoint = script(
  'sttCheckpoint',
  `if redis.call('HGET', KEYS[1], 'consumer') ~= ARGV[1] then return 0 end
   redis.call('SET', KEYS[2], ARGV[2])
   return 1`,
);

/** KEYS owner, seen, results; ARGV consumer, dedupe key ('' = none), fields... -> 1 written, 0 duplicate, -1 not the owner. */
export const writeResult = script(
  'sttResult',
  `if redis.call('HGET', KEYS[1], 'consumer') ~= ARGV[1] then return -1 end
   if ARGV[2] ~= '' and redis.call('HSETNX', KEYS[2], ARGV[2], 1) == 0 then return 0 end
   redis.call('XADD', KEYS[3], '*', unpack(ARGV, 3))
   return 1`,
);

/**
 * KEYS owner, ckpt, seen, audio, sessions, results; ARGV consumer, group, fields of the end record...
 * The session is done: its end record (once), its announcement acknowledged and deleted (the sessions
 * stream holds only live sessions; it must not be trimmed otherwise), its keys deleted.
 * -> 1 done, -1 not the owner.
 */
export const completeSession = script(
  'sttComplete',
  `if redis.call('HGET', KEYS[1], 'consumer') ~= ARGV[1] then return -1 end
   local entry = redis.call('HGET', KEYS[1], 'entry')
   if redis.call('HSETNX', KEYS[3], 'end', 1) == 1 then redis.call('XADD', KEYS[6], '*', unpack(ARGV, 3)) end
   redis.call('XACK', KEYS[5], ARGV[2], entry)
   redis.call('XDEL', KEYS[5], entry)
   redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
   return 1`,
);

/**
 * KEYS sessions, owner_1..owner_n; ARGV group, consumer, idle ms, entry_1..entry_n.
 * For each session this worker still owns: reset its pending entry's idle time (or, with idle > 0, set
 * it, to hand the session back at once). -> per session 1 kept, 0 lost (owner changed or done).
 */
export const heartbeat = script(
  'sttHeartbeat',
  `local out = {}
   for i = 2, #KEYS do
     local entry = ARGV[i + 2]
     if redis.call('HGET', KEYS[i], 'consumer') == ARGV[2] then
       local args = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, entry, 'JUSTID'}
       if tonumber(ARGV[3]) > 0 then args = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, entry, 'IDLE', ARGV[3], 'JUSTID'} end
       local r = redis.call(unpack(args))
       out[i - 1] = (#r > 0) and 1 or 0
     else
       out[i - 1] = 0
     end
   end
   return out`,
);
