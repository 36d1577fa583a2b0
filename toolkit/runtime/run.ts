import type { Observable } from 'rxjs';
import type { ErrorItem, StreamItem } from '../items.js';
import { consoleLogger, type Logger, type OperatorContext } from '../operator.js';
import { buildGraph } from '../graph/build.js';
import { depthProblem } from '../graph/depth.js';
import type { Plan } from '../graph/load.js';
import { FlowControl } from './flow.js';

export interface RunResult {
  items: number;
  streamsEnded: number;
  errors: ErrorItem[];
}

export interface RunOptions {
  log?: Logger;
  signal?: AbortSignal;
  /** Called with every item the graph's terminal nodes emit. */
  onItem?: (item: StreamItem) => void;
  /** Keep emitted items in memory (for embedding and tests). */
  collect?: StreamItem[];
}

/** Runs a plan to completion. Stream errors are collected, never thrown: other streams go on. */
export function runPlan(plan: Plan, opts: RunOptions = {}): Promise<RunResult> {
  // Plans built in code skip the loader: refuse here too what would overflow the stack.
  const tooDeep = depthProblem(plan.nodes);
  if (tooDeep) return Promise.reject(new Error(`${plan.file}: ${tooDeep.message}`));
  const log = opts.log ?? consoleLogger(false);
  const flow = new FlowControl();
  const context = (nodeId: string): OperatorContext => ({ nodeId, log, flow, signal: opts.signal });
  const graph = buildGraph(plan, context);
  return consume(graph.output$, graph.connect, opts);
}

export function consume(output$: Observable<StreamItem>, connect: () => void, opts: RunOptions): Promise<RunResult> {
  const result: RunResult = { items: 0, streamsEnded: 0, errors: [] };
  return new Promise((resolve, reject) => {
    output$.subscribe({
      next: (item) => {
        result.items++;
        if (item.kind === 'error') result.errors.push(item);
        if (item.kind === 'punct') result.streamsEnded++;
        opts.collect?.push(item);
        opts.onItem?.(item);
      },
      error: reject,
      complete: () => resolve(result),
    });
    connect();
  });
}
