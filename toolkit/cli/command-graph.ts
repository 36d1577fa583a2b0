/**
 * What the long-running commands (`serve`, `worker`) share: load their graph (the given file or their
 * default), print graph problems as `file:line:col` lines, and insist on the source kind they drive.
 */
import { OPERATORS } from '../../operators/index.js';
import { GraphError } from '../graph/errors.js';
import { loadGraphFile, type Plan } from '../graph/load.js';
import type { Logger } from '../operator.js';
import { resolveAsset } from '../paths.js';

/** The plan, or undefined after printing why not (exit status 2 for the caller). */
export async function loadCommandGraph(
  command: string,
  file: string | undefined,
  defaultFile: string,
  params: Record<string, string>,
  sourceKind: string,
  log: Logger,
): Promise<Plan | undefined> {
  let plan: Plan;
  try {
    plan = await loadGraphFile(resolveAsset(file ?? defaultFile), { registry: OPERATORS, params });
  } catch (e) {
    if (e instanceof GraphError) {
      process.stderr.write(`${e.message}\n`);
      return undefined;
    }
    throw e;
  }
  if (!plan.nodes.some((n) => n.spec.kind === sourceKind)) {
    log.info(`streamsx-stt: ${file}: ${command} needs a graph with a ${sourceKind} (use 'run' for other graphs)`);
    return undefined;
  }
  return plan;
}
