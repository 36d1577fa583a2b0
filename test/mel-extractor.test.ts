import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { AudioItem, ErrorItem, FeaturesItem, StreamItem } from '../toolkit/items.js';
import { punct } from '../toolkit/items.js';
import { MelExtractor, melExtractor, MelStream, MelTables, resolveConfig, framesFor } from '../operators/mel-extractor/index.js';
import { RealFft, naivePower } from '../operators/mel-extractor/fft.js';
import type { MelExtractorParams } from '../operators/mel-extractor/config.js';
import { readWavFile } from '../support/wav-file.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/mel');

const readWav = readWavFile;

interface Fixture {
  name: string;
  samples: Float32Array;
  params: MelExtractorParams;
  shape: [number, number];
  ref: Float32Array;
}

function loadFixtures(): Fixture[] {
  const index = JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8')) as {
    fixtures: Array<{ bin: string; header: string; wav: string }>;
  };
  return index.fixtures.map((f) => {
    const h = JSON.parse(readFileSync(join(FIXTURES, f.header), 'utf8'));
    const raw = readFileSync(join(FIXTURES, f.bin));
    const ref = new Float32Array(raw.byteLength / 4);
    for (let i = 0; i < ref.length; i++) ref[i] = raw.readFloatLE(4 * i);
    return { name: f.bin.replace(/\.bin$/, ''), samples: readWav(join(FIXTURES, f.wav)).samples, params: h.params, shape: h.shape, ref };
  });
}

function audio(streamId: string, samples: Float32Array, startSample: number, sampleRate = 16000): AudioItem {
  return { kind: 'audio', streamId, samples, sampleRate, startSample };
}

/** Splits a stream into audio items of the given sizes (cycled). */
function chunked(streamId: string, x: Float32Array, sizes: (i: number) => number): AudioItem[] {
  const out: AudioItem[] = [];
  for (let p = 0, i = 0; p < x.length; i++) {
    const n = Math.min(x.length - p, Math.max(1, sizes(i)));
    out.push(audio(streamId, x.slice(p, p + n), p));
    p += n;
  }
  return out;
}

function run(params: MelExtractorParams, items: StreamItem[]): Promise<StreamItem[]> {
  return lastValueFrom(from(items).pipe(melExtractor(params), toArray()));
}

/** Concatenates a stream's feature items, checking that frame indices are contiguous from 0. */
function collect(items: StreamItem[], streamId: string, nMels: number): Float32Array {
  const feats = items.filter((i): i is FeaturesItem => i.kind === 'features' && i.streamId === streamId);
  let frames = 0;
  for (const f of feats) {
    expect(f.startFrame, `${streamId} startFrame`).to.equal(frames);
    expect(f.nFeatures).to.equal(nMels);
    expect(f.data.length).to.equal(f.nFrames * nMels);
    expect(f.nFrames).to.be.greaterThan(0);
    frames += f.nFrames;
  }
  const out = new Float32Array(frames * nMels);
  let o = 0;
  for (const f of feats) {
    out.set(f.data, o);
    o += f.data.length;
  }
  return out;
}

