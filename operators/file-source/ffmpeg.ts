/**
 * Decoding through ffmpeg, when it is installed, for what the WebAssembly decoders do not cover
 * (AAC/M4A/MP4, WebM/Matroska, AIFF, WMA, AMR, ...). ffprobe gives the audio's rate and channel count,
 * then ffmpeg streams native-rate, all-channel float samples through a pipe, so channel choice and
 * resampling stay the toolkit's own (as for every other format) and a long file is never held whole.
 */
import { spawn } from 'node:child_process';
import type { DecodedChunk } from './decoded.js';
import { WavError } from './wav-header.js';

/** The last non-empty line a tool wrote to stderr (its reason), shortened to one line. */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.at(-1) ?? '').slice(0, 200);
}

function notInstalled(name: string): WavError {
  return new WavError(`${name} audio needs ffmpeg, which is not installed (Debian/Ubuntu: apt-get install ffmpeg); or convert the file to WAV, FLAC, Ogg or MP3`);
}

/** `file:` keeps ffmpeg from reading a name with a colon as a protocol ("rtmp:x.m4a"). */
const input = (file: string) => `file:${file}`;

interface Probe {
  sampleRate: number;
  channels: number;
}

async function probe(file: string, name: string): Promise<Probe> {
  const args = ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=sample_rate,channels', '-of', 'csv=p=0', input(file)];
  const { code, stdout, stderr, missing } = await new Promise<{ code: number | null; stdout: string; stderr: string; missing: boolean }>((resolve) => {
    const child = spawn('ffprobe', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, stdout, stderr, missing: e.code === 'ENOENT' }));
    child.on('close', (code) => resolve({ code, stdout, stderr, missing: false }));
  });
  if (missing) throw notInstalled(name);
  if (code !== 0) throw new WavError(`corrupt or unreadable ${name} file (ffprobe: ${lastLine(stderr) || `exit code ${code}`})`);
  const [rate, channels] = stdout.trim().split('\n')[0]!.split(',').map(Number);
  if (!rate || !channels) throw new WavError(`no audio stream in this ${name} file`);
  return { sampleRate: rate, channels };
}

/** Decodes `file` with ffmpeg; the child process is ended if the reader stops early. */
export async function* decodeWithFfmpeg(file: string, name: string): AsyncGenerator<DecodedChunk> {
  const { sampleRate, channels } = await probe(file, name);
  // -xerror: stop at the first damaged packet, so a corrupt file is reported rather than half-read silently.
  const args = ['-nostdin', '-v', 'error', '-xerror', '-i', input(file), '-map', '0:a:0', '-f', 'f32le', '-acodec', 'pcm_f32le', 'pipe:1'];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
  const exited = new Promise<{ code: number | null; missing: boolean }>((resolve) => {
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, missing: e.code === 'ENOENT' }));
    child.on('close', (code) => resolve({ code, missing: false }));
  });
  const frameBytes = 4 * channels;
  let rest: Buffer = Buffer.alloc(0);
  try {
    for await (const data of child.stdout as AsyncIterable<Buffer>) {
      const bytes = rest.length ? Buffer.concat([rest, data]) : data;
      const frames = Math.floor(bytes.length / frameBytes);
      rest = Buffer.from(bytes.subarray(frames * frameBytes));
      const planar = Array.from({ length: channels }, () => new Float32Array(frames));
      for (let f = 0, o = 0; f < frames; f++) {
        for (let c = 0; c < channels; c++, o += 4) planar[c]![f] = bytes.readFloatLE(o);
      }
      yield { channels: planar, frames, sampleRate, errors: [] };
    }
    const { code, missing } = await exited;
    if (missing) throw notInstalled(name);
    if (code !== 0) yield { channels: [], frames: 0, sampleRate, errors: [`ffmpeg: ${lastLine(stderr) || `exit code ${code}`}`] };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}
