/**
 * Scale-out on Redis Streams (SPL's @parallel + consistent regions, on an existing engine): workers
 * share sessions through a consumer group, checkpoint every operator's state per session, and take over
 * a dead worker's sessions from their last checkpoint. Layout: keys.ts; guide: docs/scaling-out.md.
 */
import { sourceFactory, stageFactory } from '../../toolkit/operator.js';
import { RedisAudioSource } from './audio-source.js';
import { RedisResultSink } from './result-sink.js';

export { RedisAudioSource, consumerName } from './audio-source.js';
export { RedisResultSink } from './result-sink.js';
export { RedisKeys } from './keys.js';
export { DEFAULT_REDIS_URL } from './connection.js';
export { produceFiles, collectResults, resultsTail, type ProducedSession, type SessionResult } from './producer.js';

export const redisAudioSource = sourceFactory(RedisAudioSource);
export const redisResultSink = stageFactory(RedisResultSink);
