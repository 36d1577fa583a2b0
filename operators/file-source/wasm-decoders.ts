/**
 * FLAC, Ogg Vorbis, Ogg Opus and MP3 decoding in-process with the wasm-audio-decoders family
 * (WebAssembly builds of libFLAC, libvorbis, libopus and mpg123): nothing to install beyond npm, the
 * same on every platform, and each takes the file in arbitrary chunks, so a long file is decoded as it
 * is read. Each decoder module is imported on first use only, so WAV-only runs never load them.
 */
import type { DecodedChunk } from './decoded.js';
import type { WasmFormat } from './audio-format.js';

/** The part of the decoders' (shared) result shape used here. */
interface DecoderOutput {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: Array<{ message: string }>;
}

interface WasmDecoder {
  ready: Promise<void>;
  decode(data: Uint8Array): DecoderOutput | Promise<DecoderOutput>;
  flush?(): Promise<DecoderOutput>;
  free(): void | Promise<void>;
}

async function create(format: WasmFormat): Promise<WasmDecoder> {
  switch (format) {
    case 'flac':
      return new (await import('@wasm-audio-decoders/flac')).FLACDecoder();
    case 'vorbis':
      return new (await import('@wasm-audio-decoders/ogg-vorbis')).OggVorbisDecoder();
    case 'opus':
      return new (await import('ogg-opus-decoder')).OggOpusDecoder();
    case 'mp3':
      return new (await import('mpg123-decoder')).MPEGDecoder();
  }
}

/** How the decoders start the lines they print for each bad frame. */
const DECODER_NOISE = /^(libopus -?\d|mpg123-decoder:|@wasm-audio-decoders\/|ogg-opus-decoder:|codec-parser)/;
let consoleFiltered = false;

/**
 * The decoders print every bad frame to the console as well as returning it in `errors`, some of them
 * after an await (so muting around a call is not enough); a corrupt file must give one line (the
 * caller's), not one per frame. So console.error/warn drop lines that start as the decoders' do, and
 * pass everything else on unchanged. Installed once, when the first decoder is made.
 */
function filterDecoderNoise(): void {
  if (consoleFiltered) return;
  consoleFiltered = true;
  for (const method of ['error', 'warn'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && DECODER_NOISE.test(args[0])) return;
      original(...args);
    };
  }
}

function toChunk(out: DecoderOutput): DecodedChunk {
  return {
    channels: out.channelData.map((c) => c.subarray(0, out.samplesDecoded)),
    frames: out.samplesDecoded,
    sampleRate: out.sampleRate,
    errors: out.errors.map((e) => e.message),
  };
}

/** Decodes `bytes` (the file's contents, chunk by chunk) as `format`. */
export async function* decodeWasm(format: WasmFormat, bytes: AsyncIterable<Uint8Array>): AsyncGenerator<DecodedChunk> {
  filterDecoderNoise();
  const decoder = await create(format);
  try {
    await decoder.ready;
    for await (const chunk of bytes) yield toChunk(await decoder.decode(chunk));
    if (decoder.flush) yield toChunk(await decoder.flush());
  } finally {
    await decoder.free();
  }
}
