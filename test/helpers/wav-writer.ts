/**
 * Writes WAV files for the tests: any supported encoding, plus knobs to break them on purpose.
 */

export type WavEncoding = 'pcm' | 'float' | 'mulaw' | 'alaw';

export interface WavSpec {
  sampleRate: number;
  /** One array per channel, all the same length; values in [-1, 1]. */
  channels: Float32Array[];
  encoding?: WavEncoding;
  /** 8/16/24/32 for pcm, 32/64 for float, 8 for the G.711 laws. */
  bits?: number;
  extensible?: boolean;
  /** Override the format tag written (e.g. 0x55 for MP3). */
  formatTag?: number;
  /** Override fmt fields. */
  channelCount?: number;
  rateField?: number;
  /** Override the declared data size (e.g. larger than written: truncated). */
  dataSizeField?: number;
  /** Override the RIFF size. */
  riffSizeField?: number;
  /** Chunks inserted between fmt and data, e.g. [['LIST', Buffer.from('abc')]] (odd size: padded). */
  extraChunks?: Array<[string, Buffer]>;
  /** Leave out the pad byte after odd-sized extra chunks. */
  noPad?: boolean;
  /** Write only this many bytes of the data (a truncated file). */
  truncateDataTo?: number;
}

export function sine(freq: number, rate: number, seconds: number, amp = 0.5, phase = 0): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate + phase);
  return x;
}

/** G.711 µ-law encoder (the reference algorithm). */
export function linearToMulaw(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  let pcm = Math.max(-32768, Math.min(32767, Math.round(sample * 32768)));
  const sign = pcm < 0 ? 0x80 : 0;
  if (pcm < 0) pcm = -pcm;
  if (pcm > CLIP) pcm = CLIP;
  pcm += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (pcm & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (pcm >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** G.711 A-law encoder. */
export function linearToAlaw(sample: number): number {
  let pcm = Math.max(-32768, Math.min(32767, Math.round(sample * 32768)));
  let mask: number;
  if (pcm >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  pcm >>= 3;
  const segEnds = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
  let seg = 0;
  while (seg < 8 && pcm > segEnds[seg]!) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  let aval = seg << 4;
  aval |= seg < 2 ? (pcm >> 1) & 0x0f : (pcm >> seg) & 0x0f;
  return aval ^ mask;
}

function encodeData(spec: WavSpec): Buffer {
  const enc = spec.encoding ?? 'pcm';
  const bits = spec.bits ?? (enc === 'pcm' ? 16 : enc === 'float' ? 32 : 8);
  const bytes = bits / 8;
  const nch = spec.channels.length;
  const n = spec.channels[0]?.length ?? 0;
  const buf = Buffer.alloc(n * nch * bytes);
  let o = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < nch; c++) {
      const v = spec.channels[c]![i]!;
      const clamp = (max: number) => Math.max(-max, Math.min(max - 1, Math.round(v * max)));
      if (enc === 'float') {
        if (bits === 64) buf.writeDoubleLE(v, o);
        else buf.writeFloatLE(v, o);
      } else if (enc === 'mulaw') buf[o] = linearToMulaw(v);
      else if (enc === 'alaw') buf[o] = linearToAlaw(v);
      else if (bits === 8) buf[o] = clamp(128) + 128;
      else if (bits === 16) buf.writeInt16LE(clamp(32768), o);
      else if (bits === 24) buf.writeIntLE(clamp(8388608), o, 3);
      else buf.writeInt32LE(clamp(2147483648), o);
      o += bytes;
    }
  }
  return buf;
}

function chunk(id: string, body: Buffer, pad = true): Buffer {
  const h = Buffer.alloc(8);
  h.write(id, 0, 'latin1');
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body, pad && body.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

export function makeWav(spec: WavSpec): Buffer {
  const enc = spec.encoding ?? 'pcm';
  const bits = spec.bits ?? (enc === 'pcm' ? 16 : enc === 'float' ? 32 : 8);
  const tag = spec.formatTag ?? { pcm: 1, float: 3, alaw: 6, mulaw: 7 }[enc];
  const nch = spec.channelCount ?? spec.channels.length;
  const blockAlign = (nch * bits) / 8;
  const rate = spec.rateField ?? spec.sampleRate;
  let fmt: Buffer;
  if (spec.extensible) {
    fmt = Buffer.alloc(40);
    fmt.writeUInt16LE(0xfffe, 0);
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(bits, 18);
    fmt.writeUInt32LE(nch === 1 ? 4 : 3, 20);
    Buffer.from('0000000000001000800000aa00389b71', 'hex').copy(fmt, 24);
    fmt.writeUInt16LE(tag, 24);
  } else {
    fmt = Buffer.alloc(16);
    fmt.writeUInt16LE(tag, 0);
  }
  fmt.writeUInt16LE(nch, 2);
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE(rate * blockAlign, 8);
  fmt.writeUInt16LE(blockAlign, 12);
  fmt.writeUInt16LE(bits, 14);
  let data = encodeData(spec);
  const dataSize = spec.dataSizeField ?? data.length;
  if (spec.truncateDataTo !== undefined) data = data.subarray(0, spec.truncateDataTo);
  const dataHdr = Buffer.alloc(8);
  dataHdr.write('data', 0, 'latin1');
  dataHdr.writeUInt32LE(dataSize >>> 0, 4);
  const extras = (spec.extraChunks ?? []).map(([id, body]) => chunk(id, body, !spec.noPad));
  const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), ...extras, dataHdr, data]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE((spec.riffSizeField ?? body.length) >>> 0, 4);
  return Buffer.concat([riff, body]);
}

/** Amplitude and phase of frequency `freq` in `x` (a single-bin DFT over whole cycles). */
export function toneOf(x: Float32Array, rate: number, freq: number): { amplitude: number } {
  const cycles = Math.floor((x.length * freq) / rate);
  const n = Math.round((cycles * rate) / freq);
  let re = 0;
  let im = 0;
  for (let i = 0; i < n; i++) {
    const w = (2 * Math.PI * freq * i) / rate;
    re += x[i]! * Math.cos(w);
    im += x[i]! * Math.sin(w);
  }
  return { amplitude: (2 * Math.hypot(re, im)) / n };
}

/** Frequency estimated from the positive-going zero crossings (linear interpolation). */
export function zeroCrossingFrequency(x: Float32Array, rate: number): number {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = 1; i < x.length; i++) {
    if (x[i - 1]! < 0 && x[i]! >= 0) {
      const t = i - 1 + x[i - 1]! / (x[i - 1]! - x[i]!);
      if (first < 0) first = t;
      else count++;
      last = t;
    }
  }
  return count > 0 ? (count * rate) / (last - first) : 0;
}
