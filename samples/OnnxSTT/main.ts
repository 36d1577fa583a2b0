/**
 * The OnnxSTT sample (the TypeScript sibling of the reference toolkit's CppONNX_OnnxSTT): transcribes
 * WAV files chunk by chunk with the bundled cache-aware streaming model, through graphs/onnx-stt.yaml.
 *
 *   npm start                                   # the shipped clips in samples/audio
 *   npm start -- --audio-file call.wav --format jsonl
 *   npm start -- --model-dir models/my-nemo-export --chunk-ms 320
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OPERATORS } from '../../operators/index.js';
import { GraphError } from '../../toolkit/graph/errors.js';
import { loadGraphFile } from '../../toolkit/graph/load.js';
import { consoleLogger } from '../../toolkit/operator.js';
import { TOOLKIT_ROOT } from '../../toolkit/paths.js';
import { runPlan } from '../../toolkit/runtime/run.js';

const { values } = parseArgs({
  options: {
    'audio-file': { type: 'string', multiple: true },
    'model-dir': { type: 'string' },
    'chunk-ms': { type: 'string' },
    format: { type: 'string', default: 'text' },
    verbose: { type: 'boolean', default: false },
  },
});

const params: Record<string, unknown> = { format: values.format };
if (values['audio-file']) params.audio = values['audio-file'].length === 1 ? values['audio-file'][0] : values['audio-file'];
if (values['model-dir']) {
  params.model = join(values['model-dir'], 'model.onnx');
  params.tokens = join(values['model-dir'], 'tokens.txt');
}
if (values['chunk-ms']) params.chunkMs = values['chunk-ms'];

try {
  const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs', 'onnx-stt.yaml'), { registry: OPERATORS, params });
  const started = performance.now();
  const result = await runPlan(plan, { log: consoleLogger(values.verbose) });
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`OnnxSTT sample: ${result.streamsEnded} stream(s) in ${seconds.toFixed(2)} s, ${result.errors.length} error(s)\n`);
  for (const e of result.errors) process.stderr.write(`error: ${e.streamId}: ${e.message}\n`);
  process.exitCode = result.errors.length ? 1 : 0;
} catch (e) {
  process.stderr.write(`${e instanceof GraphError ? e.message : `OnnxSTT sample: ${(e as Error).message}`}\n`);
  process.exitCode = 2;
}
