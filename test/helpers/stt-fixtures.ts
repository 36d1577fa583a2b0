/** Helpers for the OnnxSTT / CtcDecoder tests: reference arrays, item builders, running a stage. */
import { readFileSync } from 'node:fs';
import { lastValueFrom, from, toArray, type Observable, type OperatorFunction } from 'rxjs';
import type { AudioItem, FeaturesItem, LogprobsItem, StreamItem } from '../../toolkit/items.js';
import type { Logger } from '../../toolkit/operator.js';

export const FIXTURES = 'test/fixtures/models';

export interface RefArray {
  data: Float32Array;
  shape: number[];
}

export function loadRef(name: string): { arrays: Record<string, RefArray>; meta: Record<string, unknown> } {
  const json = JSON.parse(readFileSync(`${FIXTURES}/${name}.ref.json`, 'utf8')) as {
    arrays: Record<string, { offset: number; shape: number[] }>;
  } & Record<string, unknown>;
  const buf = readFileSync(`${FIXTURES}/${name}.ref.bin`);
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const arrays: Record<string, RefArray> = {};
  for (const [k, v] of Object.entries(json.arrays)) {
    const n = v.shape.reduce((a, b) => a * b, 1);
    arrays[k] = { data: all.slice(v.offset, v.offset + n), shape: v.shape };
  }
  return { arrays, meta: json };
}

/** Cuts time-major features into items of `chunk` frames (cycling through the list of sizes). */
export function featureItems(streamId: string, feats: Float32Array, nFeat: number, chunks: number[]): FeaturesItem[] {
  const total = feats.length / nFeat;
  const out: FeaturesItem[] = [];
  let t = 0;
  let k = 0;
  while (t < total) {
    const n = Math.min(chunks[k++ % chunks.length], total - t);
    out.push({
      kind: 'features',
      streamId,
      data: feats.slice(t * nFeat, (t + n) * nFeat),
      nFeatures: nFeat,
      nFrames: n,
      startFrame: t,
      frameShiftMs: 10,
    });
    t += n;
  }
  return out;
}

export function audioItems(streamId: string, samples: Float32Array, chunk: number): AudioItem[] {
  const out: AudioItem[] = [];
  for (let s = 0; s < samples.length; s += chunk) {
    out.push({ kind: 'audio', streamId, samples: samples.slice(s, s + chunk), sampleRate: 16000, startSample: s });
  }
  return out;
}

/** Round-robin interleaving of several streams' item lists. */
export function interleave<T>(lists: T[][]): T[] {
  const out: T[] = [];
  const max = Math.max(...lists.map((l) => l.length));
  for (let i = 0; i < max; i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

export async function runStage(op: OperatorFunction<StreamItem, StreamItem>, items: StreamItem[] | Observable<StreamItem>): Promise<StreamItem[]> {
  const src = Array.isArray(items) ? from(items) : items;
  return lastValueFrom(src.pipe(op, toArray()));
}

/** Concatenates one stream's log-prob frames, checking they are contiguous. */
export function framesOf(items: StreamItem[], streamId: string): { data: Float32Array; nFrames: number; vocab: number } {
  const lp = items.filter((i): i is LogprobsItem => i.kind === 'logprobs' && i.streamId === streamId);
  let n = 0;
  const parts: Float32Array[] = [];
  for (const i of lp) {
    if (i.startFrame !== n) throw new Error(`stream ${streamId}: frames not contiguous (${i.startFrame} after ${n})`);
    n += i.nFrames;
    parts.push(i.data);
  }
  const data = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.length;
  }
  return { data, nFrames: n, vocab: lp[0]?.vocabSize ?? 0 };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function argmaxRows(data: Float32Array, vocab: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < data.length / vocab; r++) {
    let best = 0;
    for (let v = 1; v < vocab; v++) if (data[r * vocab + v] > data[r * vocab + best]) best = v;
    out.push(best);
  }
  return out;
}

export function captureLog(): Logger & { warnings: string[]; verboseLines: string[] } {
  const warnings: string[] = [];
  const verboseLines: string[] = [];
  return {
    warnings,
    verboseLines,
    info: () => {},
    warn: (m) => warnings.push(m),
    verbose: (m) => verboseLines.push(m),
  };
}
