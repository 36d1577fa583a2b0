/**
 * bench:overhead — what the toolkit costs over the model itself.
 *
 *   npm run bench:overhead [-- --quick] [-- --reps 5] [-- --model m.onnx --tokens t.txt] [-- --audio a.wav,b.wav]
 *
 * (a) a bare onnxruntime-node loop over precomputed feature windows: one session, the caches fed back,
 *     nothing else (no RxJS, no mel, no decoding);
 * (b) the full YAML graph graphs/onnx-stt.yaml, WAV files to a JSONL transcript file (graph loading,
 *     FileSource, Chunker 160 ms, MelExtractor, OnnxSTT, CtcDecoder, Sink).
 * Same model, same session options (1 intra-op, 1 inter-op thread), same audio; the two run alternately
 * `reps` times and the best of each is compared (the machine is shared). Ends with
 * `RESULT overhead ratio=<b/a wall> cpu_ratio=<b/a CPU> ...`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { from, lastValueFrom, reduce } from 'rxjs';
import { punct, type FeaturesItem, type StreamItem } from '../toolkit/items.js';
import { OPERATORS } from '../operators/index.js';
import { MelStream, MelTables, resolveConfig } from '../operators/mel-extractor/index.js';
import { OnnxSTT, onnxStt, prepareModel, type OnnxSttParams } from '../operators/onnx-stt/index.js';
import { loadGraphFile } from '../toolkit/graph/load.js';
import { validateParams } from '../toolkit/params.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { runPlan } from '../toolkit/runtime/run.js';
import { SHARED_MACHINE_NOTE, bestOf, chooseAudio, fmt, machine, main, num, quick, readWavFile, requireModel, result, table } from './common.js';

interface Prepared {
  windows: Array<{ data: Float32Array; length: number }>;
}

main(async () => {
  const m = requireModel('overhead');
  const reps = num('reps', quick ? 2 : 10);
  let audio = chooseAudio();
  if (quick) audio = audio.slice(0, 1);
  if (!audio.length) throw new Error('no audio: pass --audio a.wav');
  const clips = audio.map((a) => readWavFile(a.file));
  const audioS = clips.reduce((s, c) => s + c.samples.length / c.sampleRate, 0);

  // The model's geometry, as the toolkit detects it (setup only, not timed).
  const params = validateParams(OnnxSTT, { model: m.model }, 'bench') as unknown as OnnxSttParams;
  const model = await prepareModel(params);
  const d = model.detection;
  if (d.contract !== 'nemo-cache-aware') throw new Error(`${m.model}: contract ${d.contract}; this bench is for cache-aware models`);
  const W = d.windowSize!;
  const S = d.chunkShift!;
  const F = d.nFeatures!;
  const ctx = W - S;
  const zeroPad = !/^(first|none|no\b|start)/.test((d.firstWindow ?? '').toLowerCase());
  const n = d.names;
  const [cl, cf, cd] = d.cacheChannelDims!;
  const [tl, td, tk] = d.cacheTimeDims!;

  // Precomputed features -> feature-major windows, exactly the steps OnnxSTT takes.
  const featureStreams: StreamItem[][] = [];
  const prepared: Prepared[] = clips.map((c, k) => {
    const mel = new MelStream(MelTables.for(resolveConfig({ preset: 'nemo-80' })));
    const parts: Float32Array[] = [];
    const sink = (data: Float32Array, nFrames: number) => parts.push(data.slice(0, nFrames * F));
    mel.push(c.samples, sink);
    mel.end(sink);
    const total = parts.reduce((s, p) => s + p.length, 0) / F;
    // The same features as 160 ms items (what MelExtractor emits behind a 160 ms Chunker).
    const items: StreamItem[] = [];
    let t = 0;
    for (const p of parts) {
      for (let q = 0; q < p.length / F; q += 16) {
        const nFrames = Math.min(16, p.length / F - q);
        const it: FeaturesItem = { kind: 'features', streamId: `f${k}`, data: p.subarray(q * F, (q + nFrames) * F), nFeatures: F, nFrames, startFrame: t, frameShiftMs: 10 };
        items.push(it);
        t += nFrames;
      }
    }
    items.push(punct(`f${k}`));
    featureStreams.push(items);
    const pad = zeroPad ? ctx : 0;
    const all = new Float32Array((total + pad) * F);
    let o = pad * F;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    const frames = total + pad;
    const windows: Prepared['windows'] = [];
    let start = 0;
    for (; start + W <= frames; start += S) windows.push({ data: fm(all, start, W, W, F), length: W });
    const rest = frames - start;
    if (rest > ctx) windows.push({ data: fm(all, start, rest, W, F), length: rest });
    return { windows };
  });
  const steps = prepared.reduce((s, p) => s + p.windows.length, 0);

  const session = await ort.InferenceSession.create(m.model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  const bare = async () => {
    for (const p of prepared) {
      let cc: Float32Array = new Float32Array(cl * cf * cd);
      let ct: Float32Array = new Float32Array(tl * td * tk);
      let cLen = 0n;
      for (const w of p.windows) {
        const feeds: Record<string, ort.Tensor> = {
          [n.signal]: new ort.Tensor('float32', w.data, [1, F, W]),
          [n.cacheChannel!]: new ort.Tensor('float32', cc, [1, cl, cf, cd]),
          [n.cacheTime!]: new ort.Tensor('float32', ct, [1, tl, td, tk]),
          [n.cacheChannelLen!]: new ort.Tensor('int64', BigInt64Array.of(cLen), [1]),
        };
        if (n.length) feeds[n.length] = new ort.Tensor('int64', BigInt64Array.of(BigInt(w.length)), [1]);
        const r = await session.run(feeds);
        cc = r[n.cacheChannelNext!].data as Float32Array;
        ct = r[n.cacheTimeNext!].data as Float32Array;
        if (n.cacheChannelLenNext) cLen = (r[n.cacheChannelLenNext].data as BigInt64Array)[0];
      }
    }
  };

  const operatorOnly = () =>
    lastValueFrom(
      from(featureStreams.flat()).pipe(
        onnxStt({ model: m.model }),
        reduce((n, it) => n + (it.kind === 'logprobs' ? it.nFrames : 0), 0),
      ),
    );

  const dir = mkdtempSync(join(tmpdir(), 'bench-overhead-'));
  const out = join(dir, 'out.jsonl');
  const graphFile = join(TOOLKIT_ROOT, 'graphs', 'onnx-stt.yaml');
  const graph = (inferenceThread: 'main' | 'worker', filesAtOnce = 1) => async () => {
    const plan = await loadGraphFile(graphFile, {
      registry: OPERATORS,
      params: { audio: audio.map((a) => a.file), model: m.model, tokens: m.tokens, format: 'jsonl', out, inferenceThread, files: filesAtOnce, maxBatch: filesAtOnce },
    });
    const r = await runPlan(plan, { log: { info: () => {}, warn: () => {}, verbose: () => {} } });
    if (r.errors.length) throw new Error(`graph errors: ${r.errors.map((e) => e.message).join('; ')}`);
  };

  // Warm-up: sessions created, JIT warm.
  await bare();
  await operatorOnly();
  const full = graph('main');
  const fullWorker = graph('worker');
  const allFiles = graph('worker', audio.length);
  await full();
  await fullWorker();
  await allFiles();
  const [a, c, b, w, e] = await bestOf(reps, [bare, operatorOnly, full, fullWorker, allFiles]);
  const finals = readFileSync(out, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { isFinal?: boolean; text?: string })
    .filter((r) => r.isFinal);
  rmSync(dir, { recursive: true, force: true });

  console.log(`## bench:overhead — toolkit graph vs bare onnxruntime-node loop\n`);
  console.log(`Machine: ${machine('onnxruntime intra-op threads 1, inter-op threads 1 (both sides)')}.`);
  console.log(
    `Model: ${m.label} (window ${W} / shift ${S} mel frames). Audio: ${audio.length} file(s), ${fmt(audioS, 1)} s, ${steps} model steps per pass. ` +
      `Best of ${reps} alternating passes.\n`,
  );
  const row = (name: string, c: { wallS: number; cpuS: number }) => [name, fmt(c.wallS * 1000, 1), fmt(c.cpuS * 1000, 1), fmt(audioS / c.wallS, 1), fmt(c.wallS / audioS, 4)];
  console.log(
    table(['run', 'wall ms', 'CPU ms', 'x real time', 'RTF'], [
      row('(a) bare onnxruntime-node loop over precomputed feature windows', a),
      row('(c) the OnnxSTT operator alone (RxJS) over the same features in 160 ms items', c),
      row('(b) graphs/onnx-stt.yaml: WAV -> FileSource -> Chunker -> MelExtractor -> OnnxSTT -> CtcDecoder -> Sink (JSONL file)', b),
      row('(d) the same graph with OnnxSTT inferenceThread: worker (the model on a worker thread)', w),
      row(`(e) the same graph, all ${audio.length} files at once, their windows batched (files ${audio.length}, maxBatch ${audio.length}, worker): not the overhead figure, more work per model call than (a)`, e),
      ['ratio c/a (the operator around the model)', fmt(c.wallS / a.wallS, 3), fmt(c.cpuS / a.cpuS, 3), '', ''],
      ['**ratio b/a** (the whole graph, model on the main thread)', fmt(b.wallS / a.wallS, 3), fmt(b.cpuS / a.cpuS, 3), '', ''],
      ['**ratio d/a** (the whole graph, model on a worker thread)', fmt(w.wallS / a.wallS, 3), fmt(w.cpuS / a.cpuS, 3), '', ''],
      ['ratio e/a (files at once, batched: throughput, not overhead)', fmt(e.wallS / a.wallS, 3), fmt(e.cpuS / a.cpuS, 3), '', ''],
    ]),
  );
  console.log(`\n(b) includes loading and validating the YAML graph, reading the WAV files, mel features, decoding and writing the transcript; (a) only the model steps; (c) isolates the OnnxSTT operator (per-stream state, windowing, tensors, RxJS) from the front end (file reading, resampling, mel) and the decoder. onnxruntime-node 1.30 runs \`session.run\` synchronously on its calling thread: with the model on the main thread (b) everything else in the graph adds to the wall time; on a worker thread (d) it overlaps the model when a second core is free. ${SHARED_MACHINE_NOTE}`);
  console.log(`Transcripts (b): ${finals.length} final(s); first: ${JSON.stringify(finals[0]?.text ?? '')}\n`);
  result('overhead', {
    ratio: Number((b.wallS / a.wallS).toFixed(3)),
    cpu_ratio: Number((b.cpuS / a.cpuS).toFixed(3)),
    operator_ratio: Number((c.wallS / a.wallS).toFixed(3)),
    worker_ratio: Number((w.wallS / a.wallS).toFixed(3)),
    files_at_once_ratio: Number((e.wallS / a.wallS).toFixed(3)),
    bare_ms: Number((a.wallS * 1000).toFixed(1)),
    graph_ms: Number((b.wallS * 1000).toFixed(1)),
    audio_s: Number(audioS.toFixed(2)),
    threads: 1,
  });
  await session.release();
});

/** Time-major frames [start, start+n) of `src` -> feature-major [F, padTo], zero padded. */
function fm(src: Float32Array, start: number, n: number, padTo: number, F: number): Float32Array {
  const out = new Float32Array(F * padTo);
  for (let t = 0; t < n; t++) for (let f = 0; f < F; f++) out[f * padTo + t] = src[(start + t) * F + f];
  return out;
}
