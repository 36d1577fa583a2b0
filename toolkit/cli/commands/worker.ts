/**
 * `streamsx-stt worker`: one half of a Redis scale-out deployment (docs/scaling-out.md); any number of
 * workers, on any number of machines, share one Redis. `produce` is the other half.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_REDIS_URL } from '../../../operators/redis/index.js';
import { consoleLogger } from '../../operator.js';
import { parseParams, UsageError, type Command } from '../command.js';
import { loadCommandGraph } from '../command-graph.js';
import { runWithSignals } from '../run-with-signals.js';

const HELP = `streamsx-stt worker [graph.yaml] [--redis URL] [--param name=value]... [--verbose]
  Runs a scale-out worker (default graph: graphs/redis-worker.yaml): claims sessions from Redis, transcribes
  them, writes each final once to <prefix>:results, checkpoints every N chunks, takes over the sessions of
  workers that died. Start as many as you like, on any machine that reaches the Redis server.
  --redis URL   the Redis server (default ${DEFAULT_REDIS_URL}; the graph's 'redis' parameter)
  On SIGINT/SIGTERM unfinished sessions are handed back to the group (another worker resumes them from
  their checkpoint) and the worker exits 0.`;

export const worker: Command = {
  name: 'worker',
  help: HELP,
  ownArgs: true,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { redis: { type: 'string' }, param: { type: 'string', multiple: true, short: 'p' }, verbose: { type: 'boolean', short: 'v' } },
    });
    const log = consoleLogger(values.verbose ?? false);
    if (positionals.length > 1) {
      log.info(`streamsx-stt: worker takes at most one graph file\n${HELP}`);
      return 2;
    }
    let params: Record<string, string>;
    try {
      params = parseParams(values.param);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      log.info(`streamsx-stt: ${e.message}`);
      return 2;
    }
    if (values.redis) params.redis = values.redis;
    const plan = await loadCommandGraph('worker', positionals[0], 'graphs/redis-worker.yaml', params, 'RedisAudioSource', log);
    if (!plan) return 2;
    try {
      const started = performance.now();
      const { result } = await runWithSignals(plan, { log, what: 'the worker', stopping: 'handing unfinished sessions back and stopping' });
      log.info(`worker: ${result.streamsEnded} session(s) done in ${((performance.now() - started) / 1000).toFixed(1)} s, ${result.errors.length} with errors`);
      return 0;
    } catch (e) {
      process.stderr.write(`streamsx-stt worker: ${(e as Error).message}\n`);
      return 1;
    }
  },
};
