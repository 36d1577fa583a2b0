/** ioredis clients for the Redis operators: one per role, failing with a one-line error naming the URL. */
import { Redis } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The problem with a Redis URL, or undefined when it is one. */
export function redisUrlProblem(url: string): string | undefined {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')) {
    return `'${url}' is not a Redis URL (expected redis://host:port[/db])`;
  }
  return undefined;
}

export async function connect(url: string, role: string): Promise<Redis> {
  const problem = redisUrlProblem(url);
  if (problem) throw new Error(`${role}: ${problem}`);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, connectionName: role.replace(/\W+/g, '-') });
  // ioredis reconnects on its own; without a listener it prints every attempt's error. The last one
  // says why a first connection failed (ioredis itself only reports "Connection is closed").
  let lastError: Error | undefined;
  redis.on('error', (e: Error) => (lastError = e));
  try {
    await redis.connect();
  } catch (e) {
    redis.disconnect();
    throw new Error(`${role}: cannot connect to Redis at ${url}: ${(lastError ?? (e as Error)).message}`);
  }
  return redis;
}
