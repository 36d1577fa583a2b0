import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom, take, toArray } from 'rxjs';
import type { AudioItem, StreamItem } from '../toolkit/items.js';
import type { Logger } from '../toolkit/operator.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { fileSource, type FileSourceParams } from '../operators/file-source/index.js';
import { AUDIO_EXTENSIONS } from '../operators/file-source/files.js';
import { cer, CLIP, fileTranscript } from './helpers/live.js';
import { toneOf, zeroCrossingFrequency } from './helpers/wav-writer.js';
import { joinedAudio } from './helpers/audio-items.js';

/** Made by test/fixtures/audio/make_compressed.sh from CLIP (and a stereo tone pair). */
const FIXTURES = path.join(TOOLKIT_ROOT, 'test/fixtures/audio');
const fixture = (name: string) => path.join(FIXTURES, name);

const hasFfmpeg = (() => {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    execFileSync('ffprobe', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let dir: string;
const warnings: string[] = [];
const log: Logger = { info: () => {}, verbose: () => {}, warn: (m) => warnings.push(m) };

async function read(params: Partial<FileSourceParams>): Promise<StreamItem[]> {
  return lastValueFrom(fileSource(params, { log }).pipe(toArray()));
}

/** The stream's audio joined, after checking its positions are contiguous from 0 and it ends with its punct. */
function joined(items: StreamItem[], streamId?: string): Float32Array {
  const mine = streamId === undefined ? items : items.filter((i) => i.streamId === streamId);
  expect(mine.at(-1)?.kind).to.equal('punct');
  return joinedAudio(mine);
}

const errorsOf = (items: StreamItem[]) => items.filter((i) => i.kind === 'error').map((i) => (i as { message: string }).message);

/** Signal-to-noise ratio (dB) of `x` against the reference `ref`, over their common length. */
function snr(x: Float32Array, ref: Float32Array): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < Math.min(x.length, ref.length); i++) {
    signal += ref[i]! ** 2;
    noise += (x[i]! - ref[i]!) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compressed-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  warnings.length = 0;
});

describe('FileSource: compressed audio', function () {
  let wav: Float32Array;
  before(async () => {
    wav = joined(await read({ files: CLIP }));
  });

  it('FLAC decodes to exactly the samples of the WAV it was made from', async () => {
    const flac = joined(await read({ files: fixture('librivox.flac') }));
    expect(flac.length).to.equal(wav.length);
    // libFLAC scales 16-bit samples by 1/32767, the WAV reader by 1/32768: equal to within that.
    const worst = flac.reduce((m, v, i) => Math.max(m, Math.abs(v - wav[i]!)), 0);
    expect(worst).to.be.below(1e-4);
    expect(warnings).to.deep.equal([]);
  });

  // Encoder delay is removed (Opus pre-skip, MP3 gapless info), so the lossy copies line up with the WAV.
  const lossy: Array<[string, number]> = [
    ['librivox.ogg', 15],
    ['librivox.opus', 5], // 32 kbit/s Opus keeps the sound more than the waveform
    ['librivox.mp3', 15],
  ];
  for (const [name, minSnr] of lossy) {
    it(`${name}: the same length as the WAV and within the codec's loss (SNR over ${minSnr} dB)`, async () => {
      const x = joined(await read({ files: fixture(name) }));
      expect(x.length).to.equal(wav.length);
      expect(snr(x, wav)).to.be.above(minSnr);
      expect(warnings).to.deep.equal([]);
    });
  }

  for (const name of ['tones.flac', 'tones.mp3']) {
    it(`${name} (44.1 kHz stereo): picks channel 0, channel 1 or the mix, resampled to 16 kHz like WAV`, async () => {
      const file = fixture(name);
      const [ch0, ch1, mix] = await Promise.all([0, 1, 'mix' as const].map(async (channel) => joined(await read({ files: file, channel }))));
      const tol = name.endsWith('.flac') ? 1e-3 : 2e-2;
      expect(ch0!.length).to.equal(Math.ceil((22050 * 16000) / 44100));
      const mid = (x: Float32Array) => x.subarray(800, x.length - 800);
      expect(zeroCrossingFrequency(mid(ch0!), 16000)).to.be.closeTo(500, 1);
      expect(toneOf(mid(ch0!), 16000, 500).amplitude).to.be.closeTo(0.4, tol);
      expect(toneOf(mid(ch0!), 16000, 1500).amplitude).to.be.below(tol);
      expect(toneOf(mid(ch1!), 16000, 1500).amplitude).to.be.closeTo(0.2, tol);
      expect(toneOf(mid(mix!), 16000, 500).amplitude).to.be.closeTo(0.2, tol);
      expect(toneOf(mid(mix!), 16000, 1500).amplitude).to.be.closeTo(0.1, tol);
      expect(errorsOf(await read({ files: file, channel: 2 }))).to.deep.equal([`${file}: channel 2 requested but the file has 2 channel(s)`]);
    });
  }

  it('maxDurationS applies to compressed files too (one error line)', async () => {
    const file = fixture('librivox.ogg');
    expect(errorsOf(await read({ files: file, maxDurationS: 1 }))).to.deep.equal([`${file}: duration exceeds maxDurationS (1 s)`]);
  });

  it('tells the format by content, not by name: an MP3 named .wav is read as MP3', async () => {
    const renamed = path.join(dir, 'really-an-mp3.wav');
    fs.copyFileSync(fixture('librivox.mp3'), renamed);
    expect(joined(await read({ files: renamed }))).to.deep.equal(joined(await read({ files: fixture('librivox.mp3') })));
  });

  it('decodes as a stream: the first block arrives without reading the whole file, and stopping early ends cleanly', async () => {
    const items = await lastValueFrom(fileSource({ files: fixture('librivox.flac'), blockMs: 20 }, { log }).pipe(take(2), toArray()));
    expect(items.map((i) => [i.kind, (i as AudioItem).startSample])).to.deep.equal([
      ['audio', 0],
      ['audio', 320],
    ]);
  });

  it('a corrupt or truncated compressed file: one error line naming it; the other files go on', async () => {
    const bytes = (name: string) => fs.readFileSync(fixture(name));
    const garbled = (name: string, from: number) => {
      const b = Buffer.from(bytes(name));
      for (let i = from; i < b.length; i++) b[i] = (i * 2654435761) >>> 24; // fixed pseudo-random bytes
      return b;
    };
    const put = (name: string, data: Buffer) => {
      const p = path.join(dir, 'bad', name);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, data);
      return p;
    };
    const flac = put('a-garbled.flac', garbled('librivox.flac', 100));
    const ogg = put('b-garbled.ogg', garbled('librivox.ogg', 300));
    const opus = put('c-garbled.opus', garbled('librivox.opus', 300));
    const mp3Header = put('d-cut-short.mp3', bytes('librivox.mp3').subarray(0, 10));
    const mp3 = put('h-garbled.mp3', garbled('librivox.mp3', 200));
    const empty = put('e-empty.flac', Buffer.alloc(0));
    const oggOther = put('f-unknown-codec.ogg', Buffer.concat([bytes('librivox.opus').subarray(0, 28), Buffer.from('Theora  '), Buffer.alloc(40)]));
    const truncated = put('g-truncated.flac', bytes('librivox.flac').subarray(0, 30000));
    const good = put('z-good.mp3', bytes('librivox.mp3'));

    const items = await read({ files: path.join(dir, 'bad') });
    expect(errorsOf(items)).to.deep.equal([
      `${flac}: no audio could be decoded: a corrupt, truncated or empty FLAC file`,
      `${ogg}: no audio could be decoded: a corrupt, truncated or empty Ogg Vorbis file`,
      `${opus}: no audio could be decoded: a corrupt, truncated or empty Ogg Opus file`,
      `${mp3Header}: no audio could be decoded: a corrupt, truncated or empty MP3 file`,
      `${empty}: empty file (0 bytes)`,
      `${oggOther}: not a readable Ogg stream (no Opus, Vorbis, FLAC or Speex header in its first page)`,
      `${mp3}: corrupt MP3 data after 0.00 s of audio (-1 MPG123_ERR)`,
    ]);
    // A truncated FLAC is read as far as it goes, with one warning, as a truncated WAV is.
    const truncatedAudio = joined(items, truncated);
    expect(truncatedAudio.length).to.be.above(0).and.below(wav.length);
    expect(warnings).to.deep.equal([
      `${truncated}: truncated or damaged FLAC file (${truncatedAudio.length} of the ${wav.length} samples it declares decoded); used what is there`,
    ]);
    expect(joined(items, good).length).to.equal(wav.length);
  });

  it('a folder lists every supported kind, sorted', async () => {
    const folder = path.join(dir, 'mixed');
    fs.mkdirSync(folder);
    const names = ['a.wav', 'b.flac', 'c.ogg', 'd.opus', 'e.mp3', 'notes.txt', 'cover.jpg'];
    const sources = ['', 'librivox.flac', 'librivox.ogg', 'librivox.opus', 'librivox.mp3'];
    names.forEach((n, i) => fs.copyFileSync(sources[i] ? fixture(sources[i]!) : CLIP, path.join(folder, n)));
    const items = await read({ files: folder });
    expect([...new Set(items.map((i) => path.basename(i.streamId)))]).to.deep.equal(names.slice(0, 5));
    expect(errorsOf(items)).to.deep.equal([]);
    for (const ext of ['.flac', '.ogg', '.oga', '.opus', '.mp3', '.m4a', '.aac', '.webm']) expect(AUDIO_EXTENSIONS).to.include(ext);
  });
});

