/**
 * Resolves FileSource's `files` param to the list of inputs, in order: each entry is a path, a glob
 * (matches sorted), or a folder (its audio files sorted, not descended). Entries that cannot name
 * any file become problems reported as per-stream errors by the source, under the entry's own name.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';

/**
 * Extensions a folder listing takes as audio files: WAV, what the WebAssembly decoders read, then what
 * is left to ffmpeg (a file of those gets a one-line error naming ffmpeg where it is not installed).
 */
export const AUDIO_EXTENSIONS = ['.wav', '.wave', '.flac', '.ogg', '.oga', '.opus', '.mp3', '.m4a', '.aac', '.mp4', '.webm', '.mka', '.aif', '.aiff'];
/** Also listed when a raw (headerless) format is declared. */
export const RAW_EXTENSIONS = ['.raw', '.pcm'];

export type FileEntry = { path: string } | { path: string; problem: string };

export function isAudioName(name: string, extensions = AUDIO_EXTENSIONS): boolean {
  return extensions.includes(path.extname(name).toLowerCase());
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function expandGlob(pattern: string): Promise<FileEntry[]> {
  const absolute = path.isAbsolute(pattern);
  // Directories that match are kept: they are reported ("is a directory"), not silently skipped.
  const matches = await glob(pattern, { onlyFiles: false, expandDirectories: false, absolute, followSymbolicLinks: false });
  if (matches.length === 0) return [{ path: pattern, problem: 'no files match this pattern' }];
  return matches
    .map((m) => (absolute ? m : path.normalize(m)).replace(/\/$/, ''))
    .sort(byName)
    .map((p) => ({ path: p }));
}

async function expandFolder(dir: string, extensions: string[]): Promise<FileEntry[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (e) {
    return [{ path: dir, problem: `cannot list folder (${(e as NodeJS.ErrnoException).code ?? String(e)})` }];
  }
  const audio = names.filter((n) => isAudioName(n, extensions)).sort(byName);
  if (audio.length === 0) return [{ path: dir, problem: `no audio files (${extensions.join(', ')}) in folder` }];
  return audio.map((n) => ({ path: path.join(dir, n) }));
}

export async function resolveFiles(files: string | string[], extensions = AUDIO_EXTENSIONS): Promise<FileEntry[]> {
  const entries = typeof files === 'string' ? [files] : files;
  const out: FileEntry[] = [];
  for (const entry of entries) {
    if (entry === '') {
      out.push({ path: entry, problem: 'empty file name' });
      continue;
    }
    // An existing path is taken literally even if it looks like a pattern ("take[1].wav").
    let kind: 'dir' | 'other' | 'missing' = 'missing';
    try {
      kind = (await fsp.stat(entry)).isDirectory() ? 'dir' : 'other';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') kind = 'other';
    }
    if (kind === 'dir') out.push(...(await expandFolder(entry, extensions)));
    else if (kind === 'missing' && isDynamicPattern(entry)) out.push(...(await expandGlob(entry)));
    else out.push({ path: entry });
  }
  return out;
}
