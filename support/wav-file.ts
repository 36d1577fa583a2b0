/**
 * The WAV reader of the tests and benches (support/ holds what both use; the toolkit's own reader is
 * operators/file-source/read-wav.ts).
 */
import { readFileSync } from 'node:fs';

/** Mono float samples of a 16-bit PCM or float32 WAV (channels mixed). */
export function readWavFile(file: string): { samples: Float32Array; sampleRate: number } {
  const b = readFileSync(file);
  if (b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') throw new Error(`${file}: not a WAV file`);
  let p = 12;
  let fmt = 0;
  let channels = 1;
  let rate = 16000;
  let bits = 16;
  while (p + 8 <= b.length) {
    const id = b.toString('latin1', p, p + 4);
    const size = b.readUInt32LE(p + 4);
    const body = p + 8;
    if (id === 'fmt ') {
      fmt = b.readUInt16LE(body);
      channels = b.readUInt16LE(body + 2);
      rate = b.readUInt32LE(body + 4);
      bits = b.readUInt16LE(body + 14);
      if (fmt === 0xfffe) fmt = b.readUInt16LE(body + 24);
    } else if (id === 'data') {
      const bytes = bits / 8;
      const n = Math.floor(Math.min(size, b.length - body) / (bytes * channels));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let c = 0; c < channels; c++) {
          const o = body + (i * channels + c) * bytes;
          s += fmt === 3 && bits === 32 ? b.readFloatLE(o) : bits === 16 ? b.readInt16LE(o) / 32768 : 0;
        }
        out[i] = s / channels;
      }
      if (!(fmt === 1 && bits === 16) && !(fmt === 3 && bits === 32)) throw new Error(`${file}: only 16-bit PCM and float32 WAV`);
      return { samples: out, sampleRate: rate };
    }
    p = body + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}
