/**
 * bench:vad — Silero VAD speed and the compute dropNonSpeech saves, on the generated long recording
 * (test/fixtures/utterances/long-recording.wav: about half silence) or --audio FILE.
 *
 * Rows: the Silero model alone (one 32 ms window per call, per-stream state), the VadSegmenter operator
 * (file -> VAD), and VAD -> MelExtractor -> OnnxSTT (bundled model, else the test fixture model) with
 * dropNonSpeech false and true. Prints a table, then
 *   RESULT vad x_realtime=<model alone> op_x_realtime=<operator> windows=<n>
 *   RESULT vad-drop speech_pct=<audio kept> frames_saved_pct=<model frames saved> wall_saved_pct=... cpu_saved_pct=...
 * Options: --audio FILE, --reps N (best of N, default 3; --quick: 1).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { fileSource } from '../operators/file-source/index.js';
import { melExtractor } from '../operators/mel-extractor/index.js';
import { onnxStt } from '../operators/onnx-stt/index.js';
import { vadSegmenter } from '../operators/vad-segmenter/index.js';
import { SileroModel } from '../operators/vad-segmenter/silero.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { BUNDLED_DIR, bestOf, fmt, machine, main, num, opt, quick, readWavFile, result, SHARED_MACHINE_NOTE, table } from './common.js';

main(async () => {
  const audio = opt('audio') ?? join(TOOLKIT_ROOT, 'test/fixtures/utterances/long-recording.wav');
  const reps = quick ? 1 : num('reps', 3);
  const { samples, sampleRate } = readWavFile(audio);
  if (sampleRate !== 16000) throw new Error(`${audio}: bench:vad wants 16 kHz audio (got ${sampleRate} Hz)`);
  const audioS = samples.length / sampleRate;
  const bundled = existsSync(join(BUNDLED_DIR, 'model.onnx'));
  const model = bundled ? join(BUNDLED_DIR, 'model.onnx') : join(TOOLKIT_ROOT, 'test/fixtures/models/cache_aware.onnx');

  const silero = await SileroModel.load();
  let windows = 0;
  const modelAlone = async () => {
    const s = silero.openStream(16000);
    for (let i = 0; i + 512 <= samples.length; i += 512) await s.probability(samples.subarray(i, i + 512));
    windows = s.windows;
  };
  const operator = () => lastValueFrom(fileSource({ files: audio }).pipe(vadSegmenter(), toArray()));
  const counts = { false: { samples: 0, frames: 0 }, true: { samples: 0, frames: 0 } };
  const pipeline = (drop: boolean) => () => {
    const c = counts[String(drop) as 'true' | 'false'];
    c.samples = 0;
    c.frames = 0;
    return lastValueFrom(
      fileSource({ files: audio }).pipe(
        vadSegmenter({ dropNonSpeech: drop }),
        tap((i) => {
          if (i.kind === 'audio') c.samples += i.samples.length;
        }),
        melExtractor(),
        onnxStt({ model }),
        tap((i) => {
          if (i.kind === 'logprobs') c.frames += i.nFrames;
        }),
        toArray(),
      ),
    );
  };
  await modelAlone(); // warm-up (session, code paths)
  await pipeline(true)();
  const [m, op, keep, drop] = await bestOf(reps, [modelAlone, operator, pipeline(false), pipeline(true)]);

  console.log(`bench:vad: ${audio} (${fmt(audioS, 1)} s), best of ${reps}`);
  console.log(machine('onnxruntime intra-op threads 1'));
  console.log(
    table(
      ['what', 'wall s', 'CPU s', 'x real time (wall)', 'audio on', 'model frames'],
      [
        ['Silero model alone', fmt(m.wallS, 3), fmt(m.cpuS, 3), fmt(audioS / m.wallS, 0), '', ''],
        ['VadSegmenter (file -> VAD)', fmt(op.wallS, 3), fmt(op.cpuS, 3), fmt(audioS / op.wallS, 0), '', ''],
        [`VAD -> mel -> OnnxSTT (${bundled ? 'bundled' : 'fixture'} model)`, fmt(keep.wallS, 3), fmt(keep.cpuS, 3), fmt(audioS / keep.wallS, 1), counts.false.samples, counts.false.frames],
        ['same, dropNonSpeech', fmt(drop.wallS, 3), fmt(drop.cpuS, 3), fmt(audioS / drop.wallS, 1), counts.true.samples, counts.true.frames],
      ],
    ),
  );
  console.log(SHARED_MACHINE_NOTE);
  result('vad', { x_realtime: audioS / m.wallS, op_x_realtime: audioS / op.wallS, windows });
  result('vad-drop', {
    speech_pct: (100 * counts.true.samples) / counts.false.samples,
    frames_saved_pct: 100 * (1 - counts.true.frames / counts.false.frames),
    wall_saved_pct: 100 * (1 - drop.wallS / keep.wallS),
    cpu_saved_pct: 100 * (1 - drop.cpuS / keep.cpuS),
  });
});
