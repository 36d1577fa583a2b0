/**
 * The Chunker's per-stream state: re-blocks one stream of samples into exact chunks of `chunk`
 * new samples, each preceded by up to `overlap` samples of lookback, with exact absolute positions.
 *
 * Chunk k covers new samples [origin + k*chunk, origin + (k+1)*chunk) and starts at
 * max(origin, origin + k*chunk - overlap). Gaps in the input's startSample are filled with zeros
 * (`fill`) or end the current chunk and restart the grid after the gap (`restart`, for audio a VAD
 * has thinned out); repeated samples are dropped. Positions stay exact whatever the upstream did.
 */

export type LastPolicy = 'emit' | 'pad' | 'drop';
/** A forward jump in startSample: fill it with zeros, or end the chunk before it and restart the grid after it. */
export type GapPolicy = 'fill' | 'restart';

export interface Chunk {
  samples: Float32Array;
  startSample: number;
}

export interface ReblockerSnapshot {
  samples: Float32Array;
  bufStart: number;
  chunkStart: number;
  expected: number;
  origin: number;
  gapSamples: number;
  repeatedSamples: number;
}

export class Reblocker {
  /** Samples held; buf[0] is absolute sample `bufStart`. */
  private buf: Float32Array;
  private bufStart: number;
  private len = 0;
  /** First new sample of the next chunk. */
  private chunkStart: number;
  /** Absolute index the next input sample is expected at. */
  private expected: number;
  gapSamples = 0;
  repeatedSamples = 0;

  /** Where the chunk grid starts (the stream's first sample, or the end of the last gap with 'restart'). */
  private origin: number;

  constructor(
    readonly chunk: number,
    readonly overlap: number,
    origin: number,
    readonly gaps: GapPolicy = 'fill',
    readonly last: LastPolicy = 'emit',
  ) {
    this.origin = origin;
    if (!(chunk >= 1)) throw new Error(`chunk must be at least one sample (got ${chunk})`);
    this.buf = new Float32Array(Math.max(1024, 2 * (chunk + overlap)));
    this.bufStart = origin;
    this.chunkStart = origin;
    this.expected = origin;
  }

  /** The whole state as plain values (checkpoints); only the samples still needed are kept. */
  snapshot(): ReblockerSnapshot {
    return {
      samples: this.buf.slice(0, this.len),
      bufStart: this.bufStart,
      chunkStart: this.chunkStart,
      expected: this.expected,
      origin: this.origin,
      gapSamples: this.gapSamples,
      repeatedSamples: this.repeatedSamples,
    };
  }

  static restore(chunk: number, overlap: number, gaps: GapPolicy, last: LastPolicy, s: ReblockerSnapshot): Reblocker {
    const r = new Reblocker(chunk, overlap, s.origin, gaps, last);
    if (s.samples.length > r.buf.length) r.buf = new Float32Array(s.samples.length * 2);
    r.buf.set(s.samples);
    r.len = s.samples.length;
    r.bufStart = s.bufStart;
    r.chunkStart = s.chunkStart;
    r.expected = s.expected;
    r.gapSamples = s.gapSamples;
    r.repeatedSamples = s.repeatedSamples;
    return r;
  }

  /** End (exclusive) of the new samples emitted so far. */
  get emittedEnd(): number {
    return this.chunkStart;
  }

  /** Adds samples starting at absolute `startSample`; returns the chunks now complete. */
  push(samples: Float32Array, startSample: number): Chunk[] {
    return [...this.chunksOf(samples, startSample)];
  }

  /**
   * The same as `push`, lazily: a gap is filled in steps of at most one chunk, each cut off as it
   * completes, so a consumer that stops iterating (to wait for the graph's flow control) holds one
   * chunk, not the gap. The input counts as taken once iteration is complete.
   */
  *chunksOf(samples: Float32Array, startSample: number): Generator<Chunk> {
    if (startSample > this.expected && this.gaps === 'restart') {
      const c = this.end(this.last);
      if (c) yield c;
      this.len = 0;
      this.origin = this.bufStart = this.chunkStart = this.expected = startSample;
    } else if (startSample > this.expected) {
      this.gapSamples += startSample - this.expected;
      const zeros = new Float32Array(Math.min(this.chunk, startSample - this.expected));
      while (this.expected < startSample) {
        this.append(zeros.subarray(0, Math.min(zeros.length, startSample - this.expected)));
        while (this.bufStart + this.len >= this.chunkStart + this.chunk) yield this.take(this.chunk);
      }
    } else if (startSample < this.expected) {
      const skip = Math.min(samples.length, this.expected - startSample);
      this.repeatedSamples += skip;
      samples = samples.subarray(skip);
    }
    this.append(samples);
    while (this.bufStart + this.len >= this.chunkStart + this.chunk) yield this.take(this.chunk);
  }

  /** The stream ended: the short last chunk by policy (none when nothing is left). */
  end(policy: LastPolicy): Chunk | undefined {
    const remaining = this.bufStart + this.len - this.chunkStart;
    if (remaining <= 0 || policy === 'drop') return undefined;
    const c = this.take(remaining);
    if (policy === 'pad') {
      const padded = new Float32Array(c.samples.length + (this.chunk - remaining));
      padded.set(c.samples);
      c.samples = padded;
    }
    return c;
  }

  private take(n: number): Chunk {
    const from = Math.max(this.origin, this.chunkStart - this.overlap);
    const to = this.chunkStart + n;
    const samples = this.buf.slice(from - this.bufStart, to - this.bufStart);
    this.chunkStart = to;
    return { samples, startSample: from };
  }

  private append(x: Float32Array): void {
    if (x.length === 0) return;
    // Keep only the lookback the next chunk needs.
    const keepFrom = Math.max(this.bufStart, this.chunkStart - this.overlap);
    const drop = keepFrom - this.bufStart;
    if (drop > 0 && (this.len + x.length > this.buf.length || drop >= this.buf.length / 2)) {
      this.buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.bufStart += drop;
    }
    if (this.len + x.length > this.buf.length) {
      const grown = new Float32Array(Math.max(2 * this.buf.length, this.len + x.length));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(x, this.len);
    this.len += x.length;
    this.expected += x.length;
  }
}
