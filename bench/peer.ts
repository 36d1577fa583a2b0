/**
 * bench:peer — the toolkit beside the engines a user would pick instead, in one run:
 *
 *   npm run bench:peer [-- --quick] [-- --reps 3] [-- --streams 16] [-- --model m.onnx --tokens t.txt] [-- --no-pocketsphinx]
 *
 * 1. Same model: the bundled model through sherpa-onnx-node's OnlineRecognizer (NeMo CTC model config,
 *    greedy search) and through the toolkit (Chunker 160 ms -> MelExtractor -> OnnxSTT -> CtcDecoder), both
 *    on in-memory audio with 1 onnxruntime thread: real-time factor of each, one stream and `--streams`
 *    streams (toolkit: interleaved, batched with maxBatch = streams; sherpa: one by one, and with its own
 *    multi-stream `decodeStreams`); ratio = toolkit speed / sherpa speed; transcripts side by side.
 *    The toolkit also runs with the model on a worker thread (OnnxSTT inferenceThread: worker), its input
 *    handed over a block per stream per event-loop turn as a file or live source does, so that the mel
 *    front end on the main thread overlaps the model (on one core for the model, as sherpa's numThreads 1).
 * 2. Same audio: PocketSphinx (Debian pocketsphinx_continuous, en-us model) on the LibriVox clips: time and
 *    WER beside the toolkit's WER.
 * Ends with `RESULT peer single_ratio=... batched16_ratio=... batched16_ratio_worker=...` and `RESULT wer set=librivox ...`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Observable, from, lastValueFrom, toArray } from 'rxjs';
import { chunker } from '../operators/chunker/index.js';
import { ctcDecoder } from '../operators/ctc-decoder/index.js';
import { melExtractor } from '../operators/mel-extractor/index.js';
import { onnxStt } from '../operators/onnx-stt/index.js';
import { punct, type AudioItem, type StreamItem, type TranscriptItem } from '../toolkit/items.js';
import { SHARED_MACHINE_NOTE, bestOf, chooseAudio, flag, fmt, machine, main, num, quick, readWavFile, requireModel, result, table, wer } from './common.js';

interface Clip {
  id: string;
  file: string;
  ref?: string;
  samples: Float32Array;
}

/* sherpa-onnx-node has no TypeScript types: the few calls used here. */
interface SherpaStream {
  acceptWaveform(w: { samples: Float32Array; sampleRate: number }): void;
  inputFinished(): void;
}
interface SherpaRecognizer {
  createStream(): SherpaStream;
  isReady(s: SherpaStream): boolean;
  decode(s: SherpaStream): void;
  decodeStreams(s: SherpaStream[]): void;
  getResult(s: SherpaStream): { text: string };
}

const SR = 16000;
const BLOCK = SR / 10; // 100 ms blocks, as FileSource emits them

