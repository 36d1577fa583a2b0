/**
 * The Redis layout shared by producers, workers and result consumers (docs/scaling-out.md):
 *
 *   <prefix>:sessions          stream  one entry per session: {session, sampleRate}; consumer group `group`
 *   <prefix>:audio:<session>   stream  the session's audio: {start, rate, f32} entries, then {end: 1}
 *   <prefix>:owner:<session>   hash    {consumer, entry}: the worker processing it (fences every write)
 *   <prefix>:ckpt:<session>    string  the last checkpoint: read position + every operator's state
 *   <prefix>:seen:<session>    hash    results already written, by (utterance | 'end' | 'error')
 *   <prefix>:results           stream  {session, type: partial|final|error|end, utterance, text, json}
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}
  get sessions(): string {
    return `${this.prefix}:sessions`;
  }
  get results(): string {
    return `${this.prefix}:results`;
  }
  audio(session: string): string {
    return `${this.prefix}:audio:${session}`;
  }
  owner(session: string): string {
    return `${this.prefix}:owner:${session}`;
  }
  checkpoint(session: string): string {
    return `${this.prefix}:ckpt:${session}`;
  }
  seen(session: string): string {
    return `${this.prefix}:seen:${session}`;
  }
}

/** A stream entry's fields ([k1, v1, k2, v2, ...]) as a map of Buffers. */
export function fieldsOf(flat: Buffer[]): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i].toString(), flat[i + 1]);
  return m;
}

/** Little-endian float32 samples (what producers append) -> an aligned Float32Array copy. */
export function samplesOf(bytes: Buffer): Float32Array {
  if (bytes.length % 4 !== 0) throw new Error(`audio entry of ${bytes.length} bytes is not whole float32 samples`);
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function bytesOf(samples: Float32Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}
