/**
 * Degenerate-output detector, one per stream: a model whose caches are not fed back, or an offline model
 * run on chunks without context, typically emits the same non-blank token frame after frame, or
 * near-uniform probabilities. `feed` returns a description the first time either lasts `limit` frames.
 */
export class DegeneracyTracker {
  private lastArg = -1;
  private run = 0;
  private flatRun = 0;
  private fired = false;

  constructor(private readonly limit: number) {}

  feed(data: Float32Array, nFrames: number, vocab: number, blank: number): string | undefined {
    if (!this.limit || this.fired) return undefined;
    const flat = Math.log(2 / vocab);
    for (let t = 0; t < nFrames; t++) {
      let best = 0;
      let bv = -Infinity;
      for (let v = 0; v < vocab; v++) {
        const x = data[t * vocab + v];
        if (x > bv) {
          bv = x;
          best = v;
        }
      }
      this.run = best === blank ? 0 : best === this.lastArg ? this.run + 1 : 1;
      this.lastArg = best;
      this.flatRun = bv < flat ? this.flatRun + 1 : 0;
      if (this.run >= this.limit) {
        this.fired = true;
        return `token ${best} is the most likely one for ${this.run} frames in a row`;
      }
      if (this.flatRun >= this.limit) {
        this.fired = true;
        return `near-uniform probabilities (best < 2/vocab) for ${this.flatRun} frames in a row`;
      }
    }
    return undefined;
  }
}
