/**
 * Backpressure for push-based RxJS. Asynchronous stages (model inference) report how many items they
 * hold; file sources await `ready()` before reading the next block, so a slow stage never lets queued
 * audio grow without bound. Live sources cannot wait and drop instead (their own policy).
 */
export class FlowControl {
  private held = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly highWater = 256) {}

  get pending(): number {
    return this.held;
  }

  hold(n = 1): void {
    this.held += n;
  }

  release(n = 1): void {
    this.held = Math.max(0, this.held - n);
    if (this.held < this.highWater && this.waiters.length) {
      const waiting = this.waiters;
      this.waiters = [];
      for (const wake of waiting) wake();
    }
  }

  /** Resolves at once while below the high-water mark, else once stages have drained below it. */
  ready(): Promise<void> {
    if (this.held < this.highWater) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
