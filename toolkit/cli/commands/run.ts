/** `streamsx-stt run <graph.yaml>`: validate the graph, then run it to completion (or until a signal). */
import { errorText } from '../../items.js';
import type { Command } from '../command.js';
import { runWithSignals, signalExitCode } from '../run-with-signals.js';
import { loadGraphArg } from './graph-file.js';

export const run: Command = {
  name: 'run',
  help: `streamsx-stt run <graph.yaml> [--param name=value]... [--verbose] [--metrics]
  Validates the graph (every problem as file:line:col), then runs it to completion.
  --param name=value   override a graph parameter (repeatable); \${ENV_VAR} references read the environment
  --verbose            say what each operator decided (model contract, window sizes, ...)
  --metrics            print per-run counters and peak memory to stderr at the end
  --max-graph-bytes N  refuse graph files larger than N bytes (default 1048576)`,
  async run(args, opts) {
    const plan = await loadGraphArg('run', args, opts);
    const { log } = opts;
    const started = performance.now();
    const { result, signal } = await runWithSignals(plan, { log, what: `the run of ${args[0]}`, stopping: 'stopping sources and flushing open streams' });
    if (opts.metrics) {
      const seconds = (performance.now() - started) / 1000;
      log.info(`metrics: ${result.items} items, ${result.streamsEnded} streams ended, ${result.errors.length} errors, ${seconds.toFixed(2)} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MB`);
    }
    for (const e of result.errors) process.stderr.write(errorText(e));
    if (signal) return signalExitCode(signal);
    return result.errors.length ? 1 : 0;
  },
};
