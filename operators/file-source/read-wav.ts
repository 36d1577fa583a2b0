/**
 * Streams one WAV file as blocks of mono Float32 audio at the target rate: incremental positional
 * reads of about one block at a time (a 2 GB file never sits in memory), decode, pick or mix the
 * channel, resample. Throws WavError (or an errno error) for a file that cannot be used; the caller
 * turns that into the stream's error record.
 */
import { constants, promises as fsp, type Stats } from 'node:fs';
import { makeDecoder } from './decode.js';
import { Blocker } from './blocker.js';
import { Resampler } from './resampler.js';
import { hasWavHeader, rawInfo, readWavHeader, WavError, type ByteSource, type RawFormat, type WavInfo } from './wav-header.js';

export interface ReadOptions {
  sampleRate: number;
  channel: number | 'mix';
  blockMs: number;
  maxDurationS: number;
  /** Headerless files are read in this format (files with a WAVE header are still read as WAV). */
  raw?: RawFormat;
}

export interface ReadSink {
  /** One block of output audio; awaited (flow control, pacing). Return false to stop reading. */
  block(samples: Float32Array, startSample: number): Promise<boolean>;
  warn(message: string): void;
}

/** One-line reason for a failed file-system call. */
export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ELOOP':
      return 'too many levels of symbolic links (a symlink loop?)';
    case 'ENOTDIR':
      return 'a parent of this path is not a folder';
    case 'ENAMETOOLONG':
      return 'file name too long';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    case 'EIO':
      return 'I/O error while reading';
    case 'ENXIO':
      return 'no such device (a socket or unconnected device?)';
    default:
      if (err?.code) return `${err.code}: ${err.message}`;
      return e instanceof Error ? e.message : String(e);
  }
}

function specialKind(st: Stats): string | undefined {
  if (st.isDirectory()) return 'is a directory';
  if (st.isFIFO()) return 'not a regular file (a FIFO)';
  if (st.isSocket()) return 'not a regular file (a socket)';
  if (st.isCharacterDevice()) return 'not a regular file (a character device)';
  if (st.isBlockDevice()) return 'not a regular file (a block device)';
  return undefined;
}

async function statOrExplain(file: string): Promise<Stats> {
  try {
    return await fsp.stat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      const link = await fsp.lstat(file).catch(() => undefined);
      if (link?.isSymbolicLink()) throw new WavError('broken symbolic link');
    }
    throw new WavError(describeFsError(e));
  }
}

/** Header of `file` (also used by tools that only inspect). */
export async function inspectWav(file: string): Promise<WavInfo> {
  const fh = await openChecked(file);
  try {
    return await readWavHeader(handleSource(fh));
  } finally {
    await fh.close();
  }
}

/** Opens `file` for reading after refusing what is not a regular file (with a one-line reason). */
export async function openChecked(file: string): Promise<fsp.FileHandle> {
  const st = await statOrExplain(file);
  const special = specialKind(st);
  if (special) throw new WavError(special);
  let fh: fsp.FileHandle;
  try {
    // O_NONBLOCK: should the path turn into a FIFO meanwhile, open must not wait for a writer.
    fh = await fsp.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new WavError(describeFsError(e));
  }
  const st2 = await fh.stat();
  const special2 = specialKind(st2);
  if (special2) {
    await fh.close();
    throw new WavError(special2);
  }
  return fh;
}

export function handleSource(fh: fsp.FileHandle): ByteSource {
  return {
    size: async () => (await fh.stat()).size,
    read: async (position, length) => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, position);
      return buf.subarray(0, bytesRead);
    },
  };
}

/** Reads the open WAV (or, with `opts.raw`, headerless) file `fh`; the caller closes it. */
export async function readWavFrom(fh: fsp.FileHandle, opts: ReadOptions, out: ReadSink): Promise<void> {
  const src = handleSource(fh);
  const info = opts.raw && !(await hasWavHeader(src)) ? await rawInfo(src, opts.raw) : await readWavHeader(src);
  for (const w of info.warnings) out.warn(w);
  if (opts.channel !== 'mix' && opts.channel >= info.channels) {
    throw new WavError(`channel ${opts.channel} requested but the file has ${info.channels} channel(s)`);
  }
  const maxFrames = Math.floor(opts.maxDurationS * info.sampleRate);
  const describeLimit = (frames: number) =>
    `duration ${(frames / info.sampleRate).toFixed(1)} s exceeds maxDurationS (${opts.maxDurationS} s)`;
  if (info.frames > maxFrames) throw new WavError(describeLimit(info.frames));

  const { frameBytes, dataOffset, declaredBytes } = info;
  const decoder = makeDecoder(info, opts.channel);
  const resampler = new Resampler(info.sampleRate, opts.sampleRate);
  const blocker = new Blocker(Math.max(1, Math.round((opts.sampleRate * opts.blockMs) / 1000)));
  // About one block per read, but at least 64 KiB: small reads cost more in round trips than in bytes.
  const readFrames = Math.max(1, Math.ceil((info.sampleRate * opts.blockMs) / 1000), Math.floor(65536 / frameBytes));
  const raw = Buffer.allocUnsafe(readFrames * frameBytes);
  const decoded = new Float32Array(readFrames);

  const declaredFrames = Math.floor(declaredBytes / frameBytes);
  let framesRead = 0;
  let end = dataOffset + info.frames * frameBytes;
  let pos = dataOffset;
  let nonFinite = 0;
  for (;;) {
    if (pos >= end) {
      // The data chunk claims more than was there at open time: the file may still be growing.
      if (framesRead >= declaredFrames) break;
      const size = (await fh.stat()).size;
      const bytes = Math.min(declaredBytes, size - dataOffset);
      const grownEnd = dataOffset + Math.floor(bytes / frameBytes) * frameBytes;
      if (grownEnd <= end) break;
      end = grownEnd;
    }
    const want = Math.min(readFrames, (end - pos) / frameBytes);
    const { bytesRead } = await fh.read(raw, 0, want * frameBytes, pos);
    const got = Math.floor(bytesRead / frameBytes);
    if (got === 0) {
      out.warn('file shrank while being read; stopping early');
      break;
    }
    pos += got * frameBytes;
    framesRead += got;
    if (framesRead > maxFrames) throw new WavError(describeLimit(framesRead));
    nonFinite += decoder.decode(raw, got, decoded);
    if (!(await blocker.push(resampler.process(decoded.subarray(0, got)), out))) return;
  }
  if (declaredBytes !== Infinity && framesRead < declaredFrames) {
    out.warn(`data chunk truncated (declares ${declaredBytes} bytes, ${framesRead * frameBytes} present); used what is there`);
  }
  if (nonFinite > 0) out.warn(`replaced ${nonFinite} NaN/Inf sample(s) with 0`);
  if (!(await blocker.push(resampler.flush(), out))) return;
  await blocker.end(out);
}