describe('FileSource: formats left to ffmpeg', function () {
  it('without ffmpeg on PATH, an M4A file gets one line naming what to install', async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = path.join(dir, 'no-tools-here');
    try {
      const file = fixture('librivox.m4a');
      expect(errorsOf(await read({ files: file }))).to.deep.equal([
        `${file}: MP4/M4A audio needs ffmpeg, which is not installed (Debian/Ubuntu: apt-get install ffmpeg); or convert the file to WAV, FLAC, Ogg or MP3`,
      ]);
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('with ffmpeg, M4A (AAC) is read; a corrupt one gets one line', async function () {
    if (!hasFfmpeg) this.skip(); // .ci/run installs ffmpeg; without it the line above is what users get
    const x = joined(await read({ files: fixture('librivox.m4a') }));
    // AAC keeps its encoder delay (ffmpeg does not trim it from raw .m4a without an edit list): within 50 ms.
    expect(Math.abs(x.length - 47840)).to.be.below(800);
    const bad = path.join(dir, 'garbled.m4a');
    const b = Buffer.from(fs.readFileSync(fixture('librivox.m4a')));
    b.fill(0x55, 40);
    fs.writeFileSync(bad, b);
    const [message, ...more] = errorsOf(await read({ files: bad }));
    expect(more).to.deep.equal([]);
    expect(message).to.match(/: corrupt or unreadable MP4\/M4A file \(ffprobe: .+\)$|: corrupt MP4\/M4A data/);
    expect(message).to.not.include('\n');
  });
});

describe('Compressed audio through the file graph', function () {
  let wavText: string;
  before(async () => {
    wavText = await fileTranscript(CLIP);
  });

  it('a FLAC copy gives exactly the WAV transcript', async () => {
    expect(await fileTranscript(fixture('librivox.flac'))).to.equal(wavText);
  });

  for (const name of ['librivox.ogg', 'librivox.opus', 'librivox.mp3']) {
    it(`${name} gives the WAV transcript within the codec's loss (CER under 0.2)`, async () => {
      expect(cer(await fileTranscript(fixture(name)), wavText)).to.be.below(0.2);
    });
  }

  it('librivox.m4a (through ffmpeg) gives the WAV transcript within the codec loss', async function () {
    if (!hasFfmpeg) this.skip();
    expect(cer(await fileTranscript(fixture('librivox.m4a')), wavText)).to.be.below(0.2);
  });
});
