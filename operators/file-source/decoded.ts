/**
 * The part every compressed-audio reader shares, whichever decoder made the audio: pick or mix the
 * channel, check the duration limit, resample and cut into blocks, exactly as WAV audio is (the same
 * Resampler and Blocker), and turn decoder trouble into one error line for the file.
 */
import { Blocker } from './blocker.js';
import type { ReadOptions, ReadSink } from './read-wav.js';
import { Resampler } from './resampler.js';
import { WavError } from './wav-header.js';

/** A run of decoded audio: one Float32Array per channel, `frames` long. */
export interface DecodedChunk {
  channels: Float32Array[];
  frames: number;
  sampleRate: number;
  /** Frames the decoder could not decode (their messages). */
  errors: string[];
}

/**
 * One channel of `chunk`, or the mean of all of them, into `out` (at least `frames` long). Clipped to
 * [-1, 1] as float WAV files are: lossy decoders overshoot a little on loud audio.
 */
function mono(chunk: DecodedChunk, channel: number | 'mix', out: Float32Array): Float32Array {
  const { channels, frames } = chunk;
  const picked = channel === 'mix' ? channels : [channels[channel]!];
  const scale = 1 / picked.length;
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (const c of picked) sum += c[i]!;
    const v = sum * scale;
    out[i] = v > 1 ? 1 : v < -1 ? -1 : v;
  }
  return out.subarray(0, frames);
}

/**
 * Reads decoded audio (of a file whose format's `name` goes into messages) to the end, or until
 * `out.block` returns false. Throws WavError for a file that turns out corrupt; the audio before the
 * damage has already gone out, as with a truncated WAV.
 */
export async function readDecoded(
  name: string,
  chunks: AsyncIterable<DecodedChunk>,
  opts: ReadOptions,
  out: ReadSink,
  /** Samples per channel the file declares (FLAC does), to tell a truncated file from a whole one. */
  expectedFrames?: number,
): Promise<void> {
  let rate = 0;
  let channelCount = 0;
  let resampler: Resampler | undefined;
  let mixed = new Float32Array(0);
  let frames = 0;
  const blocker = new Blocker(Math.max(1, Math.round((opts.sampleRate * opts.blockMs) / 1000)));
  const at = () => `${(frames / (rate || 1)).toFixed(2)} s`;
  const corrupt = (reason: string) =>
    new WavError(`corrupt ${name} data after ${at()} of audio (${reason.trim()})${frames > 0 ? '; used the audio before it' : ''}`);
  for await (const chunk of chunks) {
    // The good frames decoded along with bad ones still go out, then the file ends with the error.
    const damage = chunk.errors[0];
    if (chunk.frames === 0) {
      if (damage !== undefined) throw corrupt(damage);
      continue;
    }
    if (!resampler) {
      rate = chunk.sampleRate;
      channelCount = chunk.channels.length;
      if (opts.channel !== 'mix' && opts.channel >= channelCount) {
        throw new WavError(`channel ${opts.channel} requested but the file has ${channelCount} channel(s)`);
      }
      resampler = new Resampler(rate, opts.sampleRate);
    } else if (chunk.sampleRate !== rate || chunk.channels.length !== channelCount) {
      // Chained streams can do this legitimately, but it is far more often a damaged file; either way one
      // stream cannot change its rate, and silently resampling part of it at the wrong rate is worse.
      throw new WavError(
        `corrupt ${name} data at ${at()}: the audio changes from ${rate} Hz × ${channelCount} to ${chunk.sampleRate} Hz × ${chunk.channels.length} channel(s)`,
      );
    }
    frames += chunk.frames;
    if (frames > opts.maxDurationS * rate) {
      throw new WavError(`duration exceeds maxDurationS (${opts.maxDurationS} s)`);
    }
    if (mixed.length < chunk.frames) mixed = new Float32Array(chunk.frames);
    if (!(await blocker.push(resampler.process(mono(chunk, opts.channel, mixed)), out))) return;
    if (damage !== undefined) {
      await finish(resampler, blocker, out);
      throw corrupt(damage);
    }
  }
  if (!resampler) throw new WavError(`no audio could be decoded: a corrupt, truncated or empty ${name} file`);
  if (expectedFrames !== undefined && frames < expectedFrames) {
    out.warn(`truncated or damaged ${name} file (${frames} of the ${expectedFrames} samples it declares decoded); used what is there`);
  }
  await finish(resampler, blocker, out);
}

/** Sends the resampler's tail and the last, short block. */
async function finish(resampler: Resampler, blocker: Blocker, out: ReadSink): Promise<void> {
  if (await blocker.push(resampler.flush(), out)) await blocker.end(out);
}
