/** ioredis clients for the Redis operators: one per role, failing with a one-line error naming the URL. */
import { Redis } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export async function connect(url: string, role: string): Promise<Redis> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${role}: '${url}' is not a Redis URL (expected redis://host:port[/db])`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`${role}: '${url}' is not a Redis URL (expected redis://host:port[/db])`);
  }
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, connectionName: role.replace(/\W+/g, '-') });
  // ioredis reconnects on its own; without a listener it prints every attempt's error.
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (e) {
    redis.disconnect();
    throw new Error(`${role}: cannot connect to Redis at ${url}: ${(e as Error).message}`);
  }
  return redis;
}