main(async () => {
  const m = requireModel('peer');
  const reps = num('reps', quick ? 1 : 7);
  const nStreams = num('streams', quick ? 4 : 16);
  let audio = chooseAudio();
  if (quick) audio = audio.slice(0, 2);
  const clips: Clip[] = audio.map((a, i) => {
    const w = readWavFile(a.file);
    if (w.sampleRate !== SR) throw new Error(`${a.file}: ${w.sampleRate} Hz; this bench takes 16 kHz audio`);
    return { id: `c${i}`, file: a.file, ref: a.ref, samples: w.samples };
  });
  const seconds = (cs: Clip[]) => cs.reduce((s, c) => s + c.samples.length / SR, 0);
  const oneS = seconds(clips);
  const many: Clip[] = Array.from({ length: nStreams }, (_, k) => ({ ...clips[k % clips.length], id: `s${k}` }));
  const manyS = seconds(many);

  // ---- toolkit ----
  const items = (c: Clip): StreamItem[] => {
    const out: StreamItem[] = [];
    for (let p = 0; p < c.samples.length; p += BLOCK) {
      const it: AudioItem = { kind: 'audio', streamId: c.id, samples: c.samples.subarray(p, Math.min(c.samples.length, p + BLOCK)), sampleRate: SR, startSample: p };
      out.push(it);
    }
    out.push(punct(c.id));
    return out;
  };
  const sequential = clips.flatMap(items);
  const lists = many.map(items);
  const interleaved: StreamItem[] = [];
  for (let i = 0; i < Math.max(...lists.map((l) => l.length)); i++) for (const l of lists) if (i < l.length) interleaved.push(l[i]);
  const toolkit = async (input: StreamItem[], maxBatch: number, inferenceThread: 'main' | 'worker' = 'main') => {
    // With the model on a worker thread the source hands over one block per stream per event-loop turn,
    // as FileSource and the live sources do: the mel front end of the next blocks then overlaps the model.
    const source = inferenceThread === 'worker' ? inTurns(input, Math.max(1, maxBatch)) : from(input);
    const out = await lastValueFrom(
      source.pipe(
        chunker({ chunkMs: 160 }),
        melExtractor({ preset: 'nemo-80' }),
        onnxStt({ model: m.model, maxBatch, intraOpThreads: 1, interOpThreads: 1, inferenceThread }),
        ctcDecoder({ tokens: m.tokens, partials: false }),
        toArray(),
      ),
    );
    const texts: Record<string, string> = {};
    for (const it of out) {
      if (it.kind === 'error') throw new Error(`toolkit: ${it.message}`);
      if (it.kind === 'transcript' && (it as TranscriptItem).isFinal) texts[it.streamId] = (it as TranscriptItem).text;
    }
    return texts;
  };

  // ---- sherpa-onnx-node ----
  let sherpaProblem: string | undefined;
  let recognizer: SherpaRecognizer | undefined;
  try {
    const require = createRequire(import.meta.url);
    const sherpa = require('sherpa-onnx-node') as { OnlineRecognizer: new (c: unknown) => SherpaRecognizer };
    recognizer = new sherpa.OnlineRecognizer({
      featConfig: { sampleRate: SR, featureDim: 80 },
      modelConfig: { nemoCtc: { model: m.model }, tokens: m.tokens, numThreads: 1, provider: 'cpu', debug: 0 },
      decodingMethod: 'greedy_search',
    });
  } catch (e) {
    sherpaProblem = e instanceof Error ? e.message : String(e);
  }
  // sherpa decodes whole chunks only: tail padding lets it reach the end of each clip (its examples do the same).
  const tail = new Float32Array(Math.round(0.48 * SR));
  const feed = (r: SherpaRecognizer, c: Clip) => {
    const s = r.createStream();
    s.acceptWaveform({ samples: c.samples, sampleRate: SR });
    s.acceptWaveform({ samples: tail, sampleRate: SR });
    s.inputFinished();
    return s;
  };
  const sherpaOneByOne = (cs: Clip[]) => {
    const r = recognizer!;
    const texts: Record<string, string> = {};
    for (const c of cs) {
      const s = feed(r, c);
      while (r.isReady(s)) r.decode(s);
      texts[c.id] = r.getResult(s).text;
    }
    return texts;
  };
  const sherpaMulti = (cs: Clip[]) => {
    const r = recognizer!;
    const ss = cs.map((c) => feed(r, c));
    for (;;) {
      const ready = ss.filter((s) => r.isReady(s));
      if (!ready.length) break;
      r.decodeStreams(ready);
    }
    const texts: Record<string, string> = {};
    cs.forEach((c, i) => (texts[c.id] = r.getResult(ss[i]).text));
    return texts;
  };

  // Warm-up and transcripts.
  const tkOne = await toolkit(sequential, 1);
  const tkMany = await toolkit(interleaved, nStreams);
  const tkOneW = await toolkit(sequential, 1, 'worker');
  const tkManyW = await toolkit(interleaved, nStreams, 'worker');
  const shOne = recognizer ? sherpaOneByOne(clips) : {};
  if (recognizer) sherpaMulti(many);

  const cases: Array<() => Promise<unknown>> = [
    () => toolkit(sequential, 1),
    () => toolkit(interleaved, nStreams),
    () => toolkit(sequential, 1, 'worker'),
    () => toolkit(interleaved, nStreams, 'worker'),
  ];
  if (recognizer) cases.push(async () => sherpaOneByOne(clips), async () => sherpaOneByOne(many), async () => sherpaMulti(many));
  const t = await bestOf(reps, cases);
  const [tk1, tkN, tk1W, tkNW, sh1, shN, shMulti] = t;

  // ---- PocketSphinx ----
  const ps = flag('no-pocketsphinx') ? undefined : pocketsphinx(clips);

  // ---- report ----
  console.log(`## bench:peer — the toolkit beside sherpa-onnx-node (same model) and PocketSphinx (same audio)\n`);
  console.log(`Machine: ${machine('1 onnxruntime thread for both the toolkit (intraOpThreads 1, interOpThreads 1) and sherpa-onnx-node (numThreads 1)')}.`);
  console.log(
    `Model: ${m.label}. Audio: ${clips.length} LibriVox clip(s), ${fmt(oneS, 1)} s; the ${nStreams}-stream rows use ${nStreams} streams cycling through them (${fmt(manyS, 1)} s in all). ` +
      `In-memory audio for both engines (no file reading timed); best of ${reps} alternating passes.\n`,
  );
  const x = (audioS: number, c?: { wallS: number }) => (c ? fmt(audioS / c.wallS, 1) : 'n/a');
  const rtf = (audioS: number, c?: { wallS: number }) => (c ? fmt(c.wallS / audioS, 4) : 'n/a');
  const cpu = (c?: { cpuS: number }) => (c ? fmt(c.cpuS * 1000, 0) : 'n/a');
  const wallMs = (c?: { wallS: number }) => (c ? fmt(c.wallS * 1000, 0) : 'n/a');
  const rows: Array<Array<string | number>> = [
    ['toolkit, 1 stream (files one after another)', fmt(oneS, 1), wallMs(tk1), cpu(tk1), rtf(oneS, tk1), x(oneS, tk1)],
    [`sherpa-onnx-node, 1 stream (files one after another)`, fmt(oneS, 1), wallMs(sh1), cpu(sh1), rtf(oneS, sh1), x(oneS, sh1)],
    [`toolkit, ${nStreams} streams interleaved, batched (maxBatch ${nStreams})`, fmt(manyS, 1), wallMs(tkN), cpu(tkN), rtf(manyS, tkN), x(manyS, tkN)],
    ['toolkit, model on a worker thread (inferenceThread: worker), 1 stream, fed block by block', fmt(oneS, 1), wallMs(tk1W), cpu(tk1W), rtf(oneS, tk1W), x(oneS, tk1W)],
    [`toolkit, model on a worker thread, ${nStreams} streams batched (maxBatch ${nStreams}), fed a block per stream per turn`, fmt(manyS, 1), wallMs(tkNW), cpu(tkNW), rtf(manyS, tkNW), x(manyS, tkNW)],
    [`sherpa-onnx-node, ${nStreams} streams one by one`, fmt(manyS, 1), wallMs(shN), cpu(shN), rtf(manyS, shN), x(manyS, shN)],
    [`sherpa-onnx-node, ${nStreams} streams with decodeStreams (its own batching)`, fmt(manyS, 1), wallMs(shMulti), cpu(shMulti), rtf(manyS, shMulti), x(manyS, shMulti)],
  ];
  console.log(table(['engine, streams', 'audio s', 'wall ms', 'CPU ms', 'RTF', 'x real time'], rows));
  const single = sh1 ? sh1.wallS / tk1.wallS : NaN;
  const batched = shN ? shN.wallS / tkN.wallS : NaN;
  const batchedVsMulti = shMulti ? shMulti.wallS / tkN.wallS : NaN;
  // On a shared machine the wall clock also counts time the process waited for a core; CPU time does not.
  const singleCpu = sh1 ? sh1.cpuS / tk1.cpuS : NaN;
  const batchedCpu = shN ? shN.cpuS / tkN.cpuS : NaN;
  const singleW = sh1 ? sh1.wallS / tk1W.wallS : NaN;
  const batchedW = shN ? shN.wallS / tkNW.wallS : NaN;
  const batchedWCpu = shN ? shN.cpuS / tkNW.cpuS : NaN;
  console.log(
    `\nRatios (toolkit speed / sherpa-onnx-node speed): 1 stream **${fmt(single)}**; ${nStreams} streams batched vs sherpa one by one **${fmt(batched)}**; ` +
      `vs sherpa decodeStreams ${fmt(batchedVsMulti)}. The same ratios on CPU time (what each engine used of the cores, ` +
      `insensitive to waiting for a core on a busy machine): 1 stream ${fmt(singleCpu)}, ${nStreams} streams ${fmt(batchedCpu)}. ` +
      `With the model on a worker thread (the toolkit then uses a second core for everything but the model): 1 stream **${fmt(singleW)}**, ` +
      `${nStreams} streams batched vs sherpa one by one **${fmt(batchedW)}** (CPU ${fmt(batchedWCpu)}). ${SHARED_MACHINE_NOTE}`,
  );
  if (sherpaProblem) console.log(`\nsherpa-onnx-node could not load the model: ${sherpaProblem}`);

  const werTk = wer(clips.filter((c) => c.ref).map((c) => [c.ref!, tkOne[c.id] ?? '']));
  const werSh = recognizer ? wer(clips.filter((c) => c.ref).map((c) => [c.ref!, shOne[c.id] ?? ''])) : NaN;
  const batchedSame = [tkMany, tkManyW].every((texts) => many.every((c) => texts[c.id] === tkOne[clips[Number(c.id.slice(1)) % clips.length].id])) && clips.every((c) => tkOneW[c.id] === tkOne[c.id]);
  console.log(`\nTranscripts (1 stream; the ${nStreams}-stream batched runs and the worker-thread runs gave ${batchedSame ? 'the same text for every stream' : 'DIFFERENT text for some streams'}):\n`);
  console.log(
    table(
      ['clip', 'reference', 'toolkit', 'sherpa-onnx-node (same model)', ...(ps ? ['PocketSphinx'] : [])],
      clips.map((c) => [c.file.split('/').pop()!.replace('.wav', ''), c.ref ?? '', tkOne[c.id] ?? '', recognizer ? (shOne[c.id] ?? '') : 'n/a', ...(ps ? [ps.texts[c.id] ?? ''] : [])]),
      ['---', '---', '---', '---', ...(ps ? ['---'] : [])],
    ),
  );
  console.log('');
  const psRows: Array<Array<string | number>> = [
    [`toolkit (${m.label}, 1 stream, in-process)`, fmt(werTk, 1), wallMs(tk1), rtf(oneS, tk1)],
    ['sherpa-onnx-node (same model)', fmt(werSh, 1), wallMs(sh1), rtf(oneS, sh1)],
  ];
  if (ps) {
    psRows.push(
      ['PocketSphinx pocketsphinx_continuous (en-us), per-file processes, total', fmt(ps.wer, 1), fmt(ps.totalS * 1000, 0), fmt(ps.totalS / oneS, 4)],
      ['PocketSphinx, minus its start-up (model loading, measured on 0.5 s of silence)', fmt(ps.wer, 1), fmt(ps.decodeS * 1000, 0), fmt(ps.decodeS / oneS, 4)],
    );
  } else console.log('PocketSphinx: skipped (--no-pocketsphinx, or pocketsphinx_continuous not installed: apt-get install pocketsphinx pocketsphinx-en-us).\n');
  console.log(table(['engine', 'WER %', 'wall ms', 'RTF'], psRows));
  console.log(`\nWER: words lower-cased, punctuation removed, against the LibriVox transcription file of pocketsphinx-testdata.\n`);
  result('peer', {
    single_ratio: Number(fmt(single, 3)),
    [`batched${nStreams}_ratio`]: Number(fmt(batched, 3)),
    [`batched${nStreams}_vs_decode_streams`]: Number(fmt(batchedVsMulti, 3)),
    single_ratio_cpu: Number(fmt(singleCpu, 3)),
    [`batched${nStreams}_ratio_cpu`]: Number(fmt(batchedCpu, 3)),
    single_ratio_worker: Number(fmt(singleW, 3)),
    [`batched${nStreams}_ratio_worker`]: Number(fmt(batchedW, 3)),
    [`batched${nStreams}_ratio_worker_cpu`]: Number(fmt(batchedWCpu, 3)),
    toolkit_rtf: Number(fmt(tk1.wallS / oneS, 4)),
    sherpa_rtf: sh1 ? Number(fmt(sh1.wallS / oneS, 4)) : 'n/a',
    threads: 1,
    sherpa: sherpaProblem ? 'load_failed' : 'ok',
  });
  result('wer', {
    set: 'librivox',
    wer: Number(fmt(werTk, 1)),
    sherpa_wer: Number(fmt(werSh, 1)),
    peer_wer: ps ? Number(fmt(ps.wer, 1)) : 'n/a',
    pocketsphinx_s: ps ? Number(fmt(ps.totalS, 2)) : 'n/a',
  });
});

