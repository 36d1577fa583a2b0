/** What `run` and `validate` share: one graph file, `--param`s and `--max-graph-bytes`, loaded into a plan. */
import { OPERATORS } from '../../../operators/index.js';
import { loadGraphFile, type Plan } from '../../graph/load.js';
import { resolveAsset } from '../../paths.js';
import { parseParams, UsageError, type CommandOptions } from '../command.js';

export async function loadGraphArg(command: string, args: string[], opts: CommandOptions): Promise<Plan> {
  if (args.length !== 1) throw new UsageError(`${command} takes exactly one graph file`);
  const maxBytes = opts['max-graph-bytes'] === undefined ? undefined : Number(opts['max-graph-bytes']);
  if (maxBytes !== undefined && !(maxBytes > 0)) throw new UsageError('--max-graph-bytes must be a positive number');
  return loadGraphFile(resolveAsset(args[0]), { registry: OPERATORS, params: parseParams(opts.param), maxBytes });
}
