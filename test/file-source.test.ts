import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { firstValueFrom, from, lastValueFrom, take, toArray } from 'rxjs';
import type { AudioItem, StreamItem } from '../toolkit/items.js';
import type { Logger } from '../toolkit/operator.js';
import { FlowControl } from '../toolkit/runtime/flow.js';
import { fileReader, fileSource, type FileSourceParams } from '../operators/file-source/index.js';
import { Resampler } from '../operators/file-source/resampler.js';
import { bufferSource, readWavHeader, WavError } from '../operators/file-source/wav-header.js';
import { makeWav, sine, toneOf, zeroCrossingFrequency, type WavSpec } from './helpers/wav-writer.js';
import { joinedAudio } from './helpers/audio-items.js';

let dir: string;
const warnings: string[] = [];
const log: Logger = { info: () => {}, verbose: () => {}, warn: (m) => warnings.push(m) };

function write(name: string, data: Buffer | string): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
  return p;
}

async function read(params: Partial<FileSourceParams>): Promise<StreamItem[]> {
  return lastValueFrom(fileSource(params, { log }).pipe(toArray()));
}

function byStream(items: StreamItem[]): Map<string, StreamItem[]> {
  const m = new Map<string, StreamItem[]>();
  for (const it of items) {
    if (!m.has(it.streamId)) m.set(it.streamId, []);
    m.get(it.streamId)!.push(it);
  }
  return m;
}

/** The stream's audio joined, after checking its positions are contiguous from 0. */
const joined = joinedAudio;

const goodSpec = (rate = 16000, seconds = 0.5): WavSpec => ({ sampleRate: rate, channels: [sine(440, rate, seconds)] });

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'file-source-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  warnings.length = 0;
});

