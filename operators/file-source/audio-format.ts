/**
 * What kind of audio file this is, from its first bytes (never its name: a .wav that is really an MP3
 * is still read), and so which reader takes it: the WAV reader, a WebAssembly decoder, or ffmpeg.
 */
import type { ByteSource } from './wav-header.js';

/** Formats decoded in-process by the WebAssembly decoders (see wasm-decoders.ts). */
export type WasmFormat = 'flac' | 'vorbis' | 'opus' | 'mp3';

export type AudioFormat =
  | { reader: 'wav' }
  /** `declaredFrames`: samples per channel the header declares (FLAC's STREAMINFO), when it does. */
  | { reader: 'wasm'; format: WasmFormat; name: string; declaredFrames?: number }
  /** Containers and codecs left to ffmpeg, when it is installed. */
  | { reader: 'ffmpeg'; name: string }
  | { reader: 'none'; reason: string };

export const WASM_FORMAT_NAMES: Record<WasmFormat, string> = { flac: 'FLAC', vorbis: 'Ogg Vorbis', opus: 'Ogg Opus', mp3: 'MP3' };

const wasm = (format: WasmFormat): AudioFormat => ({ reader: 'wasm', format, name: WASM_FORMAT_NAMES[format] });

/** ID3v2 tag length (header included), or 0 without one; its size field is "syncsafe" (7 bits a byte). */
function id3Length(b: Buffer): number {
  if (b.length < 10 || b.toString('latin1', 0, 3) !== 'ID3') return 0;
  const size = ((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f);
  const footer = b[5]! & 0x10 ? 10 : 0;
  return 10 + size + footer;
}

/**
 * STREAMINFO's total samples per channel (a 36-bit field; 0 = not known): STREAMINFO is always the
 * first metadata block, right after "fLaC" and its 4-byte block header; the field ends at byte 25.
 */
function flacTotalSamples(b: Buffer): number | undefined {
  if (b.length < 26) return undefined;
  const total = (b[21]! & 0x0f) * 2 ** 32 + b.readUInt32BE(22);
  return total > 0 ? total : undefined;
}

/** The codec of an Ogg stream, from the first packet of its first page. */
function oggCodec(b: Buffer): AudioFormat {
  // Page header: 27 bytes, then `segments` lacing values, then the first packet.
  const segments = b.length > 26 ? b[26]! : 0;
  const packet = b.subarray(27 + segments);
  const starts = (magic: string) => packet.toString('latin1', 0, magic.length) === magic;
  if (starts('OpusHead')) return wasm('opus');
  if (starts('\x01vorbis')) return wasm('vorbis');
  if (starts('\x7fFLAC')) return { reader: 'ffmpeg', name: 'Ogg FLAC' };
  if (starts('Speex   ')) return { reader: 'ffmpeg', name: 'Ogg Speex' };
  return { reader: 'none', reason: 'not a readable Ogg stream (no Opus, Vorbis, FLAC or Speex header in its first page)' };
}

/**
 * Formats with a 4-byte (or longer) signature; `head` is the file's first bytes. MPEG audio has only
 * an 11-bit frame sync, which headerless PCM can hold by chance, so it is looked for separately.
 */
function bySignature(head: Buffer): AudioFormat | undefined {
  const ascii = (from: number, to: number) => head.toString('latin1', from, to);
  const four = ascii(0, 4);
  if (four === 'RIFF' || four === 'RF64' || four === 'RIFX' || four === 'BW64') return { reader: 'wav' };
  if (four === 'fLaC') {
    const declaredFrames = flacTotalSamples(head);
    return { reader: 'wasm', format: 'flac', name: WASM_FORMAT_NAMES.flac, ...(declaredFrames ? { declaredFrames } : {}) };
  }
  if (four === 'OggS') return oggCodec(head);
  if (ascii(4, 8) === 'ftyp') return { reader: 'ffmpeg', name: 'MP4/M4A' };
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return { reader: 'ffmpeg', name: 'WebM/Matroska' };
  if (four === 'FORM') return { reader: 'ffmpeg', name: 'AIFF' };
  if (four === 'caff') return { reader: 'ffmpeg', name: 'CAF' };
  if (four === '.snd') return { reader: 'ffmpeg', name: 'Sun/NeXT AU' };
  if (ascii(0, 5) === '#!AMR') return { reader: 'ffmpeg', name: 'AMR' };
  if (head.length >= 4 && head.readUInt32BE(0) === 0x3026b275) return { reader: 'ffmpeg', name: 'WMA/ASF' };
  return undefined;
}

/** An MPEG audio frame header (layer I-III: MP3, MP2) or an ADTS (raw AAC) one at `b[0]`. */
function byFrameSync(b: Buffer): AudioFormat | undefined {
  if (b.length < 2 || b[0] !== 0xff || (b[1]! & 0xe0) !== 0xe0) return undefined;
  // The 2-bit layer field is 0 (reserved) in MPEG audio, and always 0 in ADTS.
  if ((b[1]! & 0xf6) === 0xf0) return { reader: 'ffmpeg', name: 'AAC (ADTS)' };
  return wasm('mp3');
}

const HEAD_BYTES = 4096;

/**
 * Detects the format of `src`. `raw`: headerless PCM is expected, so only signatures count (a bare
 * MPEG frame sync is not taken as proof of MP3), and anything unrecognised is PCM.
 */
export async function detectAudioFormat(src: ByteSource, raw = false): Promise<AudioFormat | undefined> {
  let head = await src.read(0, HEAD_BYTES);
  const tag = id3Length(head);
  if (tag > 0) {
    // An ID3v2 tag (title, cover art) may stand before MP3, AAC or FLAC data; MP3 is by far the most common.
    head = await src.read(tag, HEAD_BYTES);
    return bySignature(head) ?? byFrameSync(head) ?? wasm('mp3');
  }
  return bySignature(head) ?? (raw ? undefined : byFrameSync(head));
}
