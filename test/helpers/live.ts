/** Shared by the live-input tests: the clip, the bundled model, the file graph's transcript, CER. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATORS } from '../../operators/index.js';
import { loadGraphFile } from '../../toolkit/graph/load.js';
import { TOOLKIT_ROOT } from '../../toolkit/paths.js';
import { runPlan } from '../../toolkit/runtime/run.js';

export const MODEL = join(TOOLKIT_ROOT, 'models/stt-en-char-fastconformer-ctc/model.onnx');
export const CLIP = join(TOOLKIT_ROOT, 'samples/audio/librivox-0880.wav');

/** 16-bit PCM mono WAV samples (the shipped clips), as floats. */
export function readWavMono(path: string): Float32Array {
  const buf = readFileSync(path);
  let at = 12;
  let fmtBits = 0;
  let channels = 1;
  while (at + 8 <= buf.length) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(at + 10);
      fmtBits = buf.readUInt16LE(at + 22);
    } else if (id === 'data') {
      if (fmtBits !== 16 || channels !== 1) throw new Error(`${path}: expected 16-bit mono PCM`);
      const n = Math.floor(Math.min(size, buf.length - at - 8) / 2);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = buf.readInt16LE(at + 8 + 2 * i) / 32768;
      return out;
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

const fileTranscripts = new Map<string, Promise<string>>();

/** The final transcript of CLIP by graphs/onnx-stt.yaml (the file graph), computed once per run and model. */
export function sharedTranscript(modelParams: Record<string, string> = {}): Promise<string> {
  const key = JSON.stringify(modelParams);
  let cached = fileTranscripts.get(key);
  if (cached) return cached;
  cached = (async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'file-graph-')), 'out.jsonl');
    const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs/onnx-stt.yaml'), { registry: OPERATORS, params: { ...modelParams, audio: CLIP, out, format: 'jsonl' } });
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
