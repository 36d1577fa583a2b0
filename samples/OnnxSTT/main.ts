/**
 * The OnnxSTT sample (the TypeScript sibling of the reference toolkit's CppONNX_OnnxSTT): transcribes
 * WAV files with a CTC model through graphs/onnx-stt.yaml
 * (FileSource -> Chunker -> MelExtractor -> OnnxSTT -> CtcDecoder -> Sink), one final transcript per file.
 *
 *   npm run sample:onnxstt                                   # the shipped clips in samples/audio (= npm start)
 *   npm run sample:onnxstt -- --audio-file call.wav --audio-file more/ --format jsonl
 *   npm run sample:onnxstt -- --audio-file call.wav --offline          # whole-utterance path
 *   npm run sample:onnxstt -- --model models/my-nemo-export --chunk-ms 320 --verbose
 *
 * `--audio-file` repeats; each is an audio file (WAV, FLAC, Ogg, Opus, MP3, ...), a folder (its audio files, sorted) or a glob; bare arguments
 * count as audio files too. `--model` is a model folder (model.onnx or, alone, model.int8.onnx, + tokens.txt) or a .onnx file
 * (tokens.txt beside it); `--model-dir` is its older name. `--offline` runs OnnxSTT with mode offline:
 * on the folder's `model.offline.onnx` (the offline export of the same weights) when there is one,
 * else on the streaming model itself. Exit status: 0 all files transcribed; 1 some file failed (after
 * every other file's transcript was written); 2 bad usage, an invalid graph or a model that cannot load.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OPERATORS } from '../../operators/index.js';
import { GraphError } from '../../toolkit/graph/errors.js';
import { loadGraphFile } from '../../toolkit/graph/load.js';
import { consoleLogger } from '../../toolkit/operator.js';
import { TOOLKIT_ROOT } from '../../toolkit/paths.js';
import { runPlan } from '../../toolkit/runtime/run.js';
import { decoderStats } from '../../operators/ctc-decoder/index.js';
import { progressLine } from './progress.js';

const USAGE = `usage: npm run sample:onnxstt -- [--audio-file FILE|FOLDER ...] [--model DIR|model.onnx] [--format text|jsonl]
                                 [--offline] [--lm] [--beam N] [--parallel N] [--chunk-ms MS] [--partials] [--verbose] [--quiet]
  --audio-file, -a  audio file (WAV, FLAC, Ogg Vorbis, Opus, MP3; M4A etc. with ffmpeg), folder (its audio files, sorted)
                    or glob; repeat for more (default: samples/audio/*.wav)
  --model, -m       model folder (model.onnx or model.int8.onnx, tokens.txt[, model.offline.onnx]) or a .onnx file (alias: --model-dir)
  --format, -f      text (default) or jsonl (any Sink format: csv, srt, vtt, stt-csv)
  --offline         whole-utterance path: OnnxSTT mode offline, on model.offline.onnx when the folder has it
  --lm              beam search with the model folder's word language model (lm.arpa.gz; --beam 16 unless given)
  --beam N          CtcDecoder prefix beam search with N beams (default 1: greedy)
  --parallel N      transcribe N files at once, their windows batched on a worker thread (throughput for
                    folders; transcripts print as files finish)
  --chunk-ms        Chunker block size in ms (default 160; the transcript does not depend on it)
  --partials        also print partial transcripts (default: one final transcript per file); in text format
                    on a terminal they update one line in place, otherwise each is a line marked (partial)
  --verbose, -v     log the model contract and mode on stderr
  --quiet, -q       no progress line (on a terminal, stderr shows files done, audio seconds, x real time)
exit status: 0 all transcribed, 1 some file failed (the others are complete), 2 bad usage or model`;

function usageError(message: string): never {
  process.stderr.write(`OnnxSTT sample: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      'audio-file': { type: 'string', short: 'a', multiple: true },
      model: { type: 'string', short: 'm' },
      'model-dir': { type: 'string' },
      'chunk-ms': { type: 'string' },
      format: { type: 'string', short: 'f', default: 'text' },
      offline: { type: 'boolean', default: false },
      partials: { type: 'boolean', default: false },
      lm: { type: 'boolean', default: false },
      beam: { type: 'string' },
      parallel: { type: 'string' },
      verbose: { type: 'boolean', short: 'v', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}
try {
  parsed = parse();
} catch (e) {
  usageError((e as Error).message);
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

interface ModelChoice {
  model: string;
  tokens: string;
  mode: 'auto' | 'offline';
  note: string;
}

/** The model file, tokens and OnnxSTT mode for `--model` (folder or .onnx file) and `--offline`. */
function chooseModel(given: string | undefined, offline: boolean): ModelChoice {
  const dir = given ?? join('models', 'stt-en-char-fastconformer-ctc');
  let isFile = /\.onnx$/i.test(dir);
  try {
    isFile = statSync(dir).isFile();
  } catch {
    // Missing: the graph loader reports the model file it cannot find.
  }
  if (isFile) {
    const tokens = join(dirname(dir), 'tokens.txt');
    return { model: dir, tokens, mode: offline ? 'offline' : 'auto', note: offline ? `${basename(dir)} (mode offline)` : basename(dir) };
  }
  const tokens = join(dir, 'tokens.txt');
  // Relative folders are looked up like the graph's asset paths: working directory, then the toolkit's.
  const has = (file: string) => existsSync(join(dir, file)) || existsSync(join(TOOLKIT_ROOT, dir, file));
  // sherpa-onnx's int8 folders hold only model.int8.onnx: take it where there is no model.onnx.
  const main = !has('model.onnx') && has('model.int8.onnx') ? 'model.int8.onnx' : 'model.onnx';
  if (!offline) return { model: join(dir, main), tokens, mode: 'auto', note: main };
  const offlineModel = join(dir, 'model.offline.onnx');
  if (has('model.offline.onnx')) {
    return { model: offlineModel, tokens, mode: 'offline', note: 'model.offline.onnx (the offline export, mode offline)' };
  }
  return { model: join(dir, main), tokens, mode: 'offline', note: `${main} (no model.offline.onnx in the folder: the streaming model, mode offline)` };
}

