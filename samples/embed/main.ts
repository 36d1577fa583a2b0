/**
 * Embedding the operators in your own program: the README's example, as a file a test runs.
 *
 *   node dist/samples/embed/main.js talk.mp3 calls/          # from the repository (npm run sample:embed -- ...)
 *
 * In your own project, import from 'streamsx-stt' instead of '../../toolkit/index.js'. Asset paths
 * (model, tokens, lm) resolve as in YAML graphs: against the working directory first, then the toolkit's
 * folder, so the bundled model is found from anywhere; audio paths are yours, relative to the working
 * directory.
 */
import { join } from 'node:path';
import { chunker, ctcDecoder, fileSource, melExtractor, onnxStt, TOOLKIT_ROOT, type StreamItem } from '../../toolkit/index.js';

const MODEL_DIR = 'models/stt-en-char-fastconformer-ctc';
const args = process.argv.slice(2);
const files = args.length > 0 ? args : [join(TOOLKIT_ROOT, 'samples/audio/librivox-0880.wav')];

function show(item: StreamItem): void {
  if (item.kind === 'transcript' && item.isFinal) {
    process.stdout.write(`${item.streamId}: ${item.text}\n`);
  } else if (item.kind === 'error') {
    // A file that cannot be read or decoded is an error item for that stream; the others go on.
    process.stderr.write(`${item.message}\n`);
    process.exitCode = 1;
  }
}

fileSource({ files })
  .pipe(
    chunker({ chunkMs: 160 }),
    melExtractor(), // preset nemo-80: the features the bundled (NeMo-style) model expects
    onnxStt({ model: `${MODEL_DIR}/model.onnx` }),
    // Greedy decoding; for the beam search with the bundled LM add
    // { beamWidth: 16, lm: `${MODEL_DIR}/lm.arpa.gz`, lmWeight: 0.1, wordBonus: -1 } (the values tuned for this model).
    ctcDecoder({ tokens: `${MODEL_DIR}/tokens.txt` }),
  )
  .subscribe({
    next: show,
    // Only a broken pipeline (a model that cannot load, say) ends here; per-file problems are items.
    error: (e: unknown) => {
      process.stderr.write(`embed: ${(e as Error).message}\n`);
      process.exitCode = 2;
    },
  });
