/**
 * WAV header parsing over positional reads: walks the RIFF chunks up to the data chunk without ever
 * reading the audio itself, so a 2 GB file costs a few small reads.
 *
 * Robust to: odd-sized chunks with or without their pad byte, RIFF sizes that lie (ignored), data
 * chunks that claim more than the file holds (the rest is used, with a warning), a trailing partial
 * frame, streaming placeholders (0xFFFFFFFF sizes), RF64 (`ds64`), and unknown chunks before `data`.
 * Every problem that makes a file unusable throws a `WavError` whose message is the reason alone.
 */

/** Where the header reader gets its bytes: a file handle, or a Buffer in the tests. */
export interface ByteSource {
  /** Current size in bytes. */
  size(): Promise<number>;
  /** Up to `length` bytes at `position` (fewer at the end of the source). */
  read(position: number, length: number): Promise<Buffer>;
}

export class WavError extends Error {}

export type Encoding = 'pcm' | 'float' | 'alaw' | 'mulaw';

export interface WavInfo {
  encoding: Encoding;
  /** The effective format tag (the subformat's, for WAVE_FORMAT_EXTENSIBLE). */
  formatTag: number;
  extensible: boolean;
  channels: number;
  sampleRate: number;
  /** Bits per sample as declared. */
  bitsPerSample: number;
  /** Bytes of one sample as stored (the container). */
  bytesPerSample: number;
  /** Bytes of one frame (all channels). */
  frameBytes: number;
  /** Offset of the first audio byte. */
  dataOffset: number;
  /** Bytes the data chunk declares (Infinity for a streaming placeholder); may exceed what is present. */
  declaredBytes: number;
  /** Whole frames present in the file now (within the declared size). */
  frames: number;
  /** Non-fatal problems, one line each (without the file name). */
  warnings: string[];
}

export const WAVE_FORMAT = {
  PCM: 0x0001,
  ADPCM: 0x0002,
  IEEE_FLOAT: 0x0003,
  ALAW: 0x0006,
  MULAW: 0x0007,
  EXTENSIBLE: 0xfffe,
} as const;

/** Names of format tags one meets in the wild, for clearer errors. */
const TAG_NAMES: Record<number, string> = {
  0x0000: 'unknown',
  0x0002: 'Microsoft ADPCM',
  0x0011: 'IMA ADPCM',
  0x0016: 'ITU G.723 ADPCM',
  0x0031: 'GSM 6.10',
  0x0040: 'G.721 ADPCM',
  0x0050: 'MPEG',
  0x0055: 'MP3',
  0x0064: 'G.726 ADPCM',
  0x0092: 'Dolby AC3 SPDIF',
  0x00ff: 'AAC',
  0x0161: 'WMA',
  0x0162: 'WMA Pro',
  0x0163: 'WMA Lossless',
  0x1610: 'AAC (HE)',
  0x2000: 'Dolby AC3',
  0x2001: 'DTS',
  0x674f: 'Ogg Vorbis',
  0x6750: 'Ogg Vorbis',
  0x6751: 'Ogg Vorbis',
  0xf1ac: 'FLAC',
};

export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 768000;
export const MAX_CHANNELS = 256;
/** Chunks walked before giving up on finding `data` (each costs one small read). */
const MAX_CHUNKS = 10000;

/** Bytes 4..16 of every KSDATAFORMAT_SUBTYPE_* GUID (…-0000-0010-8000-00aa00389b71). */
const KS_GUID_TAIL = '00001000800000aa00389b71';

export function formatTagName(tag: number): string {
  const name = TAG_NAMES[tag];
  return name ? `${tag} (${name})` : `${tag} (0x${tag.toString(16).padStart(4, '0')})`;
}

/** A guess at what a non-WAV file is, from its first bytes (for the error message). */
export function sniff(head: Buffer): string | undefined {
  const ascii = (n: number) => head.subarray(0, n).toString('latin1');
  if (head.length >= 3 && ascii(3) === 'ID3') return 'MP3';
  if (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xe0) === 0xe0) return 'MP3/AAC';
  if (head.length >= 4 && ascii(4) === 'fLaC') return 'FLAC';
  if (head.length >= 4 && ascii(4) === 'OggS') return 'Ogg';
  if (head.length >= 4 && ascii(4) === 'FORM') return 'AIFF';
  if (head.length >= 4 && ascii(4) === '.snd') return 'Sun/NeXT AU';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return 'Matroska/WebM';
  if (head.length >= 8 && ascii(8).slice(4) === 'ftyp') return 'MP4/M4A';
  if (head.length >= 1 && (head[0] === 0x7b || head[0] === 0x3c)) return 'text';
  return undefined;
}

function notWav(head: Buffer): WavError {
  const guess = sniff(head);
  return new WavError(`not a RIFF/WAVE file${guess ? ` (looks like ${guess})` : ''}`);
}

