/**
 * Redis errors a worker outlives instead of exiting on: a server at `maxmemory` (OOM) and a consumer
 * group that vanished (a restart without persistence, FLUSHALL, a failover to a replica without it).
 * The source and the sink of one worker share what they saw through this module, keyed by server and
 * prefix, so that the source takes no new sessions while the sink cannot write their results.
 */

/** Redis refused a write because it reached `maxmemory` (noeviction policy). */
export function isOutOfMemory(e: unknown): boolean {
  return /^OOM\b/.test((e as Error)?.message ?? '');
}

/**
 * An error that says nothing about the write itself, only that Redis could not take it now: out of
 * memory, loading its data after a restart, a replica promoted, or the connection down. Such a write is
 * retried (in order, nothing after it goes first) instead of stopping the worker; a retried write that
 * had in fact been applied is harmless (results are de-duplicated, checkpoints overwritten, a second
 * end is refused by the owner check).
 */
export function isTransient(e: unknown): boolean {
  const err = e as Error & { code?: string };
  if (err?.name === 'MaxRetriesPerRequestError') return true;
  if (/^(OOM|LOADING|BUSY|TRYAGAIN|MASTERDOWN|READONLY|CLUSTERDOWN)\b/.test(err?.message ?? '')) return true;
  return /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT/.test(err?.message ?? '');
}

/** The consumer group (or its stream) is gone from the server. */
export function isNoGroup(e: unknown): boolean {
  return /^NOGROUP\b/.test((e as Error)?.message ?? '');
}

const fullSince = new Map<string, number>();

export const redisMemory = {
  /** Redis answered OOM: until a write succeeds again, no new sessions are taken. */
  full(where: string): void {
    if (!fullSince.has(where)) fullSince.set(where, Date.now());
  },
  /** A write succeeded: Redis has room again. */
  room(where: string): void {
    fullSince.delete(where);
  },
  isFull(where: string): boolean {
    return fullSince.has(where);
  },
};

/** Waits before retrying a refused write: 250 ms, doubling to 5 s. */
export function backoffMs(attempt: number): number {
  return Math.min(5000, 250 * 2 ** Math.min(attempt, 5));
}
