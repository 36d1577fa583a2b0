/**
 * FileSource -> Chunker -> Sink over a long generated WAV: throughput (x real time) and peak RSS.
 *
 *   node dist/bench/file-source.js [--minutes 60] [--rate 44100] [--bits 16] [--quick]
 *
 * Writes the WAV incrementally to the OS temp folder (never whole in memory), then streams it.
 * Ends with `RESULT file-source ...` lines (DESIGN.md's benchmark convention).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom } from 'rxjs';
import { chunker } from '../operators/chunker/index.js';
import { fileSource } from '../operators/file-source/index.js';
import { sink } from '../operators/sink/index.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const quick = process.argv.includes('--quick');
const minutes = arg('minutes', quick ? 5 : 60);
const rate = arg('rate', 44100);
const bits = arg('bits', 16);

function writeLongWav(file: string): void {
  const frames = Math.round(minutes * 60 * rate);
  const bytes = bits / 8;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(Math.min(0xffffffff, 36 + frames * bytes), 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * bytes, 28);
  header.writeUInt16LE(bytes, 32);
  header.writeUInt16LE(bits, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(Math.min(0xffffffff, frames * bytes), 40);
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, header);
  const block = 1 << 16;
  const buf = Buffer.alloc(block * bytes);
  for (let f = 0; f < frames; f += block) {
    const n = Math.min(block, frames - f);
    for (let i = 0; i < n; i++) {
      const v = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (f + i)) / rate));
      if (bytes === 2) buf.writeInt16LE(v, i * 2);
      else buf.writeIntLE(v << 8, i * 3, 3);
    }
    fs.writeSync(fd, buf, 0, n * bytes);
  }
  fs.closeSync(fd);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-file-source-'));
  const wav = path.join(dir, 'long.wav');
  try {
    process.stderr.write(`writing ${minutes} min of ${rate} Hz ${bits}-bit audio...\n`);
    writeLongWav(wav);
    const sizeMb = fs.statSync(wav).size / 1e6;
    let peakRss = process.memoryUsage().rss;
    const timer = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 50);
    const t0 = performance.now();
    await lastValueFrom(
      fileSource({ files: wav, sampleRate: 16000 }).pipe(chunker({ chunkMs: 160 }), sink({ format: 'jsonl', file: path.join(dir, 'out.jsonl') })),
      { defaultValue: undefined },
    );
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const xrt = (minutes * 60) / seconds;
    console.log('| file | size MB | wall s | x real time | peak RSS MB |');
    console.log('|---|---|---|---|---|');
    console.log(`| ${minutes} min ${rate} Hz ${bits}-bit mono | ${sizeMb.toFixed(0)} | ${seconds.toFixed(1)} | ${xrt.toFixed(0)} | ${(peakRss / 2 ** 20).toFixed(0)} |`);
    console.log(`RESULT file-source minutes=${minutes} rate=${rate} x_realtime=${xrt.toFixed(0)} peak_rss_mb=${(peakRss / 2 ** 20).toFixed(0)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
