import { Redis } from 'ioredis';
import { redisServerAvailable, startRedis, type LocalRedis } from '../../support/redis-local.js';

/**
 * A `before` hook's body for tests that need a real Redis: starts a private redis-server with a client
 * on it, or skips the suite (with the package to install) where redis-server is absent. CI installs it.
 */
export async function startRedisOrSkip(ctx: Mocha.Context): Promise<{ redis: LocalRedis; client: Redis }> {
  if (!redisServerAvailable()) {
    console.log('      redis-server is not installed (apt-get install redis-server): skipped');
    ctx.skip();
  }
  const redis = await startRedis();
  return { redis, client: new Redis(redis.url) };
}