describe('FileSource: formats and resampling', () => {
  const cases: Array<[string, Partial<WavSpec>, number, number]> = [
    // name, spec, input rate, amplitude tolerance
    ['16-bit PCM 16 kHz', { bits: 16 }, 16000, 1e-3],
    ['8-bit PCM 8 kHz', { bits: 8 }, 8000, 2e-2],
    ['24-bit PCM 44.1 kHz', { bits: 24 }, 44100, 1e-3],
    ['32-bit PCM 48 kHz', { bits: 32 }, 48000, 1e-3],
    ['float32 48 kHz', { encoding: 'float', bits: 32 }, 48000, 1e-3],
    ['float64 22.05 kHz', { encoding: 'float', bits: 64 }, 22050, 1e-3],
    ['µ-law 8 kHz', { encoding: 'mulaw' }, 8000, 1e-2],
    ['A-law 8 kHz', { encoding: 'alaw' }, 8000, 1e-2],
    ['WAVE_FORMAT_EXTENSIBLE 24-bit 48 kHz', { bits: 24, extensible: true }, 48000, 1e-3],
    ['WAVE_FORMAT_EXTENSIBLE float 44.1 kHz', { encoding: 'float', bits: 32, extensible: true }, 44100, 1e-3],
  ];
  for (const [name, spec, rate, tol] of cases) {
    it(`${name} -> 16 kHz keeps a 1 kHz sine's frequency and amplitude`, async () => {
      const seconds = 1;
      const file = write(`fmt-${name.replace(/\W+/g, '_')}.wav`, makeWav({ sampleRate: rate, channels: [sine(1000, rate, seconds, 0.5)], ...spec }));
      const items = await read({ files: file });
      expect(items.at(-1)).to.deep.equal({ kind: 'punct', streamId: file });
      const x = joined(items);
      expect(x.length).to.equal(Math.ceil((rate * seconds * 16000) / rate));
      const mid = x.subarray(800, x.length - 800); // away from the edges (zero outside the stream)
      expect(zeroCrossingFrequency(mid, 16000)).to.be.closeTo(1000, 0.5);
      expect(toneOf(mid, 16000, 1000).amplitude).to.be.closeTo(0.5, 0.5 * tol + 1e-4);
      expect(warnings).to.deep.equal([]);
    });
  }

  it('stereo: picks channel 0, channel 1, or the mix', async () => {
    const file = write('stereo.wav', makeWav({ sampleRate: 16000, channels: [sine(500, 16000, 0.5, 0.4), sine(1500, 16000, 0.5, 0.2)] }));
    const ch0 = joined(await read({ files: file, channel: 0 }));
    const ch1 = joined(await read({ files: file, channel: 1 }));
    const mix = joined(await read({ files: file, channel: 'mix' }));
    expect(toneOf(ch0, 16000, 500).amplitude).to.be.closeTo(0.4, 1e-3);
    expect(toneOf(ch0, 16000, 1500).amplitude).to.be.below(1e-3);
    expect(toneOf(ch1, 16000, 1500).amplitude).to.be.closeTo(0.2, 1e-3);
    expect(toneOf(mix, 16000, 500).amplitude).to.be.closeTo(0.2, 1e-3);
    expect(toneOf(mix, 16000, 1500).amplitude).to.be.closeTo(0.1, 1e-3);
    const err = (await read({ files: file, channel: 2 })).find((i) => i.kind === 'error');
    expect(err).to.include({ message: `${file}: channel 2 requested but the file has 2 channel(s)` });
  });

  it('6 channels, other target rates', async () => {
    const chans = Array.from({ length: 6 }, (_, c) => sine(250 * (c + 1), 48000, 0.5, 0.1));
    const file = write('six.wav', makeWav({ sampleRate: 48000, channels: chans }));
    const x = joined(await read({ files: file, channel: 5, sampleRate: 8000 }));
    expect(x.length).to.equal(4000);
    expect(toneOf(x.subarray(400, 3600), 8000, 1500).amplitude).to.be.closeTo(0.1, 1e-3);
  });

  it('emits exact blockMs blocks (the last one short)', async () => {
    const file = write('blocks.wav', makeWav({ sampleRate: 44100, channels: [sine(300, 44100, 1.03)] }));
    const audio = (await read({ files: file, blockMs: 20 })).filter((i): i is AudioItem => i.kind === 'audio');
    const total = Math.ceil((Math.round(44100 * 1.03) * 16000) / 44100);
    expect(audio.slice(0, -1).every((a) => a.samples.length === 320)).to.equal(true);
    expect(audio.reduce((a, b) => a + b.samples.length, 0)).to.equal(total);
    expect(audio.at(-1)!.samples.length).to.equal(total - 320 * (audio.length - 1));
  });

  it('attenuates what would alias (10 kHz at 48 kHz -> 16 kHz) by more than 60 dB', () => {
    const r = new Resampler(48000, 16000);
    const y = new Float32Array([...r.process(sine(10000, 48000, 1, 0.5)), ...r.flush()]);
    const alias = toneOf(y.subarray(1000, 15000), 16000, 6000).amplitude;
    expect(20 * Math.log10(alias / 0.5)).to.be.below(-60);
  });
});

describe('Resampler: streaming is exact across block boundaries', () => {
  const rates: Array<[number, number]> = [
    [44100, 16000],
    [8000, 16000],
    [48000, 16000],
    [22050, 16000],
    [16000, 16000],
    [44101, 16000], // 16000 phases: the quantised-phase path
  ];
  for (const [from, to] of rates) {
    it(`${from} -> ${to}: any blocking gives the same samples, ceil(N*out/in) of them`, () => {
      const input = sine(777, from, 0.3, 0.7);
      const whole = new Resampler(from, to);
      const ref = new Float32Array([...whole.process(input), ...whole.flush()]);
      expect(ref.length).to.equal(Math.ceil((input.length * to) / from));
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 20 }), (sizes) => {
          const r = new Resampler(from, to);
          const parts: number[] = [];
          let o = 0;
          for (let k = 0; o < input.length; k++) {
            const n = sizes[k % sizes.length]! || 1;
            parts.push(...r.process(input.subarray(o, o + n)));
            o += n;
          }
          parts.push(...r.flush());
          expect(parts.length).to.equal(ref.length);
          for (let i = 0; i < ref.length; i++) if (parts[i] !== ref[i]) throw new Error(`sample ${i} differs`);
        }),
        { numRuns: 25 },
      );
    });
  }
});