/** `items`, `perTurn` at a time, yielding to the event loop (setImmediate) between turns. */
function inTurns<T>(items: T[], perTurn: number): Observable<T> {
  return new Observable<T>((sub) => {
    let i = 0;
    let timer: ReturnType<typeof setImmediate> | undefined;
    const turn = () => {
      for (const end = Math.min(items.length, i + perTurn); i < end; i++) sub.next(items[i]);
      if (i >= items.length) sub.complete();
      else timer = setImmediate(turn);
    };
    turn();
    return () => clearImmediate(timer);
  });
}

function pocketsphinx(clips: Clip[]): { texts: Record<string, string>; wer: number; totalS: number; decodeS: number } | undefined {
  const bin = ['pocketsphinx_continuous'].find((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0);
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bench-peer-'));
  try {
    const silence = join(dir, 'silence.wav');
    writeFileSync(silence, wav16(new Float32Array(SR / 2)));
    const run = (file: string) => {
      const t0 = performance.now();
      const out = execFileSync(bin, ['-infile', file, '-logfn', '/dev/null'], { encoding: 'utf8', maxBuffer: 1 << 24 });
      return { text: out.trim().split('\n').filter(Boolean).join(' '), s: (performance.now() - t0) / 1000 };
    };
    run(silence); // warm the page cache
    const startup = Math.min(run(silence).s, run(silence).s);
    const texts: Record<string, string> = {};
    let totalS = 0;
    for (const c of clips) {
      if (!existsSync(c.file)) continue;
      const r = run(c.file);
      texts[c.id] = r.text;
      totalS += r.s;
    }
    const w = wer(clips.filter((c) => c.ref).map((c) => [c.ref!, texts[c.id] ?? '']));
    return { texts, wer: w, totalS, decodeS: Math.max(0, totalS - startup * clips.length) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function wav16(x: Float32Array): Buffer {
  const b = Buffer.alloc(44 + x.length * 2);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + x.length * 2, 4);
  b.write('WAVEfmt ', 8, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(SR, 24);
  b.writeUInt32LE(SR * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(x.length * 2, 40);
  for (let i = 0; i < x.length; i++) b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(x[i] * 32767))), 44 + 2 * i);
  return b;
}
