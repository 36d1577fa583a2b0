/**
 * `streamsx-stt produce`: streams audio files into Redis as sessions for the workers (`streamsx-stt worker`),
 * one session per file, and with --wait prints their results.
 */
import { parseArgs } from 'node:util';
import { collectResults, DEFAULT_REDIS_URL, produceFiles, resultsTail } from '../../../operators/redis/index.js';
import type { Command } from '../command.js';

const HELP = `streamsx-stt produce [--redis URL] [--prefix stt] [--pace 0] [--concurrency 4] [--wait] [--format text|jsonl] <file.wav | folder/*.wav>...
  Streams audio files into Redis as sessions for the workers, one session per file.
  --pace X         0: as fast as possible (default); 1: real time (as a live call would)
  --concurrency N  files streamed at once (default 4)
  --wait           wait for every session's results and print them (text: 'session<TAB>file<TAB>transcript')
  --timeout-s N    with --wait: give up after N seconds (default 600); exit 1 if results are missing`;

export const produce: Command = {
  name: 'produce',
  help: HELP,
  ownArgs: true,
  run: (args) => produceCommand(args),
};

async function produceCommand(args: string[]): Promise<number> {
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
