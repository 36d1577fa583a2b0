/**
 * Sample decoding: interleaved WAV frames (any supported encoding) to one mono Float32 channel,
 * either one picked channel or the mean of all. Non-finite float samples become 0 and are counted;
 * finite ones are clipped to [-1, 1].
 */
import type { WavInfo } from './wav-header.js';
import { clampUnit } from '../../toolkit/samples.js';

/** G.711 µ-law byte to a sample in [-1, 1). */
function mulaw(u: number): number {
  u = ~u & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  let magnitude = ((mantissa << 3) + 0x84) << exponent;
  magnitude -= 0x84;
  return (sign ? -magnitude : magnitude) / 32768;
}

/** G.711 A-law byte to a sample in [-1, 1). */
function alaw(a: number): number {
  a ^= 0x55;
  const sign = a & 0x80;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  let magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return (sign ? magnitude : -magnitude) / 32768;
}

export const MULAW_TABLE = Float32Array.from({ length: 256 }, (_, i) => mulaw(i));
export const ALAW_TABLE = Float32Array.from({ length: 256 }, (_, i) => alaw(i));

/** Reads sample `s` (byte offset) of `buf` as a float. */
type SampleReader = (buf: Buffer, offset: number) => number;

function readerFor(info: Pick<WavInfo, 'encoding' | 'bytesPerSample'>): SampleReader {
  switch (info.encoding) {
    case 'float':
      return info.bytesPerSample === 8 ? (b, o) => b.readDoubleLE(o) : (b, o) => b.readFloatLE(o);
    case 'mulaw':
      return (b, o) => MULAW_TABLE[b[o]!]!;
    case 'alaw':
      return (b, o) => ALAW_TABLE[b[o]!]!;
    case 'pcm':
      switch (info.bytesPerSample) {
        case 1:
          return (b, o) => (b[o]! - 128) / 128;
        case 2:
          return (b, o) => b.readInt16LE(o) / 32768;
        case 3:
          return (b, o) => b.readIntLE(o, 3) / 8388608;
        default:
          return (b, o) => b.readInt32LE(o) / 2147483648;
      }
  }
}


export interface Decoder {
  /**
   * Decodes `frames` whole frames from `buf` into `out[0..frames)`; returns how many non-finite
   * samples were replaced by 0.
   */
  decode(buf: Buffer, frames: number, out: Float32Array): number;
}

export function makeDecoder(info: Pick<WavInfo, 'encoding' | 'bytesPerSample' | 'channels'>, channel: number | 'mix'): Decoder {
  const read = readerFor(info);
  const step = info.bytesPerSample;
  const frameBytes = step * info.channels;
  const channels = info.channels;
  const checkFinite = info.encoding === 'float';
  if (channel === 'mix' && channels > 1) {
    const scale = 1 / channels;
    return {
      decode(buf, frames, out) {
        let bad = 0;
        for (let f = 0, o = 0; f < frames; f++, o += frameBytes) {
          let sum = 0;
          for (let c = 0; c < channels; c++) {
            const v = read(buf, o + c * step);
            if (checkFinite && !Number.isFinite(v)) bad++;
            else sum += checkFinite ? clampUnit(v) : v;
          }
          out[f] = sum * scale;
        }
        return bad;
      },
    };
  }
  const offset = (channel === 'mix' ? 0 : channel) * step;
  return {
    decode(buf, frames, out) {
      let bad = 0;
      for (let f = 0, o = offset; f < frames; f++, o += frameBytes) {
        const v = read(buf, o);
        if (checkFinite && !Number.isFinite(v)) {
          bad++;
          out[f] = 0;
        } else out[f] = checkFinite ? clampUnit(v) : v;
      }
      return bad;
    },
  };
}
