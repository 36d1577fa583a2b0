/**
 * Real-input FFT power spectrum of a power-of-two size n, computed as an n/2-point complex FFT of the
 * even/odd samples packed as (re, im) followed by the usual split step. Radix-4 stages (with one radix-2
 * stage when log2(n/2) is odd); the bit-reversal permutation is folded into the packing, the window
 * multiply too. All tables are precomputed; `power` allocates nothing.
 */
export class RealFft {
  readonly n: number;
  private readonly m: number;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly rev: Uint32Array;
  /** Per radix-4 stage: twiddles w^j, w^2j, w^3j (cos, sin interleaved per j) for j < quarter. */
  private readonly stages: Array<{ len: number; tw: Float64Array }>;
  private readonly firstRadix2: boolean;
  /** Split-step twiddles for k = 0..m: cos(2πk/n), -sin(2πk/n). */
  private readonly splitCos: Float64Array;
  private readonly splitSin: Float64Array;

  constructor(n: number) {
    if (n < 4 || (n & (n - 1)) !== 0) throw new Error(`RealFft: size ${n} is not a power of two >= 4`);
    this.n = n;
    const m = n >> 1;
    this.m = m;
    this.re = new Float64Array(m);
    this.im = new Float64Array(m);
    const bits = Math.round(Math.log2(m));
    this.rev = new Uint32Array(m);
    for (let i = 0; i < m; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
    this.firstRadix2 = bits % 2 === 1;
    this.stages = [];
    for (let len = this.firstRadix2 ? 8 : 4; len <= m; len *= 4) {
      const q = len >> 2;
      const tw = new Float64Array(q * 6);
      for (let j = 0; j < q; j++) {
        for (let p = 1; p <= 3; p++) {
          const a = (-2 * Math.PI * p * j) / len;
          tw[j * 6 + (p - 1) * 2] = Math.cos(a);
          tw[j * 6 + (p - 1) * 2 + 1] = Math.sin(a);
        }
      }
      this.stages.push({ len, tw });
    }
    this.splitCos = new Float64Array(m + 1);
    this.splitSin = new Float64Array(m + 1);
    for (let k = 0; k <= m; k++) {
      this.splitCos[k] = Math.cos((2 * Math.PI * k) / n);
      this.splitSin[k] = -Math.sin((2 * Math.PI * k) / n);
    }
  }

  /** out[k] = |X[k]|^2 for k = 0..n/2, X = DFT of x[xOff + i] * window[i], i < n. */
  power(x: Float64Array, xOff: number, window: Float64Array, out: Float64Array): void {
    const { m, re, im, rev } = this;
    // Pack z[k] = x[2k] + i x[2k+1] (windowed) into bit-reversed positions.
    for (let k = 0, i = xOff; k < m; k++, i += 2) {
      const r = rev[k];
      re[r] = x[i] * window[2 * k];
      im[r] = x[i + 1] * window[2 * k + 1];
    }
    this.complexInPlace();
    // Split step: X[k] = E[k] + W^k O[k].
    const sc = this.splitCos;
    const ss = this.splitSin;
    out[0] = (re[0] + im[0]) * (re[0] + im[0]);
    out[m] = (re[0] - im[0]) * (re[0] - im[0]);
    for (let k = 1; k < m; k++) {
      const ar = re[k];
      const ai = im[k];
      const br = re[m - k];
      const bi = im[m - k];
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai - bi);
      const or = 0.5 * (ai + bi);
      const oi = -0.5 * (ar - br);
      const c = sc[k];
      const s = ss[k];
      const xr = er + c * or - s * oi;
      const xi = ei + c * oi + s * or;
      out[k] = xr * xr + xi * xi;
    }
  }

  /** In-place complex FFT of (re, im), input already in bit-reversed order. */
  private complexInPlace(): void {
    const { m, re, im } = this;
    if (this.firstRadix2) {
      for (let i = 0; i < m; i += 2) {
        const ar = re[i];
        const ai = im[i];
        const br = re[i + 1];
        const bi = im[i + 1];
        re[i] = ar + br;
        im[i] = ai + bi;
        re[i + 1] = ar - br;
        im[i + 1] = ai - bi;
      }
    }
    // Radix-4 DIT stages. With (base-2) bit-reversed input, the four quarters of a length-len block hold
    // the sub-DFTs of the residues 0, 2, 1, 3 (mod 4) of that block's subsequence.
    for (const { len, tw } of this.stages) {
      const q = len >> 2;
      for (let base = 0; base < m; base += len) {
        for (let j = 0; j < q; j++) {
          const t = j * 6;
          const w1r = tw[t];
          const w1i = tw[t + 1];
          const w2r = tw[t + 2];
          const w2i = tw[t + 3];
          const w3r = tw[t + 4];
          const w3i = tw[t + 5];
          const i0 = base + j;
          const i1 = i0 + q;
          const i2 = i1 + q;
          const i3 = i2 + q;
          // Bit-reversed layout: block quarters are the sub-DFTs of residues 0, 2, 1, 3.
          const x0r = re[i0];
          const x0i = im[i0];
          // residue 2 sits in quarter 1: twiddle w^2j
          let yr = re[i1];
          let yi = im[i1];
          const x2r = yr * w2r - yi * w2i;
          const x2i = yr * w2i + yi * w2r;
          // residue 1 sits in quarter 2: twiddle w^j
          yr = re[i2];
          yi = im[i2];
          const x1r = yr * w1r - yi * w1i;
          const x1i = yr * w1i + yi * w1r;
          // residue 3 in quarter 3: twiddle w^3j
          yr = re[i3];
          yi = im[i3];
          const x3r = yr * w3r - yi * w3i;
          const x3i = yr * w3i + yi * w3r;
          const s02r = x0r + x2r;
          const s02i = x0i + x2i;
          const d02r = x0r - x2r;
          const d02i = x0i - x2i;
          const s13r = x1r + x3r;
          const s13i = x1i + x3i;
          const d13r = x1r - x3r;
          const d13i = x1i - x3i;
          // X[j] = s02 + s13; X[j+q] = d02 - i d13; X[j+2q] = s02 - s13; X[j+3q] = d02 + i d13
          re[i0] = s02r + s13r;
          im[i0] = s02i + s13i;
          re[i1] = d02r + d13i;
          im[i1] = d02i - d13r;
          re[i2] = s02r - s13r;
          im[i2] = s02i - s13i;
          re[i3] = d02r - d13i;
          im[i3] = d02i + d13r;
        }
      }
    }
  }
}

/** Reference O(n^2) power spectrum, for tests. */
export function naivePower(x: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) {
    let r = 0;
    let i = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * k * t) / n;
      r += x[t] * Math.cos(a);
      i += x[t] * Math.sin(a);
    }
    out[k] = r * r + i * i;
  }
  return out;
}
