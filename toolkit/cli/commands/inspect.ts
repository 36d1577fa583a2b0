/** `streamsx-stt inspect <model.onnx>`: what a model is and how OnnxSTT would run it. */
import { formatInspectReport, inspectModelJson } from '../../../operators/onnx-stt/index.js';
import { parseParams, type Command } from '../command.js';

export const inspect: Command = {
  name: 'inspect',
  help: `streamsx-stt inspect <model.onnx> [--json]
  Prints a model's inputs, outputs, metadata and the contract OnnxSTT would use for it.`,
  async run(args, opts) {
    parseParams(opts.param); // inspect takes no --param, but refuses a malformed one as every command does
    if (args.length !== 1) {
      process.stderr.write('usage: streamsx-stt inspect <model.onnx> [--json]\n');
      return 2;
    }
    const report = await inspectModelJson(args[0]);
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatInspectReport(report));
    return 0;
  },
};
