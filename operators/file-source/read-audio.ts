/**
 * Reads one audio file of any supported kind as blocks of mono Float32 audio at the target rate: the
 * format is told from the file's first bytes, then WAV (and raw PCM) goes to the WAV reader, FLAC, Ogg
 * Vorbis, Ogg Opus and MP3 to the WebAssembly decoders, and other containers (M4A, WebM, ...) to ffmpeg
 * when it is installed. All of them share the channel handling, resampler and block cutting.
 */
import { promises as fsp } from 'node:fs';
import { detectAudioFormat } from './audio-format.js';
import { readDecoded } from './decoded.js';
import { decodeWithFfmpeg } from './ffmpeg.js';
import { handleSource, openChecked, readWavFrom, type ReadOptions, type ReadSink } from './read-wav.js';
import { decodeWasm } from './wasm-decoders.js';
import { WavError } from './wav-header.js';

/** Bytes per read of a compressed file: a few hundred ms to seconds of audio at common bit rates. */
const CHUNK_BYTES = 64 * 1024;

/** The contents of the open file `fh`, one chunk at a time, from the start. */
async function* chunksOf(fh: fsp.FileHandle): AsyncGenerator<Uint8Array> {
  for (let pos = 0; ; ) {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** Reads `file` to the end (or until `out.block` returns false). Throws WavError for an unusable file. */
export async function readAudio(file: string, opts: ReadOptions, out: ReadSink): Promise<void> {
  const fh = await openChecked(file);
  try {
    const format = await detectAudioFormat(handleSource(fh), opts.raw !== undefined);
    switch (format?.reader) {
      case undefined: // unrecognised: the WAV reader says what it looks like, or reads it as raw PCM
      case 'wav':
        return await readWavFrom(fh, opts, out);
      case 'wasm':
        return await readDecoded(format.name, decodeWasm(format.format, chunksOf(fh)), opts, out, format.declaredFrames);
      case 'ffmpeg':
        return await readDecoded(format.name, decodeWithFfmpeg(file, format.name), opts, out);
      case 'none':
        throw new WavError(format.reason);
    }
  } finally {
    await fh.close();
  }
}
