import { expect } from 'chai';
import type { AudioItem, StreamItem } from '../../toolkit/items.js';

/** The audio items' samples joined, after checking their positions are contiguous from sample 0. */
export function joinedAudio(items: StreamItem[]): Float32Array {
  const audio = items.filter((i): i is AudioItem => i.kind === 'audio');
  const out = new Float32Array(audio.reduce((n, a) => n + a.samples.length, 0));
  let at = 0;
  for (const a of audio) {
    expect(a.startSample).to.equal(at);
    out.set(a.samples, at);
    at += a.samples.length;
  }
  return out;
}
