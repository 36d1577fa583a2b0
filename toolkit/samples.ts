/**
 * What every source does to float samples it did not make itself (float WAVs, f32le over WebSocket or
 * stdin, Redis audio entries): NaN and ±Infinity become 0, and finite values are clipped to [-1, 1],
 * as integer formats are by construction. A huge value (1e30, a float64 beyond the float32 range)
 * would otherwise reach the features as Infinity or NaN.
 */

export const clampUnit = (v: number): number => (v > 1 ? 1 : v < -1 ? -1 : v);

/** Makes `samples` finite and within [-1, 1] in place; returns how many non-finite samples became 0. */
export function sanitizeSamples(samples: Float32Array): number {
  let nonFinite = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (Number.isFinite(v)) samples[i] = clampUnit(v);
    else {
      samples[i] = 0;
      nonFinite++;
    }
  }
  return nonFinite;
}
