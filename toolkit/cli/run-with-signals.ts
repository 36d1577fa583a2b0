/**
 * The run loop of the long-running commands (`run`, `serve`, `worker`): run a plan until it completes or
 * SIGINT/SIGTERM stops it. The first signal aborts the run (sources stop, open streams are flushed or
 * handed back, as each source does on abort) and gives both signals back their default action, so a
 * second one ends the process at once (the shell reports 130/143) even when a blocking write keeps this
 * thread from running handlers.
 */
import type { Plan } from '../graph/load.js';
import type { Logger } from '../operator.js';
import { runPlan, type RunResult } from '../runtime/run.js';
import { untilSettled } from './settled.js';

export interface SignalRunOptions<T> {
  log: Logger;
  /** Names the run in the "stopped before its graph completed" error: 'the run of g.yaml', 'the server'. */
  what: string;
  /** What the first signal does, logged as `<SIGNAL>: <stopping> (send again to exit at once)`. */
  stopping: string;
  /** Runs after the plan completed, while the handlers are still installed (e.g. wait for servers to close). */
  after?: (result: RunResult) => Promise<T>;
}

export interface SignalRun<T> {
  result: RunResult;
  /** The signal that stopped the run, if one did. */
  signal: NodeJS.Signals | undefined;
  after: T | undefined;
}

/** The exit status a process stopped by `sig` reports (128 + the signal's number). */
export function signalExitCode(sig: NodeJS.Signals | undefined): number {
  return sig === 'SIGINT' ? 130 : 143;
}

export async function runWithSignals<T = void>(plan: Plan, opts: SignalRunOptions<T>): Promise<SignalRun<T>> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(signalExitCode(sig));
    // From now on a signal takes its default action: the process ends at once (the shell reports
    // 130/143) even when a blocking write (a stalled pipe) keeps this thread from running handlers.
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    opts.log.info(`${sig}: ${opts.stopping} (send again to exit at once)`);
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await untilSettled(runPlan(plan, { log: opts.log, signal: controller.signal }), opts.what);
    const after = opts.after ? await opts.after(result) : undefined;
    return { result, signal: controller.signal.aborted ? (controller.signal.reason as NodeJS.Signals) : undefined, after };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
