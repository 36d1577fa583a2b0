/** Analysis windows and mel filterbanks (librosa / NeMo conventions), computed once per configuration. */
import type { MelConfig, MelScale, WindowKind } from './config.js';

/** The window of `winLength` samples (torch.hann_window / torchaudio kaldi povey). */
export function makeWindow(kind: WindowKind, winLength: number): Float64Array {
  const w = new Float64Array(winLength);
  const denom = kind === 'hann-periodic' ? winLength : winLength - 1;
  for (let i = 0; i < winLength; i++) {
    const h = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / denom);
    w[i] = kind === 'povey' ? Math.pow(h, 0.85) : h;
  }
  return w;
}

/** The window zero-padded into the middle of the nFft frame, as torch.stft does (left = (nFft - W) >> 1). */
export function paddedWindow(kind: WindowKind, winLength: number, nFft: number): Float64Array {
  const out = new Float64Array(nFft);
  out.set(makeWindow(kind, winLength), (nFft - winLength) >> 1);
  return out;
}

export function hzToMel(f: number, scale: MelScale): number {
  if (scale === 'htk') return 2595 * Math.log10(1 + f / 700);
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return f >= minLogHz ? minLogMel + Math.log(f / minLogHz) / logStep : f / fSp;
}

export function melToHz(m: number, scale: MelScale): number {
  if (scale === 'htk') return 700 * (Math.pow(10, m / 2595) - 1);
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return m >= minLogMel ? minLogHz * Math.exp(logStep * (m - minLogMel)) : fSp * m;
}

/** numpy.linspace(start, stop, num)[i] */
function linspace(start: number, stop: number, num: number, i: number): number {
  if (num === 1) return start;
  if (i === num - 1) return stop;
  return start + i * ((stop - start) / (num - 1));
}

/**
 * librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm) as a dense [nMels x (nFft/2+1)] matrix.
 */
export function melFilterbank(c: Pick<MelConfig, 'sampleRate' | 'nFft' | 'nMels' | 'fMin' | 'fMax' | 'melScale' | 'melNorm'>): Float64Array[] {
  const nBins = (c.nFft >> 1) + 1;
  const fft = new Float64Array(nBins);
  for (let k = 0; k < nBins; k++) fft[k] = linspace(0, c.sampleRate / 2, nBins, k);
  const mLo = hzToMel(c.fMin, c.melScale);
  const mHi = hzToMel(c.fMax, c.melScale);
  const f = new Float64Array(c.nMels + 2);
  for (let i = 0; i < c.nMels + 2; i++) f[i] = melToHz(linspace(mLo, mHi, c.nMels + 2, i), c.melScale);
  const rows: Float64Array[] = [];
  for (let i = 0; i < c.nMels; i++) {
    const row = new Float64Array(nBins);
    const d0 = f[i + 1] - f[i];
    const d1 = f[i + 2] - f[i + 1];
    const enorm = c.melNorm === 'slaney' ? 2 / (f[i + 2] - f[i]) : 1;
    for (let k = 0; k < nBins; k++) {
      const lower = -(f[i] - fft[k]) / d0;
      const upper = (f[i + 2] - fft[k]) / d1;
      row[k] = Math.max(0, Math.min(lower, upper)) * enorm;
    }
    rows.push(row);
  }
  return rows;
}

/** A filterbank stored sparsely: filter i covers bins [start[i], start[i] + len[i]) with weights at offset[i]. */
export interface SparseFilterbank {
  nMels: number;
  start: Int32Array;
  len: Int32Array;
  offset: Int32Array;
  weights: Float64Array;
}

export function sparseFilterbank(rows: Float64Array[]): SparseFilterbank {
  const n = rows.length;
  const start = new Int32Array(n);
  const len = new Int32Array(n);
  const offset = new Int32Array(n);
  const ws: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    let lo = 0;
    while (lo < r.length && r[lo] === 0) lo++;
    let hi = r.length;
    while (hi > lo && r[hi - 1] === 0) hi--;
    start[i] = lo;
    len[i] = hi - lo;
    offset[i] = ws.length;
    for (let k = lo; k < hi; k++) ws.push(r[k]);
  }
  return { nMels: n, start, len, offset, weights: Float64Array.from(ws) };
}
