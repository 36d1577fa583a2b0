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
    for (let len = this.firstRadix2 ? 8 : 16; len <= m; len *= 4) {
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
    this.loadFirstStage(x, xOff, window);
    this.complexInPlace();
    // Split step: X[k] = E[k] + W^k O[k], computed for k and m - k together (they share Z[k], Z[m-k]).
    const { m, re, im } = this;
    const sc = this.splitCos;
    const ss = this.splitSin;
    out[0] = (re[0] + im[0]) * (re[0] + im[0]);
    out[m] = (re[0] - im[0]) * (re[0] - im[0]);
    const half = m >> 1;
    for (let k = 1; k <= half; k++) {
      const ar = re[k];
      const ai = im[k];
      const br = re[m - k];
      const bi = im[m - k];
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai - bi);
      const or = 0.5 * (ai + bi);
      const oi = 0.5 * (br - ar);
      const c = sc[k];
      const s = ss[k];
      const A = c * or - s * oi;
      const B = c * oi + s * or;
      // (m - k first: at k = m/2 both are the same bin and the k formula is the exact one)
      let xr = er - A;
      let xi = B - ei;
      out[m - k] = xr * xr + xi * xi;
      xr = er + A;
      xi = ei + B;
      out[k] = xr * xr + xi * xi;
    }
  }

  /**
   * Packs z[k] = x[2k] + i x[2k+1] (windowed) and runs the first stage (radix-4, or radix-2 when log2(m)
   * is odd) straight from the input, writing the stage's output in place order: no separate
   * bit-reversal pass, no twiddles (they are all 1 in the first stage).
   */
  private loadFirstStage(x: Float64Array, xOff: number, w: Float64Array): void {
    const { m, re, im, rev } = this;
    if (this.firstRadix2) {
      // position b, b+1 hold z[i0], z[i0 + m/2] with i0 = rev[b]
      const h = m >> 1;
      for (let b = 0; b < m; b += 2) {
        const i0 = rev[b];
        const p0 = 2 * i0;
        const p1 = 2 * (i0 + h);
        const ar = x[xOff + p0] * w[p0];
        const ai = x[xOff + p0 + 1] * w[p0 + 1];
        const br = x[xOff + p1] * w[p1];
        const bi = x[xOff + p1 + 1] * w[p1 + 1];
        re[b] = ar + br;
        im[b] = ai + bi;
        re[b + 1] = ar - br;
        im[b + 1] = ai - bi;
      }
      return;
    }
    // positions b..b+3 hold z[i0], z[i0 + 2q], z[i0 + q], z[i0 + 3q] with q = m/4, i0 = rev[b]:
    // the length-4 DFT of z[i0 + q*t], t = 0..3.
    const q2 = m >> 1; // x index of z[i + q] is 2i + 2q = 2i + m/2
    for (let b = 0; b < m; b += 4) {
      const p0 = 2 * rev[b];
      const p1 = p0 + q2; // z[i0 + q]
      const p2 = p0 + m; // z[i0 + 2q]
      const p3 = p1 + m; // z[i0 + 3q]
      const x0r = x[xOff + p0] * w[p0];
      const x0i = x[xOff + p0 + 1] * w[p0 + 1];
      const x1r = x[xOff + p1] * w[p1];
      const x1i = x[xOff + p1 + 1] * w[p1 + 1];
      const x2r = x[xOff + p2] * w[p2];
      const x2i = x[xOff + p2 + 1] * w[p2 + 1];
      const x3r = x[xOff + p3] * w[p3];
      const x3i = x[xOff + p3 + 1] * w[p3 + 1];
      const s02r = x0r + x2r;
      const s02i = x0i + x2i;
      const d02r = x0r - x2r;
      const d02i = x0i - x2i;
      const s13r = x1r + x3r;
      const s13i = x1i + x3i;
      const d13r = x1r - x3r;
      const d13i = x1i - x3i;
      re[b] = s02r + s13r;
      im[b] = s02i + s13i;
      re[b + 1] = d02r + d13i;
      im[b + 1] = d02i - d13r;
      re[b + 2] = s02r - s13r;
      im[b + 2] = s02i - s13i;
      re[b + 3] = d02r - d13i;
      im[b + 3] = d02i + d13r;
    }
  }

  /** The remaining radix-4 stages, in place on (re, im). */
  private complexInPlace(): void {
    const { m, re, im } = this;
    // Radix-4 DIT stages. With (base-2) bit-reversed input, the four quarters of a length-len block hold
    // the sub-DFTs of the residues 0, 2, 1, 3 (mod 4) of that block's subsequence.
    const stages = this.stages;
    for (let st = 0; st < stages.length; st++) {
      const len = stages[st].len;
      const tw = stages[st].tw;
      const q = len >> 2;
      // twiddles outer (loaded once), blocks inner
      for (let j = 0; j < q; j++) {
        const t = j * 6;
        const w1r = tw[t];
        const w1i = tw[t + 1];
        const w2r = tw[t + 2];
        const w2i = tw[t + 3];
        const w3r = tw[t + 4];
        const w3i = tw[t + 5];
        for (let i0 = j; i0 < m; i0 += len) {
          const i1 = i0 + q;
          const i2 = i1 + q;
          const i3 = i2 + q;
          // quarter 0 = residue 0, quarter 1 = residue 2 (w^2j), quarter 2 = residue 1 (w^j), quarter 3 = residue 3 (w^3j)
          const x0r = re[i0];
          const x0i = im[i0];
          let yr = re[i1];
          let yi = im[i1];
          const x2r = yr * w2r - yi * w2i;
          const x2i = yr * w2i + yi * w2r;
          yr = re[i2];
          yi = im[i2];
          const x1r = yr * w1r - yi * w1i;
          const x1i = yr * w1i + yi * w1r;
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