describe('Resampler: property over random rates', () => {
  it('any rate pair: ceil(N*out/in) samples, and a passband tone keeps its amplitude', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4000, max: 96000 }), fc.constantFrom(8000, 16000, 22050), fc.double({ min: 0.05, max: 0.7, noNaN: true }), (from, to, rel) => {
        const freq = Math.round((rel * Math.min(from, to)) / 2);
        const x = sine(freq, from, 0.25, 0.5);
        const r = new Resampler(from, to);
        const y = new Float32Array([...r.process(x), ...r.flush()]);
        expect(y.length).to.equal(Math.ceil((x.length * to) / from));
        const edge = Math.ceil(to * 0.02);
        expect(toneOf(y.subarray(edge, y.length - edge), to, freq).amplitude).to.be.closeTo(0.5, 2e-3);
      }),
      { numRuns: 15 },
    );
  });
});

describe('FileSource: bad files', () => {
  it('reports each bad file with an exact one-line message and still reads the good one', async () => {
    const bad: Record<string, string> = {};
    const add = (name: string, data: Buffer | string, reason: string) => {
      bad[write(`bad/${name}`, data)] = reason;
    };
    const hdr = makeWav({ sampleRate: 16000, channels: [new Float32Array(0)] });
    add('a-empty.wav', Buffer.alloc(0), 'empty file (0 bytes)');
    add('b-header-only.wav', hdr.subarray(0, 36), 'no data chunk');
    add('c-header-no-data.wav', makeWav({ ...goodSpec(), truncateDataTo: 0 }), 'data chunk is empty (declares 16000 bytes, 0 present)');
    add('d-not-wave.wav', 'just some text, renamed .wav\n', 'not a RIFF/WAVE file');
    add('e-mp3-tag.wav', makeWav({ ...goodSpec(), formatTag: 0x55 }), 'unsupported format tag 85 (MP3)');
    add('f-adpcm.wav', makeWav({ ...goodSpec(), formatTag: 0x11 }), 'unsupported format tag 17 (IMA ADPCM)');
    add('g-zero-channels.wav', makeWav({ ...goodSpec(), channelCount: 0 }), '0 channels');
    add('h-zero-hz.wav', makeWav({ ...goodSpec(), rateField: 0 }), 'sample rate 0 Hz');
    add('i-absurd-rate.wav', makeWav({ ...goodSpec(), rateField: 3000000 }), 'absurd sample rate 3000000 Hz (expected 1000..768000)');
    add('j-riff-only.wav', hdr.subarray(0, 12), 'header only (no fmt or data chunk)');
    // Told by content, not name: an ID3 tag means MP3, and this one holds no audio.
    add('k-mp3-bytes.wav', Buffer.from('ID3\x03\x00\x00\x00\x00\x00\x00', 'latin1'), 'no audio could be decoded: a corrupt, truncated or empty MP3 file');
    add('l-zero-samples.wav', makeWav({ sampleRate: 16000, channels: [new Float32Array(0)] }), 'no audio samples in data chunk');
    add('m-16bit-float.wav', makeWav({ ...goodSpec(), formatTag: 3 }), 'unsupported 16 bits per sample for float');
    fs.mkdirSync(path.join(dir, 'bad/n-dir.wav'), { recursive: true });
    bad[path.join(dir, 'bad/n-dir.wav')] = 'is a directory';
    const missing = path.join(dir, 'bad/o-missing.wav');
    bad[missing] = 'no such file';
    const loop = path.join(dir, 'bad/p-loop.wav');
    fs.symlinkSync(loop, loop);
    bad[loop] = 'too many levels of symbolic links (a symlink loop?)';
    const good = write('bad/z-good.wav', makeWav(goodSpec(16000, 1.5)));

    const glob = path.join(dir, 'bad/*.wav');
    const items = await read({ files: [glob, missing, loop] }); // a glob does not list a symlink loop
    const streams = byStream(items);
    for (const [file, reason] of Object.entries(bad)) {
      expect(streams.get(file), file).to.deep.equal([
        { kind: 'error', streamId: file, operator: 'FileSource', message: `${file}: ${reason}` },
        { kind: 'punct', streamId: file },
      ]);
    }
    expect(joined(streams.get(good)!).length).to.equal(24000);
    expect(streams.get(good)!.at(-1)).to.deep.equal({ kind: 'punct', streamId: good });
    expect(streams.size).to.equal(Object.keys(bad).length + 1);
  });

  it('a FIFO and an unreadable file are errors, not hangs', async function () {
    const fifo = path.join(dir, 'fifo.wav');
    execFileSync('mkfifo', [fifo]);
    const items = await read({ files: fifo });
    expect(items[0]).to.include({ kind: 'error', message: `${fifo}: not a regular file (a FIFO)` });
    if (process.getuid?.() === 0) return; // root reads anything
    const locked = write('locked.wav', makeWav(goodSpec()));
    fs.chmodSync(locked, 0o000);
    expect((await read({ files: locked }))[0]).to.include({ message: `${locked}: permission denied` });
  });

  it('a pattern that matches nothing, a folder without audio, maxDurationS', async () => {
    const empty = path.join(dir, 'empty-folder');
    fs.mkdirSync(empty);
    const none = path.join(dir, 'nothing-*.wav');
    const long = write('long.wav', makeWav(goodSpec(16000, 3)));
    const items = await read({ files: [none, empty, long], maxDurationS: 2 });
    expect(items.filter((i) => i.kind === 'error').map((i) => (i as { message: string }).message)).to.deep.equal([
      `${none}: no files match this pattern`,
      `${empty}: no audio files (.wav, .wave, .flac, .ogg, .oga, .opus, .mp3, .m4a, .aac, .mp4, .webm, .mka, .aif, .aiff) in folder`,
      `${long}: duration 3.0 s exceeds maxDurationS (2 s)`,
    ]);
    expect(items.filter((i) => i.kind === 'punct')).to.have.length(3);
  });
});