/** Whole-stream extraction with the core, no RxJS. */
function extractCore(params: MelExtractorParams, x: Float32Array, sizes: (i: number) => number): Float32Array {
  const config = resolveConfig(params);
  const mel = new MelStream(new MelTables(config));
  const parts: Float32Array[] = [];
  let next = 0;
  const sink = (d: Float32Array, n: number, start: number) => {
    expect(start).to.equal(next);
    next += n;
    parts.push(d.slice());
  };
  for (let p = 0, i = 0; p < x.length; i++) {
    const n = Math.min(x.length - p, Math.max(1, sizes(i)));
    mel.push(x.subarray(p, p + n), sink);
    p += n;
  }
  mel.end(sink);
  const out = new Float32Array(parts.reduce((s, d) => s + d.length, 0));
  let o = 0;
  for (const d of parts) {
    out.set(d, o);
    o += d.length;
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** mulberry32 */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random chunk sizes: mostly 1..4000 samples, with stretches of 1-sample chunks. */
function randomSizes(seed: number): (i: number) => number {
  const r = rng(seed);
  return () => {
    const u = r();
    if (u < 0.3) return 1;
    if (u < 0.5) return 1 + Math.floor(r() * 170);
    return 1 + Math.floor(r() * 4000);
  };
}

describe('MelExtractor', () => {
  const fixtures = loadFixtures();
  const byName = new Map(fixtures.map((f) => [f.name, f]));

  it('is a registered-shape stage spec', () => {
    expect(MelExtractor.kind).to.equal('MelExtractor');
    expect(MelExtractor.role).to.equal('stage');
    expect(MelExtractor.input).to.deep.equal(['audio']);
    expect(MelExtractor.output).to.equal('features');
  });

  it('real FFT power spectrum matches a naive DFT', () => {
    const r = rng(7);
    for (const n of [8, 16, 64, 256, 512, 1024]) {
      const x = Float64Array.from({ length: n }, () => r() - 0.5);
      const out = new Float64Array(n / 2 + 1);
      new RealFft(n).power(x, 0, new Float64Array(n).fill(1), out);
      const ref = naivePower(x, n);
      for (let k = 0; k <= n / 2; k++) expect(Math.abs(out[k] - ref[k])).to.be.lessThan(1e-9 * (1 + ref[k]));
    }
  });

  it('matches the float64 NeMo reference fixtures within 1e-4 (every fixture, both presets, custom configs)', async () => {
    expect(fixtures.length).to.be.greaterThanOrEqual(20);
    const rows: string[] = [];
    let worst = 0;
    for (const f of fixtures) {
      const out = await run(f.params, [audio(f.name, f.samples, 0), punct(f.name)]);
      const got = collect(out, f.name, f.shape[1]);
      expect(got.length / f.shape[1], `${f.name} frames`).to.equal(f.shape[0]);
      const d = maxAbsDiff(got, f.ref);
      worst = Math.max(worst, d);
      rows.push(`${f.name.padEnd(32)} frames=${String(f.shape[0]).padStart(4)} max|diff|=${d.toExponential(2)}`);
      expect(d, f.name).to.be.at.most(1e-4);
    }
    console.log(`      ${rows.join('\n      ')}\n      worst max|diff| = ${worst.toExponential(2)}`);
  });

  it('chunked == whole for seeded random chunk sizes, including 1-sample chunks', () => {
    const cases: Array<[string, number]> = [
      ['librivox.nemo-80', 1],
      ['sweep.nemo-80', 2],
      ['noise.custom-povey', 3],
      ['librivox.custom-htk', 4],
      ['flite.nemo-80-per-feature', 5],
      ['one-frame.nemo-80', 6],
      ['zero-frame.nemo-80', 7],
    ];
    let worst = 0;
    for (const [name, seed] of cases) {
      const f = byName.get(name)!;
      const whole = extractCore(f.params, f.samples, () => f.samples.length);
      for (const sizes of [randomSizes(seed), randomSizes(seed + 100), () => 1, () => 159, () => 161]) {
        const got = extractCore(f.params, f.samples, sizes);
        const d = maxAbsDiff(got, whole);
        worst = Math.max(worst, d);
        expect(d, name).to.be.at.most(1e-6);
      }
    }
    // Unusual geometries: hop > nFft/2, odd hop, no centre padding, no preemphasis.
    const x = byName.get('flite.nemo-80')!.samples;
    const geometries: MelExtractorParams[] = [
      { nFft: 256, winLength: 200, hopLength: 160, nMels: 40 },
      { hopLength: 97, window: 'povey' },
      { center: false, preemphasis: 0, nFft: 2048, winLength: 2048, hopLength: 512, nMels: 128 },
    ];
    for (const [k, params] of geometries.entries()) {
      const whole = extractCore(params, x, () => x.length);
      const c = resolveConfig(params);
      expect(whole.length / c.nMels).to.equal(framesFor(c, x.length));
      for (const sizes of [randomSizes(50 + k), () => 1, () => 333]) {
        const d = maxAbsDiff(extractCore(params, x, sizes), whole);
        worst = Math.max(worst, d);
        expect(d, JSON.stringify(params)).to.be.at.most(1e-6);
      }
    }
    console.log(`      chunked vs whole: max|diff| = ${worst}`);
  });

  it('emits frames as soon as they are complete', () => {
    const mel = new MelStream(new MelTables(resolveConfig({})));
    const seen: Array<[number, number, number]> = [];
    const x = new Float32Array(16000).fill(0.01);
    for (let p = 0; p < x.length; p += 160) mel.push(x.subarray(p, p + 160), (_d, n, s) => seen.push([p + 160, s, n]));
    // Frame t needs padded samples up to t*160 + 512, i.e. raw samples up to t*160 + 256.
    for (const [have, start, n] of seen) {
      const last = start + n - 1;
      expect(last * 160 + 256).to.be.at.most(have);
      expect((last + 1) * 160 + 256).to.be.greaterThan(have);
    }
    let tail = 0;
    mel.end((_d, n) => (tail += n));
    expect(mel.framesEmitted).to.equal(100);
    expect(tail).to.equal(1); // frame 99 needs raw samples up to 99*160 + 256 > 16000: the right padding
  });

  it('frame counts are floor(N/hop) (centred) and complete frames only (not centred)', async () => {
    for (const n of [0, 1, 159, 160, 161, 255, 256, 257, 319, 320, 481, 512, 1023, 1024, 1025, 16000, 16159]) {
      const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.1) * 0.3);
      for (const params of [{}, { center: false }, { hopLength: 128, nFft: 1024 as const, winLength: 512 }] as MelExtractorParams[]) {
        const c = resolveConfig(params);
        const items: StreamItem[] = n ? [audio('s', x, 0)] : [];
        const out = await run(params, [...items, punct('s')]);
        const got = collect(out, 's', c.nMels);
        const expected = c.center ? Math.floor(n / c.hopLength) : n >= c.nFft ? Math.floor((n - c.nFft) / c.hopLength) + 1 : 0;
        expect(framesFor(c, n)).to.equal(expected);
        expect(got.length / c.nMels, `n=${n} ${JSON.stringify(params)}`).to.equal(expected);
        expect(out[out.length - 1]).to.deep.equal(punct('s'));
      }
    }
  });

  it('keeps interleaved streams independent', async () => {
    const a = byName.get('librivox.nemo-80')!;
    const b = byName.get('sweep.nemo-80')!;
    const c = byName.get('noise.nemo-80')!;
    const qa = chunked('a', a.samples, randomSizes(11));
    const qb = chunked('b', b.samples, randomSizes(12));
    const qc = chunked('c', c.samples, () => 1601);
    const r = rng(13);
    const items: StreamItem[] = [];
    const queues: Array<[string, AudioItem[]]> = [['a', qa], ['b', qb], ['c', qc]];
    while (queues.some(([, q]) => q.length)) {
      const open = queues.filter(([, q]) => q.length);
      const [id, q] = open[Math.floor(r() * open.length)];
      items.push(q.shift()!);
      if (!q.length) items.push(punct(id));
    }
    const out = await run({}, items);
    for (const [id, f] of [['a', a], ['b', b], ['c', c]] as const) {
      const d = maxAbsDiff(collect(out, id, 80), f.ref);
      expect(d, id).to.be.at.most(1e-4);
      expect(maxAbsDiff(collect(out, id, 80), extractCore({}, f.samples, () => f.samples.length))).to.equal(0);
    }
    expect(out.filter((i) => i.kind === 'punct').map((p) => p.streamId).sort()).to.deep.equal(['a', 'b', 'c']);
    expect(out.filter((i) => i.kind === 'error')).to.have.length(0);
  });

  it('flushes open streams at final punctuation (completion) too', async () => {
    const f = byName.get('noise.nemo-80')!;
    const out = await run({}, chunked('n', f.samples, () => 700));
    expect(maxAbsDiff(collect(out, 'n', 80), f.ref)).to.be.at.most(1e-4);
  });

  it('reports audio at the wrong sample rate as a per-stream error, other streams go on', async () => {
    const f = byName.get('noise.nemo-80')!;
    const out = await run({}, [
      audio('ok', f.samples.slice(0, 8000), 0),
      audio('bad', new Float32Array(800), 0, 8000),
      audio('ok', f.samples.slice(8000), 8000),
      audio('bad', new Float32Array(800), 800, 8000),
      punct('bad'),
      punct('ok'),
    ]);
    const errors = out.filter((i): i is ErrorItem => i.kind === 'error');
    expect(errors).to.have.length(1);
    expect(errors[0].streamId).to.equal('bad');
    expect(errors[0].message).to.match(/stream bad has 8000 Hz audio, expected 16000 Hz/);
    expect(errors[0].message).to.match(/FileSource \(sampleRate param\)/);
    expect(out.filter((i) => i.kind === 'features' && i.streamId === 'bad')).to.have.length(0);
    expect(out.filter((i) => i.kind === 'punct').map((p) => p.streamId)).to.deep.equal(['bad', 'ok']);
    expect(maxAbsDiff(collect(out, 'ok', 80), f.ref)).to.be.at.most(1e-4);
    // A matching sampleRate param accepts it.
    const ok8k = await run({ sampleRate: 8000, fMax: 4000 }, [audio('x', new Float32Array(1600).fill(0.1), 0, 8000), punct('x')]);
    expect(ok8k.filter((i) => i.kind === 'error')).to.have.length(0);
    expect(collect(ok8k, 'x', 80).length).to.equal(10 * 80);
  });

  it('reports non-contiguous audio as a per-stream error', async () => {
    const out = await run({}, [audio('g', new Float32Array(1000), 0), audio('g', new Float32Array(1000), 1500), punct('g')]);
    const errors = out.filter((i): i is ErrorItem => i.kind === 'error');
    expect(errors).to.have.length(1);
    expect(errors[0].message).to.match(/not contiguous/);
  });

  it('per_feature buffers the utterance and emits normalised frames at its end', async () => {
    const f = byName.get('librivox.nemo-80-per-feature')!;
    const items = chunked('p', f.samples, () => 2560);
    const out = await run({ preset: 'nemo-80-per-feature' }, [...items, punct('p')]);
    const feats = out.filter((i): i is FeaturesItem => i.kind === 'features');
    expect(feats).to.have.length(1);
    expect(out.indexOf(feats[0])).to.equal(out.length - 2); // right before the punct
    const got = collect(out, 'p', 80);
    expect(maxAbsDiff(got, f.ref)).to.be.at.most(1e-4);
    const T = got.length / 80;
    for (let i = 0; i < 80; i++) {
      let m = 0;
      for (let t = 0; t < T; t++) m += got[t * 80 + i];
      m /= T;
      let v = 0;
      for (let t = 0; t < T; t++) v += (got[t * 80 + i] - m) ** 2;
      expect(Math.abs(m)).to.be.lessThan(1e-4);
      expect(Math.sqrt(v / (T - 1))).to.be.closeTo(1, 1e-3);
    }
  });

  it('explicit params override the preset; bad combinations are rejected', () => {
    expect(resolveConfig({ preset: 'nemo-80-per-feature' }).normalize).to.equal('per_feature');
    expect(resolveConfig({ preset: 'nemo-80-per-feature', normalize: 'none' }).normalize).to.equal('none');
    expect(resolveConfig({ nMels: 64 })).to.include({ nMels: 64, nFft: 512, hopLength: 160, preemphasis: 0.97 });
    expect(() => melExtractor({ winLength: 600 })).to.throw(/winLength 600 must be <= nFft 512/);
    expect(() => melExtractor({ fMax: 9000 })).to.throw(/fMax/);
    expect(() => melExtractor({ nFft: 500 as never })).to.throw(/nFft/);
    expect(() => melExtractor({ window: 'hamming' as never })).to.throw(/window/);
    expect(MelExtractor.check!({ winLength: 1024 })).to.have.length(1);
    expect(MelExtractor.check!({ preset: 'nemo-80' })).to.deep.equal([]);
  });
});
