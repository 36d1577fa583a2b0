/**
 * Cuts the resampled output of any reader (WAV or compressed) into exact `blockMs` blocks, so every
 * format emits the same block sizes and positions.
 */
import type { ReadSink } from './read-wav.js';

/** Appends resampled output and hands out exact blocks. */
export class Blocker {
  private buf: Float32Array;
  private len = 0;
  emitted = 0;
  constructor(readonly size: number) {
    this.buf = new Float32Array(size);
  }
  /** Fills blocks from `x`; each full block goes to `out` (awaited). False = stop. */
  async push(x: Float32Array, out: ReadSink): Promise<boolean> {
    let off = 0;
    while (off < x.length) {
      const n = Math.min(this.size - this.len, x.length - off);
      this.buf.set(x.subarray(off, off + n), this.len);
      this.len += n;
      off += n;
      if (this.len === this.size) {
        const block = this.buf;
        this.buf = new Float32Array(this.size);
        this.len = 0;
        const start = this.emitted;
        this.emitted += block.length;
        if (!(await out.block(block, start))) return false;
      }
    }
    return true;
  }
  async end(out: ReadSink): Promise<boolean> {
    if (this.len === 0) return true;
    const block = this.buf.slice(0, this.len);
    const start = this.emitted;
    this.emitted += block.length;
    this.len = 0;
    return out.block(block, start);
  }
}
