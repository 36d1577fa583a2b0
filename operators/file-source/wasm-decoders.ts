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

/**
 * Calls `fn` with console.error/warn muted: the decoders print every bad frame to the console as well as
 * returning it in `errors`, and a corrupt file must give one line (the caller's), not one per frame.
 * Only the synchronous part is muted (the decoders log from there), so no one else's output is lost.
 */
function quietly<T>(fn: () => T): T {
  const { error, warn } = console;
  console.error = console.warn = () => {};
  try {
    return fn();
  } finally {
    console.error = error;
    console.warn = warn;
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
  const decoder = await create(format);
  try {
    await decoder.ready;
    for await (const chunk of bytes) yield toChunk(await quietly(() => decoder.decode(chunk)));
    if (decoder.flush) yield toChunk(await quietly(() => decoder.flush!()));
  } finally {
    await decoder.free();
  }
}