describe('FileSource: odd but usable files', () => {
  it('odd-sized chunks (padded or not), RIFF sizes that lie, a trailing partial frame', async () => {
    const base = goodSpec(16000, 0.25);
    const files = {
      padded: write('odd-padded.wav', makeWav({ ...base, extraChunks: [['LIST', Buffer.from('abc')], ['junk', Buffer.alloc(7)]] })),
      unpadded: write('odd-unpadded.wav', makeWav({ ...base, extraChunks: [['LIST', Buffer.from('abc')]], noPad: true })),
      riffBig: write('riff-big.wav', makeWav({ ...base, riffSizeField: 0xfffffff0 })),
      riffSmall: write('riff-small.wav', makeWav({ ...base, riffSizeField: 20 })),
      streaming: write('streaming.wav', makeWav({ ...base, dataSizeField: 0xffffffff, riffSizeField: 0xffffffff })),
    };
    for (const file of Object.values(files)) {
      const x = joined(await read({ files: file }));
      expect(x.length, file).to.equal(4000);
      expect(toneOf(x.subarray(200, 3800), 16000, 440).amplitude, file).to.be.closeTo(0.5, 1e-3);
    }
    expect(warnings).to.deep.equal([]);
    const partial = Buffer.concat([makeWav(base), Buffer.from([7])]);
    partial.writeUInt32LE(8001, 40); // the data chunk's size: one byte of a frame more
    const odd = write('partial-frame.wav', partial);
    expect(joined(await read({ files: odd })).length).to.equal(4000);
    expect(warnings).to.deep.equal([`${odd}: data chunk ends with a partial frame (1 bytes ignored)`]);
  });

  it('a truncated data chunk is used as far as it goes, with a warning', async () => {
    const file = write('truncated.wav', makeWav({ ...goodSpec(16000, 1), truncateDataTo: 10000 }));
    const items = await read({ files: file });
    expect(joined(items).length).to.equal(5000);
    expect(items.some((i) => i.kind === 'error')).to.equal(false);
    expect(warnings).to.deep.equal([`${file}: data chunk truncated (declares 32000 bytes, 10000 present); used what is there`]);
  });

  it('NaN and Inf samples become 0 with a warning', async () => {
    const x = sine(440, 16000, 0.1);
    x[5] = NaN;
    x[6] = Infinity;
    x[7] = -Infinity;
    const file = write('nan.wav', makeWav({ sampleRate: 16000, channels: [x], encoding: 'float' }));
    const y = joined(await read({ files: file }));
    expect([y[5], y[6], y[7]]).to.deep.equal([0, 0, 0]);
    expect(y.every(Number.isFinite)).to.equal(true);
    expect(warnings).to.deep.equal([`${file}: replaced 3 NaN/Inf sample(s) with 0`]);
  });

  it('a folder is read in sorted order, not descended; concurrency interleaves whole streams', async () => {
    const folder = path.join(dir, 'folder');
    const names = ['c.wav', 'a.WAV', 'b.wave'];
    for (const n of names) write(`folder/${n}`, makeWav(goodSpec(16000, 5))); // 160 kB: several reads each
    write('folder/notes.txt', 'x');
    write('folder/sub/d.wav', makeWav(goodSpec()));
    const items = await read({ files: folder });
    const order = items.filter((i) => i.kind === 'punct').map((i) => i.streamId);
    expect(order).to.deep.equal(['a.WAV', 'b.wave', 'c.wav'].map((n) => path.join(folder, n)));
    const conc = await read({ files: folder, concurrency: 3, blockMs: 50 });
    const s = byStream(conc);
    expect(s.size).to.equal(3);
    for (const its of s.values()) expect(joined(its).length).to.equal(80000);
    const firstPunct = conc.findIndex((i) => i.kind === 'punct');
    expect(new Set(conc.slice(0, firstPunct).map((i) => i.streamId)).size).to.be.at.least(2);
  });

  it('waits for flow control before each block; stops at unsubscribe', async () => {
    const file = write('flow.wav', makeWav(goodSpec(16000, 2)));
    const flow = new FlowControl(1);
    flow.hold(1); // a stage holds one item: the source must wait
    const got: StreamItem[] = [];
    const sub = fileSource({ files: file }, { log, flow }).subscribe((i) => got.push(i));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).to.have.length(0);
    flow.release(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(got.length).to.be.greaterThan(0);
    sub.unsubscribe();
    await new Promise((r) => setTimeout(r, 30));
    // Unsubscribing while the source waits on flow control ends its read (the file is closed).
    flow.hold(1);
    const waiting = fileSource({ files: file }, { log, flow }).subscribe(() => {});
    await new Promise((r) => setTimeout(r, 30));
    const fds = fs.readdirSync('/proc/self/fd').length;
    waiting.unsubscribe();
    await new Promise((r) => setTimeout(r, 30));
    expect(fs.readdirSync('/proc/self/fd').length).to.be.below(fds);
    flow.release(1);
    const first = await firstValueFrom(fileSource({ files: file }, { log }).pipe(take(3), toArray()));
    expect(first.map((i) => (i as AudioItem).startSample)).to.deep.equal([0, 1600, 3200]);
  });

  it('pace 1 reads in real time; an abort ends open streams with their punct', async () => {
    const file = write('paced.wav', makeWav(goodSpec(16000, 0.3)));
    const t0 = Date.now();
    const items = await read({ files: file, pace: 1 });
    expect(Date.now() - t0).to.be.within(250, 600);
    expect(joined(items).length).to.equal(4800);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 120);
    const cut = await lastValueFrom(fileSource({ files: [file, file + '.other'], pace: 1 }, { log, signal: ac.signal }).pipe(toArray()));
    expect(cut.at(-1)).to.deep.equal({ kind: 'punct', streamId: file });
    expect(cut.filter((i) => i.kind === 'audio').length).to.be.within(1, 2);
  });
});

