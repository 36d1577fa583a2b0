/**
 * One entry of a session's audio stream, checked before anything is done with it: a producer may be
 * broken or hostile, and whatever it wrote must end only its own session (docs/scaling-out.md).
 */
import { sanitizeSamples } from '../../toolkit/samples.js';
import { samplesOf } from './keys.js';

export interface AudioEntry {
  samples: Float32Array;
  sampleRate: number;
  startSample: number;
  /** NaN/±Infinity samples replaced by 0 (finite ones are clipped to [-1, 1]). */
  nonFinite: number;
}

/**
 * The entry's samples, or what is wrong with it (completing "audio entry <id> ..."). `nextSample` is
 * the sample after the session's previous entry (undefined for the first one read): a `start` more than
 * `maxGapSeconds` past it is refused, since the worker would have to fill the gap with silence.
 */
export function readAudioEntry(
  fields: Map<string, Buffer>,
  o: { defaultRate: number; nextSample?: number; maxGapSeconds: number },
): AudioEntry | { problem: string } {
  const bytes = fields.get('f32');
  const startSample = Number(fields.get('start')?.toString());
  if (!bytes || !Number.isInteger(startSample) || startSample < 0) return { problem: 'has no f32 samples or no valid start' };
  if (bytes.length % 4 !== 0) return { problem: `has ${bytes.length} bytes of f32 samples, not a whole number of float32 samples` };
  const sampleRate = Number(fields.get('rate')?.toString() ?? o.defaultRate);
  if (o.nextSample !== undefined && startSample - o.nextSample > o.maxGapSeconds * sampleRate) {
    const gapS = (startSample - o.nextSample) / sampleRate;
    return { problem: `starts at sample ${startSample}, ${+gapS.toFixed(3)} s after the previous entry's end (more than maxGapSeconds, ${o.maxGapSeconds} s)` };
  }
  const samples = samplesOf(bytes);
  return { samples, sampleRate, startSample, nonFinite: sanitizeSamples(samples) };
}
