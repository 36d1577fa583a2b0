/** Shared by the live-input tests: the clip, the bundled model, the file graph's transcript, CER. */
import { readWavFile } from '../../support/wav-file.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATORS } from '../../operators/index.js';
import { loadGraphFile } from '../../toolkit/graph/load.js';
import { TOOLKIT_ROOT } from '../../toolkit/paths.js';
import { runPlan } from '../../toolkit/runtime/run.js';

export const MODEL = join(TOOLKIT_ROOT, 'models/stt-en-char-fastconformer-ctc/model.onnx');
export const CLIP = join(TOOLKIT_ROOT, 'samples/audio/librivox-0880.wav');

/** The clip's samples as floats (one WAV reader for tests and benches: support/wav-file.ts). */
export function readWavMono(path: string): Float32Array {
  return readWavFile(path).samples;
}

const fileTranscripts = new Map<string, Promise<string>>();

/** The final transcript of CLIP by graphs/onnx-stt.yaml (the file graph), computed once per run and model. */
export function sharedTranscript(modelParams: Record<string, string> = {}): Promise<string> {
  return fileTranscript(CLIP, modelParams);
}

/** The final transcript of `audio` (any file FileSource reads) by the file graph, computed once per run, file and model. */
export function fileTranscript(audio: string, modelParams: Record<string, string> = {}): Promise<string> {
  const key = JSON.stringify([audio, modelParams]);
  let cached = fileTranscripts.get(key);
  if (cached) return cached;
  cached = (async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'file-graph-')), 'out.jsonl');
    const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs/onnx-stt.yaml'), { registry: OPERATORS, params: { ...modelParams, audio, out, format: 'jsonl' } });
    const silent = { info: () => undefined, warn: () => undefined, verbose: () => undefined };
    await runPlan(plan, { log: silent });
    return readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { isFinal?: boolean; text?: string })
      .filter((r) => r.isFinal && r.text)
      .map((r) => r.text!.trim())
      .join(' ');
  })();
  fileTranscripts.set(key, cached);
  return cached;
}

/** Character error rate: edit distance / reference length (spaces collapsed, case folded). */
export function cer(hyp: string, ref: string): number {
  const norm = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();
  const a = norm(hyp);
  const b = norm(ref);
  if (!b.length) return a.length ? 1 : 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] / b.length;
}
