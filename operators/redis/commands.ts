/**
 * `streamsx-stt worker` and `streamsx-stt produce`: the two halves of a Redis scale-out deployment
 * (docs/scaling-out.md). Any number of workers, on any number of machines, share one Redis.
 */
import { parseArgs } from 'node:util';
import { commandExtensions, commandHelp, ownArgsCommands, type ExtensionOptions } from '../../toolkit/cli/extensions.js';
import { consoleLogger } from '../../toolkit/operator.js';
import { DEFAULT_REDIS_URL } from './connection.js';
import { collectResults, produceFiles, resultsTail } from './producer.js';

export const WORKER_HELP = `streamsx-stt worker [graph.yaml] [--redis URL] [--param name=value]... [--verbose]
  Runs a scale-out worker (default graph: graphs/redis-worker.yaml): claims sessions from Redis, transcribes
  them, writes each final once to <prefix>:results, checkpoints every N chunks, takes over the sessions of
  workers that died. Start as many as you like, on any machine that reaches the Redis server.
  --redis URL   the Redis server (default ${DEFAULT_REDIS_URL}; the graph's 'redis' parameter)
  On SIGINT/SIGTERM unfinished sessions are handed back to the group (another worker resumes them from
  their checkpoint) and the worker exits 0.`;

export const PRODUCE_HELP = `streamsx-stt produce [--redis URL] [--prefix stt] [--pace 0] [--concurrency 4] [--wait] [--format text|jsonl] <file.wav | folder/*.wav>...
  Streams audio files into Redis as sessions for the workers, one session per file.
  --pace X         0: as fast as possible (default); 1: real time (as a live call would)
  --concurrency N  files streamed at once (default 4)
  --wait           wait for every session's results and print them (text: 'session<TAB>file<TAB>transcript')
  --timeout-s N    with --wait: give up after N seconds (default 600); exit 1 if results are missing`;

async function worker(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { redis: { type: 'string' }, param: { type: 'string', multiple: true, short: 'p' }, verbose: { type: 'boolean', short: 'v' } },
  });
  const log = consoleLogger(values.verbose ?? false);
  if (positionals.length > 1) {
    log.info(`streamsx-stt: worker takes at most one graph file\n${WORKER_HELP}`);
    return 2;
  }
  const params: Record<string, string> = {};
  for (const pair of values.param ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      log.info(`streamsx-stt: --param expects name=value, got '${pair}'`);
      return 2;
    }
    params[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (values.redis) params.redis = values.redis;
  const { loadCommandGraph } = await import('../../toolkit/cli/command-graph.js');
  const plan = await loadCommandGraph('worker', positionals[0], 'graphs/redis-worker.yaml', params, 'RedisAudioSource', log);
  if (!plan) return 2;
  const { runPlan } = await import('../../toolkit/runtime/run.js');
  const { untilSettled } = await import('../../toolkit/cli/settled.js');
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(sig === 'SIGINT' ? 130 : 143);
    log.info(`${sig}: handing unfinished sessions back and stopping (send again to exit at once)`);
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const started = performance.now();
    const result = await untilSettled(runPlan(plan, { log, signal: controller.signal }), 'the worker');
    log.info(`worker: ${result.streamsEnded} session(s) done in ${((performance.now() - started) / 1000).toFixed(1)} s, ${result.errors.length} with errors`);
    return 0;
  } catch (e) {
    process.stderr.write(`streamsx-stt worker: ${(e as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function produce(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      redis: { type: 'string', default: DEFAULT_REDIS_URL },
      prefix: { type: 'string', default: 'stt' },
      pace: { type: 'string', default: '0' },
      concurrency: { type: 'string', default: '4' },
      wait: { type: 'boolean', default: false },
      format: { type: 'string', default: 'text' },
      'timeout-s': { type: 'string', default: '600' },
    },
  });
  const pace = Number(values.pace);
  const concurrency = Number(values.concurrency);
  const timeoutS = Number(values['timeout-s']);
  const bad = (m: string) => {
    process.stderr.write(`streamsx-stt produce: ${m}\n`);
    return 2;
  };
  if (!positionals.length) return bad('no audio files given');
  if (!(pace >= 0)) return bad(`--pace must be a number >= 0, got '${values.pace}'`);
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) return bad(`--concurrency must be a whole number >= 1, got '${values.concurrency}'`);
  if (!(timeoutS > 0)) return bad(`--timeout-s must be a positive number, got '${values['timeout-s']}'`);
  if (values.format !== 'text' && values.format !== 'jsonl') return bad(`--format must be text or jsonl, got '${values.format}'`);
  try {
    const from = values.wait ? await resultsTail(values.redis, values.prefix) : undefined;
    let unreadable = 0;
    const onError = (m: string) => {
      unreadable++;
      process.stderr.write(`streamsx-stt produce: ${m}\n`);
    };
    const sessions = await produceFiles({ url: values.redis, prefix: values.prefix, files: positionals, pace, concurrency, onError });
    process.stderr.write(`produced ${sessions.length} session(s) into ${values.redis} (${values.prefix}:sessions)\n`);
    if (!values.wait) {
      for (const s of sessions) process.stdout.write(`${s.session}\t${s.file}\n`);
      return unreadable ? 1 : 0;
    }
    const byId = new Map(sessions.map((s) => [s.session, s]));
    const results = await collectResults(values.redis, values.prefix, [...byId.keys()], { from, timeoutMs: timeoutS * 1000 });
    let missing = 0;
    for (const s of sessions) {
      const r = results.get(s.session)!;
      if (values.format === 'jsonl') {
        process.stdout.write(`${JSON.stringify({ session: s.session, file: s.file, finals: r.finals.map((f) => f.json), error: r.error })}\n`);
      } else {
        process.stdout.write(`${s.session}\t${s.file}\t${r.error ? `error: ${r.error}` : r.finals.map((f) => f.text).join(' ')}\n`);
      }
      if (!r.ended) missing++;
    }
    if (missing) process.stderr.write(`${missing} session(s) got no result within ${timeoutS} s (are workers running?)\n`);
    return missing || unreadable || [...results.values()].some((r) => r.error) ? 1 : 0;
  } catch (e) {
    process.stderr.write(`streamsx-stt produce: ${(e as Error).message}\n`);
    return 1;
  }
}

commandExtensions.worker = (args: string[], _opts: ExtensionOptions) => worker(args);
commandExtensions.produce = (args: string[], _opts: ExtensionOptions) => produce(args);
ownArgsCommands.add('worker');
ownArgsCommands.add('produce');
commandHelp.worker = WORKER_HELP;
commandHelp.produce = PRODUCE_HELP;