// `npm run` starts scripts in the package folder: relative paths are meant from where npm was run (INIT_CWD).
const from = process.env.INIT_CWD;
const fromUser = (p: string) => (from && from !== process.cwd() && !isAbsolute(p) ? resolve(from, p) : p);
if (values.model && values['model-dir'] && values.model !== values['model-dir']) usageError('--model and --model-dir name different models (they are the same option)');
const modelArg = values.model ?? values['model-dir'];
const modelGiven = modelArg === undefined ? undefined : fromUser(modelArg);
const audio = [...(values['audio-file'] ?? []), ...positionals].map(fromUser);
const choice = chooseModel(modelGiven, values.offline);

const params: Record<string, unknown> = { format: values.format, partials: values.partials, textPartials: values.partials, mode: choice.mode };
if (audio.length) params.audio = audio.length === 1 ? audio[0] : audio;
if (modelGiven || values.offline) {
  params.model = choice.model;
  params.tokens = choice.tokens;
}
if (values['chunk-ms']) params.chunkMs = values['chunk-ms'];
if (values.beam !== undefined) {
  if (!/^[1-9]\d*$/.test(values.beam)) usageError(`--beam must be a whole number >= 1, got '${values.beam}'`);
  params.beamWidth = values.beam;
}
if (values.parallel !== undefined) {
  if (!/^[1-9]\d*$/.test(values.parallel)) usageError(`--parallel must be a whole number >= 1, got '${values.parallel}'`);
  // Files read at once share model calls on the worker thread (OnnxSTT inferenceThread: worker).
  params.files = values.parallel;
  params.maxBatch = values.parallel;
  params.inferenceThread = 'worker';
}
if (values.lm) {
  const dir = modelGiven && !/\.onnx$/i.test(modelGiven) ? modelGiven : dirname(choice.model);
  params.lm = join(dir, 'lm.arpa.gz');
  params.beamWidth ??= '16';
}

try {
  const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs', 'onnx-stt.yaml'), { registry: OPERATORS, params });
  const log = consoleLogger(values.verbose);
  log.verbose(`OnnxSTT sample: model ${choice.note}: ${plan.nodes.find((n) => n.id === 'stt')?.params.model}`);
  const started = performance.now();
  let filesDone = 0;
  const stopProgress =
    process.stderr.isTTY && !values.quiet ? progressLine(process.stderr, { files: () => filesDone, audioMs: () => decoderStats.audioMs }) : () => undefined;
  const result = await runPlan(plan, {
    log,
    onItem: (item) => {
      if (item.kind === 'punct') filesDone++;
    },
  }).finally(stopProgress);
  const seconds = (performance.now() - started) / 1000;
  const failed = [...new Set(result.errors.map((e) => e.streamId))];
  process.stderr.write(
    `OnnxSTT sample: ${result.streamsEnded} file(s) in ${seconds.toFixed(2)} s, ${failed.length} failed` +
      (failed.length ? ` (${failed.join(', ')}; the errors are above)` : '') +
      '\n',
  );
  process.exitCode = failed.length ? 1 : 0;
} catch (e) {
  process.stderr.write(`${e instanceof GraphError ? e.message : `OnnxSTT sample: ${(e as Error).message}`}\n`);
  process.exitCode = 2;
}