describe('FileSource: raw PCM, RF64, growing files, tiny files', () => {
  it('reads headerless files in the declared raw format; WAV files beside them stay WAV', async () => {
    const x = sine(1000, 8000, 0.5, 0.25);
    const pcm = Buffer.alloc(x.length * 2);
    x.forEach((v, i) => pcm.writeInt16LE(Math.round(v * 32767), i * 2));
    const folder = path.join(dir, 'raw-folder');
    const raw = write('raw-folder/a.raw', pcm);
    const wav = write('raw-folder/b.wav', makeWav(goodSpec(16000, 0.5)));
    const items = await read({ files: folder, raw: { encoding: 's16le', sampleRate: 8000, channels: 1 } });
    const s = byStream(items);
    const y = joined(s.get(raw)!);
    expect(y.length).to.equal(8000);
    expect(toneOf(y.subarray(800, 7200), 16000, 1000).amplitude).to.be.closeTo(0.25, 1e-3);
    expect(joined(s.get(wav)!).length).to.equal(8000);
    const odd = write('odd.raw', Buffer.alloc(5));
    const oddItems = await read({ files: odd, raw: { encoding: 's16le', sampleRate: 16000, channels: 1 } });
    expect(joined(oddItems).length).to.equal(2);
    expect(warnings).to.deep.equal([`${odd}: raw data ends with a partial frame (1 bytes ignored)`]);
  });

  it('RF64: the ds64 data size is honoured', async () => {
    const spec = goodSpec(16000, 0.25);
    const ds64 = Buffer.alloc(28);
    ds64.writeBigUInt64LE(7998n, 8); // one frame less than is there
    const buf = makeWav({ ...spec, dataSizeField: 0xffffffff, riffSizeField: 0xffffffff, extraChunks: [['ds64', ds64]] });
    buf.write('RF64', 0, 'latin1');
    const file = write('rf64.wav', buf);
    expect(joined(await read({ files: file })).length).to.equal(3999);
    expect(warnings).to.deep.equal([]);
  });

  it('a file that grows while it is read is followed up to its declared size', async () => {
    const full = makeWav(goodSpec(16000, 1));
    const file = write('growing.wav', full.subarray(0, 44 + 6400)); // two blocks: the second waits
    const flow = new FlowControl(1);
    flow.hold(1);
    const done = lastValueFrom(fileSource({ files: file }, { log, flow }).pipe(toArray()));
    await new Promise((r) => setTimeout(r, 30)); // the source has read what was there and waits
    fs.appendFileSync(file, full.subarray(44 + 6400));
    flow.release(1);
    const items = await done;
    expect(joined(items).length).to.equal(16000);
    expect(warnings).to.deep.equal([]);
  });

  it('0.01 s of audio and all-silence files are ordinary streams', async () => {
    const tiny = write('tiny.wav', makeWav({ sampleRate: 44100, channels: [sine(440, 44100, 0.01)] }));
    const silent = write('silent.wav', makeWav({ sampleRate: 16000, channels: [new Float32Array(16000)] }));
    const s = byStream(await read({ files: [tiny, silent] }));
    expect(joined(s.get(tiny)!).length).to.equal(160);
    const z = joined(s.get(silent)!);
    expect(z.length).to.equal(16000);
    expect(z.every((v) => v === 0)).to.equal(true);
  });
});

