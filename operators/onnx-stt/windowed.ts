/**
 * Shared by the offline contracts (NeMo offline CTC, wav2vec2): run the whole utterance at its end
 * (mode offline), or overlapping windows with frame-accurate stitching (mode buffered).
 *
 * Buffered: the stream is cut into chunks of `chunk` input units (mel frames or samples, a multiple of
 * the model's `stride`); chunk k = [kC, (k+1)C) runs in the window [kC - X, (k+1)C + X) clipped to the
 * stream, X = `context` (also a multiple of the stride), as soon as that window is complete. Each window
 * starts on a stride boundary, so its local output frame l is global frame a/stride + l, and exactly the
 * output frames g with kC <= g*stride < (k+1)C are kept: every output frame comes from exactly one
 * window, and the stitched result has the same frame count and timing as the whole-utterance run.
 */
import { FrameBuffer, type EmitFrames } from './contract.js';

export interface WindowResult {
  /** Row-major [frames, vocab] log-probs of the window. */
  data: Float32Array;
  vocab: number;
  /** Valid output frames (encoded length). */
  valid: number;
}

export interface WindowedOptions {
  width: number;
  stride: number;
  mode: 'offline' | 'buffered';
  chunk: number;
  context: number;
  /** Output frame shift in ms. */
  frameShiftMs: () => number;
  /** Offline mode: longest utterance held (input units); longer streams fail with `tooLong()`. */
  maxUnits: number;
  tooLong: () => string;
  runWindow: (units: Float32Array, nUnits: number) => Promise<WindowResult>;
}

export interface WindowedSnapshot {
  units: Float32Array;
  base: number;
  length: number;
  nextChunk: number;
}

export class WindowedRunner {
  private buf: FrameBuffer;
  private nextChunk = 0;
  private released = false;

  constructor(private readonly o: WindowedOptions) {
    this.buf = new FrameBuffer(o.width, o.mode === 'buffered' ? o.chunk + 2 * o.context : 1024);
  }

  /** The units not yet consumed and the next chunk (checkpoints). */
  snapshot(): WindowedSnapshot {
    return { units: this.buf.view(this.buf.base, this.buf.end).slice(), base: this.buf.base, length: this.buf.length, nextChunk: this.nextChunk };
  }

  restore(s: WindowedSnapshot): void {
    this.buf.length = 0;
    this.buf.append(s.units, s.length);
    this.buf.base = s.base;
    this.nextChunk = s.nextChunk;
  }

  async push(data: Float32Array, nUnits: number, emit: EmitFrames): Promise<void> {
    if (this.o.mode !== 'buffered' && this.buf.end + nUnits > this.o.maxUnits) throw new Error(this.o.tooLong());
    this.buf.append(data, nUnits);
    if (this.o.mode !== 'buffered') return;
    const { chunk, context } = this.o;
    while (!this.released && this.buf.end >= (this.nextChunk + 1) * chunk + context) {
      await this.runChunk(this.buf.end, emit);
    }
  }

  async end(emit: EmitFrames): Promise<void> {
    const total = this.buf.end;
    if (this.o.mode === 'offline') {
      if (total > 0) {
        const r = await this.o.runWindow(this.buf.view(0, total), total);
        if (!this.released) this.emitRange(r, 0, r.valid, emit);
      }
    } else {
      while (!this.released && this.nextChunk * this.o.chunk < total) await this.runChunk(total, emit);
    }
    this.buf.length = 0;
  }

  release(): void {
    this.released = true;
    this.buf.data = new Float32Array(0);
    this.buf.length = 0;
  }

  private async runChunk(available: number, emit: EmitFrames): Promise<void> {
    const { chunk, context, stride } = this.o;
    const c0 = this.nextChunk * chunk;
    const c1 = Math.min(available, c0 + chunk);
    const a = Math.max(0, c0 - context);
    const b = Math.min(available, c1 + context);
    this.nextChunk++;
    const r = await this.o.runWindow(this.buf.view(a, b), b - a);
    if (this.released) return;
    const g0 = c0 / stride;
    const g1 = Math.ceil(c1 / stride);
    const off = a / stride;
    this.emitRange(r, g0 - off, Math.min(r.valid, g1 - off), emit);
    // Frames before the next window's start are no longer needed.
    this.buf.drop(Math.max(0, this.nextChunk * chunk - context) - this.buf.base);
  }

  private emitRange(r: WindowResult, from: number, to: number, emit: EmitFrames): void {
    if (to <= from) return;
    emit({
      data: r.data.slice(from * r.vocab, to * r.vocab),
      nFrames: to - from,
      vocabSize: r.vocab,
      frameShiftMs: this.o.frameShiftMs(),
    });
  }
}

/** ms -> units, rounded to a positive multiple of the stride. */
export function unitsOf(ms: number, unitsPerMs: number, stride: number): number {
  return Math.max(stride, Math.round((ms * unitsPerMs) / stride) * stride);
}