function isFourCC(b: Buffer): boolean {
  if (b.length < 4) return false;
  for (let i = 0; i < 4; i++) {
    const c = b[i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

interface Fmt {
  encoding: Encoding;
  formatTag: number;
  extensible: boolean;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
}

/** Parses and checks a `fmt ` chunk body. */
export function parseFmt(body: Buffer, declaredSize: number): Fmt {
  if (declaredSize < 16 || body.length < 16) {
    throw new WavError(`fmt chunk too short (${Math.min(declaredSize, body.length)} bytes)`);
  }
  let formatTag = body.readUInt16LE(0);
  const channels = body.readUInt16LE(2);
  const sampleRate = body.readUInt32LE(4);
  const blockAlign = body.readUInt16LE(12);
  const bitsPerSample = body.readUInt16LE(14);
  let extensible = false;
  if (formatTag === WAVE_FORMAT.EXTENSIBLE) {
    extensible = true;
    if (body.length < 40) throw new WavError(`WAVE_FORMAT_EXTENSIBLE fmt chunk too short (${body.length} bytes, needs 40)`);
    const guid = body.subarray(24, 40);
    const tail = guid.subarray(4).toString('hex');
    formatTag = guid.readUInt16LE(0);
    if (tail !== KS_GUID_TAIL || guid.readUInt16LE(2) !== 0) {
      throw new WavError(`unsupported WAVE_FORMAT_EXTENSIBLE subformat ${guid.toString('hex')}`);
    }
  }
  let encoding: Encoding;
  switch (formatTag) {
    case WAVE_FORMAT.PCM:
      encoding = 'pcm';
      break;
    case WAVE_FORMAT.IEEE_FLOAT:
      encoding = 'float';
      break;
    case WAVE_FORMAT.ALAW:
      encoding = 'alaw';
      break;
    case WAVE_FORMAT.MULAW:
      encoding = 'mulaw';
      break;
    default:
      throw new WavError(`unsupported format tag ${formatTagName(formatTag)}`);
  }
  if (channels === 0) throw new WavError('0 channels');
  if (channels > MAX_CHANNELS) throw new WavError(`absurd channel count ${channels} (at most ${MAX_CHANNELS})`);
  if (sampleRate === 0) throw new WavError('sample rate 0 Hz');
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    throw new WavError(`absurd sample rate ${sampleRate} Hz (expected ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE})`);
  }
  const ok =
    encoding === 'pcm'
      ? bitsPerSample >= 1 && bitsPerSample <= 32
      : encoding === 'float'
        ? bitsPerSample === 32 || bitsPerSample === 64
        : bitsPerSample === 8;
  if (!ok) throw new WavError(`unsupported ${bitsPerSample} bits per sample for ${encoding === 'pcm' ? 'PCM' : encoding}`);
  return { encoding, formatTag, extensible, channels, sampleRate, bitsPerSample, blockAlign };
}

/**
 * Reads the header of a WAV file. Returns the format and where the audio is; throws WavError for
 * any file that cannot be read as audio.
 */
export async function readWavHeader(src: ByteSource): Promise<WavInfo> {
  const size = await src.size();
  if (size === 0) throw new WavError('empty file (0 bytes)');
  const head = await src.read(0, 12);
  const magic = head.subarray(0, 4).toString('latin1');
  if (magic === 'RIFX') throw new WavError('big-endian RIFX files are not supported');
  const isRiff = magic === 'RIFF' || magic === 'RF64';
  if (!isRiff) throw notWav(head);
  if (head.length < 12) throw new WavError(`truncated header (only ${size} bytes)`);
  if (head.subarray(8, 12).toString('latin1') !== 'WAVE') throw notWav(head);

  const warnings: string[] = [];
  let fmt: Fmt | undefined;
  let ds64Data: number | undefined;
  let pos = 12;
  let prevOdd = false;
  for (let n = 0; n < MAX_CHUNKS; n++) {
    if (pos + 8 > size) break;
    let hdr = await src.read(pos, 8);
    if (prevOdd) {
      // The pad byte after an odd-sized chunk should be 0; writers that leave it out put the next
      // chunk's id there instead.
      const alt = await src.read(pos - 1, 8);
      if (alt.length === 8 && isFourCC(alt) && (alt[0] !== 0 || !isFourCC(hdr))) {
        pos -= 1;
        hdr = alt;
      }
    }
    if (hdr.length < 8 || !isFourCC(hdr)) {
      if (!fmt) throw new WavError(`no fmt chunk (corrupt chunk header at byte ${pos})`);
      throw new WavError(`no data chunk (corrupt chunk header at byte ${pos})`);
    }
    const id = hdr.subarray(0, 4).toString('latin1');
    const chunkSize = hdr.readUInt32LE(4);
    const body = pos + 8;
    if (id === 'ds64' && magic === 'RF64') {
      const b = await src.read(body, Math.min(chunkSize, 28));
      if (b.length >= 16) ds64Data = Number(b.readBigUInt64LE(8));
    } else if (id === 'fmt ') {
      const b = await src.read(body, Math.min(chunkSize, 64));
      fmt = parseFmt(b, chunkSize);
    } else if (id === 'data') {
      if (!fmt) throw new WavError('data chunk comes before any fmt chunk');
      return dataInfo(fmt, body, chunkSize, ds64Data, size, warnings);
    }
    prevOdd = chunkSize % 2 === 1;
    pos = body + chunkSize + (chunkSize % 2);
  }
  if (pos + 8 <= size) throw new WavError(`no data chunk in the first ${MAX_CHUNKS} chunks`);
  if (!fmt) throw new WavError(pos === 12 ? 'header only (no fmt or data chunk)' : 'no fmt chunk');
  throw new WavError('no data chunk');
}

function dataInfo(fmt: Fmt, dataOffset: number, chunkSize: number, ds64: number | undefined, size: number, warnings: string[]): WavInfo {
  const bytesPerSample = fmt.encoding === 'pcm' ? Math.ceil(fmt.bitsPerSample / 8) : fmt.bitsPerSample / 8;
  const frameBytes = bytesPerSample * fmt.channels;
  if (fmt.blockAlign !== frameBytes) {
    warnings.push(`block align ${fmt.blockAlign} does not match ${fmt.channels} channel(s) x ${bytesPerSample} bytes; using ${frameBytes}`);
  }
  let declaredBytes: number = chunkSize;
  if (chunkSize === 0xffffffff) declaredBytes = ds64 !== undefined && ds64 > 0 ? ds64 : Infinity;
  const present = Math.max(0, size - dataOffset);
  // A data chunk that claims more than the file holds is used as far as it goes; the reader warns
  // at the end if the file did not grow to the declared size meanwhile.
  let bytes = Math.min(declaredBytes, present);
  const frames = Math.floor(bytes / frameBytes);
  const partial = bytes - frames * frameBytes;
  if (partial > 0 && declaredBytes <= present) {
    warnings.push(`data chunk ends with a partial frame (${partial} bytes ignored)`);
  }
  bytes = frames * frameBytes;
  if (frames === 0) {
    if (declaredBytes > 0 && present === 0) throw new WavError(`data chunk is empty (declares ${declaredBytes === Infinity ? 'streaming' : declaredBytes} bytes, 0 present)`);
    throw new WavError('no audio samples in data chunk');
  }
  return {
    encoding: fmt.encoding,
    formatTag: fmt.formatTag,
    extensible: fmt.extensible,
    channels: fmt.channels,
    sampleRate: fmt.sampleRate,
    bitsPerSample: fmt.bitsPerSample,
    bytesPerSample,
    frameBytes,
    dataOffset,
    declaredBytes,
    frames,
    warnings,
  };
}

/** A ByteSource over a Buffer (tests, fuzzing). */
export function bufferSource(buf: Buffer): ByteSource {
  return {
    size: async () => buf.length,
    read: async (position, length) => buf.subarray(Math.min(position, buf.length), Math.min(position + length, buf.length)),
  };
}

/** A headerless (raw) file's declared format. */
export interface RawFormat {
  encoding: 'u8' | 's16le' | 's24le' | 's32le' | 'f32le' | 'f64le' | 'alaw' | 'mulaw';
  sampleRate: number;
  channels: number;
}

export const RAW_ENCODINGS: RawFormat['encoding'][] = ['u8', 's16le', 's24le', 's32le', 'f32le', 'f64le', 'alaw', 'mulaw'];

/** True when the source starts with a RIFF/RF64 WAVE header. */
export async function hasWavHeader(src: ByteSource): Promise<boolean> {
  const head = await src.read(0, 12);
  const magic = head.subarray(0, 4).toString('latin1');
  return head.length === 12 && (magic === 'RIFF' || magic === 'RF64') && head.subarray(8, 12).toString('latin1') === 'WAVE';
}

/** The layout of a raw file: the whole file is audio in the declared format. */
export async function rawInfo(src: ByteSource, raw: RawFormat): Promise<WavInfo> {
  const size = await src.size();
  if (size === 0) throw new WavError('empty file (0 bytes)');
  const [encoding, bits]: [Encoding, number] =
    raw.encoding === 'alaw' ? ['alaw', 8] : raw.encoding === 'mulaw' ? ['mulaw', 8] : raw.encoding[0] === 'f' ? ['float', Number(raw.encoding.slice(1, 3))] : ['pcm', raw.encoding === 'u8' ? 8 : Number(raw.encoding.slice(1, 3))];
  const bytesPerSample = bits / 8;
  const frameBytes = bytesPerSample * raw.channels;
  const frames = Math.floor(size / frameBytes);
  const warnings: string[] = [];
  if (size % frameBytes) warnings.push(`raw data ends with a partial frame (${size % frameBytes} bytes ignored)`);
  if (frames === 0) throw new WavError(`no whole frame in raw data (${size} bytes, ${frameBytes} per frame)`);
  return {
    encoding,
    formatTag: encoding === 'float' ? WAVE_FORMAT.IEEE_FLOAT : encoding === 'alaw' ? WAVE_FORMAT.ALAW : encoding === 'mulaw' ? WAVE_FORMAT.MULAW : WAVE_FORMAT.PCM,
    extensible: false,
    channels: raw.channels,
    sampleRate: raw.sampleRate,
    bitsPerSample: bits,
    bytesPerSample,
    frameBytes,
    dataOffset: 0,
    declaredBytes: frames * frameBytes,
    frames,
    warnings,
  };
}