describe('fileReader: paths from an Observable', () => {
  it('reads each path as it arrives, errors per stream, as the source does', async () => {
    const a = write('reader/a.wav', makeWav(goodSpec(8000, 0.5)));
    const missing = path.join(dir, 'reader/none.wav');
    const items = await lastValueFrom(from([a, missing]).pipe(fileReader({ sampleRate: 16000 }, { log }), toArray()));
    const s = byStream(items);
    expect(joined(s.get(a)!).length).to.equal(8000);
    expect(s.get(missing)).to.deep.equal([
      { kind: 'error', streamId: missing, operator: 'FileSource', message: `${missing}: no such file` },
      { kind: 'punct', streamId: missing },
    ]);
    expect(() => fileReader({ blockMs: -1 })).to.throw("FileSource: parameter 'blockMs' must be > 0");
  });
});

describe('WAV parser: property tests', () => {
  const ch = [sine(300, 8000, 0.01), sine(600, 8000, 0.01)];
  const corpus = [
    makeWav({ sampleRate: 8000, channels: ch, bits: 16, extraChunks: [['LIST', Buffer.from('xyz')]] }),
    makeWav({ sampleRate: 8000, channels: ch, bits: 24, extensible: true }),
    makeWav({ sampleRate: 8000, channels: ch, encoding: 'float', extensible: true, extraChunks: [['fact', Buffer.alloc(4)]] }),
    makeWav({ sampleRate: 8000, channels: ch, encoding: 'mulaw' }),
  ];

  it('any mutation of a valid file parses or fails with a WavError, never beyond the file', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(corpus.length - 1),
        fc.array(fc.tuple(fc.nat(120), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
        fc.nat(200),
        async (which, edits, cut) => {
          const buf = Buffer.from(corpus[which]!);
          for (const [at, v] of edits) buf[at % buf.length] = v;
          const b = buf.subarray(0, buf.length - cut);
          try {
            const info = await readWavHeader(bufferSource(b));
            expect(info.frames).to.be.greaterThan(0);
            expect(info.dataOffset + info.frames * info.frameBytes).to.be.at.most(b.length);
            expect(info.channels).to.be.within(1, 256);
          } catch (e) {
            if (!(e instanceof WavError)) throw e;
            expect(e.message).to.not.include('\n');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the unmutated corpus parses', async () => {
    for (const b of corpus) expect((await readWavHeader(bufferSource(b))).frames).to.equal(80);
  });

  it('mutated files through FileSource: one punct each, an error or finite contiguous audio', async () => {
    const file = path.join(dir, 'fuzz.wav');
    let errors = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(corpus.length - 1),
        fc.array(fc.tuple(fc.nat(120), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(200),
        async (which, edits, cut) => {
          const buf = Buffer.from(corpus[which]!);
          for (const [at, v] of edits) buf[at % buf.length] = v;
          fs.writeFileSync(file, buf.subarray(0, buf.length - cut));
          const items = await read({ files: file, maxDurationS: 3600 });
          expect(items.filter((i) => i.kind === 'punct')).to.have.length(1);
          expect(items.at(-1)!.kind).to.equal('punct');
          const errs = items.filter((i) => i.kind === 'error');
          if (errs.length) {
            errors++;
            expect(items).to.have.length(2);
            expect((errs[0] as { message: string }).message).to.match(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [^\n]+$`));
          } else {
            const x = joined(items);
            expect(x.length).to.be.greaterThan(0);
            expect(x.every(Number.isFinite)).to.equal(true);
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(errors).to.be.greaterThan(0);
  });

  it('random bytes (with or without a RIFF/WAVE start) never throw anything but a WavError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.boolean(), async (bytes, riff) => {
        const b = riff ? Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVEfmt '), Buffer.from(bytes)]) : Buffer.from(bytes);
        try {
          await readWavHeader(bufferSource(b));
        } catch (e) {
          if (!(e instanceof WavError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
