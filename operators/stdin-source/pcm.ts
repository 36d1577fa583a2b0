/**
 * Raw PCM bytes -> mono 16 kHz audio blocks, shared by StdinSource and WebSocketSource.
 *
 * Bytes may arrive in any split: a sample (or a multi-channel frame) cut across two reads is joined.
 * Channels are averaged; a rate other than `outputRate` goes through the FileSource resampler
 * (band-limited, bit-identical whatever the read sizes); output is cut into blocks of `blockSamples`.
 */
import { Resampler } from '../file-source/resampler.js';
import { clampUnit } from '../../toolkit/samples.js';

export type PcmEncoding = 's16le' | 'f32le';

export interface PcmOptions {
  encoding: PcmEncoding;
  sampleRate: number;
  outputRate: number;
  channels?: number;
  /** Output block size in samples at outputRate. */
  blockSamples: number;
}

export class PcmStream {
  readonly bytesPerFrame: number;
  private readonly channels: number;
  private carry = new Uint8Array(0);
  private readonly resampler: Resampler | null;
  private block: Float32Array;
  private fill = 0;
  /** Input frames (samples per channel) decoded so far. */
  inputFrames = 0;

  constructor(readonly opts: PcmOptions) {
    this.channels = opts.channels ?? 1;
    this.bytesPerFrame = (opts.encoding === 's16le' ? 2 : 4) * this.channels;
    this.resampler = opts.sampleRate === opts.outputRate ? null : new Resampler(opts.sampleRate, opts.outputRate);
    this.block = new Float32Array(opts.blockSamples);
  }

  /** Feeds bytes; returns the complete blocks now available. */
  push(bytes: Uint8Array): Float32Array[] {
    let data = bytes;
    if (this.carry.length) {
      data = new Uint8Array(this.carry.length + bytes.length);
      data.set(this.carry);
      data.set(bytes, this.carry.length);
    }
    const frames = Math.floor(data.length / this.bytesPerFrame);
    const used = frames * this.bytesPerFrame;
    this.carry = data.slice(used);
    if (!frames) return [];
    const mono = this.decode(data, frames);
    this.inputFrames += frames;
    return this.cut(this.resampler ? this.resampler.process(mono) : mono, false);
  }

  /** Ends the input: the resampler's tail and the last partial block (an incomplete sample is dropped). */
  end(): Float32Array[] {
    this.carry = new Uint8Array(0);
    return this.cut(this.resampler ? this.resampler.flush() : new Float32Array(0), true);
  }

  /** Bytes of an incomplete sample waiting for the next read. */
  get pendingBytes(): number {
    return this.carry.length;
  }

  private decode(data: Uint8Array, frames: number): Float32Array {
    const view = new DataView(data.buffer, data.byteOffset, frames * this.bytesPerFrame);
    const out = new Float32Array(frames);
    const ch = this.channels;
    const s16 = this.opts.encoding === 's16le';
    const width = s16 ? 2 : 4;
    for (let f = 0; f < frames; f++) {
      let sum = 0;
      for (let c = 0; c < ch; c++) {
        const at = (f * ch + c) * width;
        sum += s16 ? view.getInt16(at, true) / 32768 : view.getFloat32(at, true);
      }
      const v = sum / ch;
      // f32le from a client or a pipe: the same as a float WAV (finite, clipped to [-1, 1]).
      out[f] = Number.isFinite(v) ? clampUnit(v) : 0;
    }
    return out;
  }

  private cut(samples: Float32Array, final: boolean): Float32Array[] {
    const out: Float32Array[] = [];
    let at = 0;
    while (at < samples.length) {
      const n = Math.min(this.block.length - this.fill, samples.length - at);
      this.block.set(samples.subarray(at, at + n), this.fill);
      this.fill += n;
      at += n;
      if (this.fill === this.block.length) {
        out.push(this.block);
        this.block = new Float32Array(this.opts.blockSamples);
        this.fill = 0;
      }
    }
    if (final && this.fill) {
      out.push(this.block.slice(0, this.fill));
      this.fill = 0;
    }
    return out;
  }
}
