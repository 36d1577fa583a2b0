/** `streamsx-stt validate <graph.yaml>`: every check the loader makes, without running anything. */
import type { Command } from '../command.js';
import { loadGraphArg } from './graph-file.js';

export const validate: Command = {
  name: 'validate',
  help: `streamsx-stt validate <graph.yaml> [--param name=value]...
  Checks the graph without running it: YAML, keys, operator kinds and params, wiring, files, models.`,
  async run(args, opts) {
    const plan = await loadGraphArg('validate', args, opts);
    process.stdout.write(`${args[0]}: ok (${plan.nodes.map((n) => `${n.id}:${n.spec.kind}`).join(' -> ')})\n`);
    return 0;
  },
};
