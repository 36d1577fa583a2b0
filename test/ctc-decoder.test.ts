import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { punct, type ErrorItem, type LogprobsItem, type StreamItem, type TranscriptItem } from '../toolkit/items.js';
import { CtcDecoder, ctcDecoder } from '../operators/ctc-decoder/index.js';
import { BeamSearch, GreedySearch } from '../operators/ctc-decoder/search.js';
import { Vocabulary } from '../operators/ctc-decoder/vocabulary.js';
import { validateParams } from '../toolkit/params.js';
import { FIXTURES, runStage } from './helpers/stt-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'ctc-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

// Plain characters: ' ' is the boundary, blank last.
const CHARS = [' ', 'a', 'b', 'c', 'k', 't', 'h', 'e', 'l', 'o'];
const charTokens = file('chars.txt', [...CHARS.map((c, i) => `${c} ${i}`), `<blk> ${CHARS.length}`].join('\n') + '\n');
const V = CHARS.length + 1;
const BLANK = CHARS.length;
const id = (c: string) => (c === '_' ? BLANK : CHARS.indexOf(c));

/** One-hot-ish log-probs: `p` on the given id, the rest spread evenly. */
function frames(seq: number[], vocab = V, p = 0.9): Float32Array {
  const out = new Float32Array(seq.length * vocab);
  seq.forEach((k, t) => {
    for (let v = 0; v < vocab; v++) out[t * vocab + v] = Math.log(v === k ? p : (1 - p) / (vocab - 1));
  });
  return out;
}

function fromProbs(rows: number[][]): Float32Array {
  return Float32Array.from(rows.flat().map((x) => Math.log(x)));
}

function chunked(streamId: string, data: Float32Array, vocab: number, cuts: number[], blankId = BLANK, frameShiftMs = 40): StreamItem[] {
  const n = data.length / vocab;
  const items: LogprobsItem[] = [];
  let t = 0;
  for (const c of [...cuts, n]) {
    const end = Math.min(n, c);
    if (end <= t) continue;
    items.push({ kind: 'logprobs', streamId, data: data.slice(t * vocab, end * vocab), nFrames: end - t, vocabSize: vocab, startFrame: t, frameShiftMs, blankId });
    t = end;
  }
  return [...items, punct(streamId)];
}

const finals = (out: StreamItem[]) => out.filter((i): i is TranscriptItem => i.kind === 'transcript' && i.isFinal);

describe('CtcDecoder', () => {
  it('merges repeats across chunk boundaries and drops blanks; chunked == whole', async () => {
    // a a | a _ a b | b   -> "aab", not "aaab" (the carried last id merges the a across the cut)
    const data = frames(['a', 'a', 'a', '_', 'a', 'b', 'b'].map(id));
    const whole = finals(await runStage(ctcDecoder({ tokens: charTokens }), chunked('s', data, V, [])));
    for (const cuts of [[2, 6], [1, 2, 3, 4, 5, 6], [3]]) {
      const got = finals(await runStage(ctcDecoder({ tokens: charTokens }), chunked('s', data, V, cuts)));
      expect(got[0].text).to.equal('aab');
      expect(got[0]).to.deep.equal(whole[0]);
    }
  });

  it('plain characters: words, timings from frame x shift, confidences', async () => {
    // frames:   0 1 2 3 4 5 6 7 8 9
    const seq = ['_', 'h', 'e', 'l', '_', 'l', 'o', ' ', 'a', '_'].map(id);
    const [r] = finals(await runStage(ctcDecoder({ tokens: charTokens }), chunked('s', frames(seq), V, [4])));
    expect(r.text).to.equal('hello a');
    expect(r.words!.map((w) => [w.word, w.startMs, w.endMs])).to.deep.equal([
      ['hello', 40, 280],
      ['a', 320, 360],
    ]);
    expect(r.confidence).to.be.closeTo(0.9, 1e-6);
    expect(r.words![0].confidence).to.be.closeTo(0.9, 1e-6);
    expect([r.startMs, r.endMs, r.isFinal, r.utteranceNumber]).to.deep.equal([40, 400, true, 0]);
  });

  it('SentencePiece tokens.txt (▁ starts a word, <blk> last)', async () => {
    const tokens = `${FIXTURES}/offline.tokens.txt`; // <unk> ▁the ▁a ▁s s t e ▁i n o r ▁w d h l ▁c <blk>=16
    const v = Vocabulary.load(tokens);
    expect([v.style, v.size]).to.deep.equal(['sentencepiece', 17]);
    const ids = [1, 16, 3, 5, 6, 6, 16, 13, 16, 0, 2];
    const [r] = finals(await runStage(ctcDecoder({ tokens }), chunked('s', frames(ids, 17), 17, [5], 16)));
    expect(r.text).to.equal('the steh a'); // <unk> dropped, repeats merged, ▁ starts words
  });

  it('wav2vec2 vocab JSON: <pad> = 0 is the blank, | separates words', async () => {
    const tokens = `${FIXTURES}/wav2vec2.vocab.json`;
    const v = Vocabulary.load(tokens);
    expect([v.style, v.size]).to.deep.equal(['wav2vec2', 32]);
    const w = (s: string) => [...s].map((c) => (c === '_' ? 0 : v.idOf(c)));
    const data = frames(w('_HE_LL_L_O||WO_RLD_'), 32);
    const [r] = finals(await runStage(ctcDecoder({ tokens }), chunked('s', data, 32, [3, 9], 0, 20)));
    expect(r.text).to.equal('HELLO WORLD');
    expect(r.words!.map((x) => [x.word, x.startMs, x.endMs])).to.deep.equal([
      ['HELLO', 20, 200],
      ['WORLD', 240, 360],
    ]);
  });

  it('partial results while the stream runs, rate-limited in stream time, then one final', async () => {
    const seq = Array.from({ length: 100 }, (_, t) => (t % 10 === 3 ? id('a') : t % 10 === 7 ? id(' ') : BLANK));
    const cuts = Array.from({ length: 19 }, (_, k) => (k + 1) * 5); // 20 items of 200 ms
    const out = await runStage(ctcDecoder({ tokens: charTokens, partialIntervalMs: 500 }), chunked('s', frames(seq), V, cuts));
    const partials = out.filter((i): i is TranscriptItem => i.kind === 'transcript' && !i.isFinal);
    expect(partials.length).to.be.within(3, 8);
    for (let k = 1; k < partials.length; k++) expect(partials[k].endMs - partials[k - 1].endMs).to.be.at.least(500);
    expect(finals(out)).to.have.length(1);
    expect(finals(out)[0].text).to.equal('a a a a a a a a a a');
    expect(out[out.length - 1].kind).to.equal('punct');
    const none = await runStage(ctcDecoder({ tokens: charTokens, partials: false }), chunked('s', frames(seq), V, cuts));
    expect(none.filter((i) => i.kind === 'transcript')).to.have.length(1);
  });

  it('an empty final for a stream that produced no frames', async () => {
    const out = await runStage(ctcDecoder({ tokens: charTokens }), [punct('quiet')]);
    expect(out.map((i) => i.kind)).to.deep.equal(['transcript', 'punct']);
    const r = out[0] as TranscriptItem;
    expect([r.text, r.isFinal, r.confidence, r.endMs]).to.deep.equal(['', true, 0, 0]);
  });

  it('a tokens file that does not fit the model is a clear per-stream error naming the file', async () => {
    const bad: StreamItem[] = [{ kind: 'logprobs', streamId: 'x', data: new Float32Array(30), nFrames: 1, vocabSize: 30, startFrame: 0, frameShiftMs: 40, blankId: 29 }, punct('x')];
    const out = await runStage(ctcDecoder({ tokens: charTokens }), [...bad, ...chunked('ok', frames([id('a')]), V, [])]);
    const err = out.find((i): i is ErrorItem => i.kind === 'error');
    expect(err?.streamId).to.equal('x');
    expect(err?.message).to.contain(charTokens);
    expect(err?.message).to.match(/has 11 tokens but the model emits 30/);
    expect(finals(out).map((r) => [r.streamId, r.text])).to.deep.equal([['ok', 'a']]);
  });

  it('check() reports an unreadable tokens file before running', () => {
    const broken = file('broken.txt', 'a 0\nb\n');
    const p = validateParams(CtcDecoder, { tokens: broken }, 't') as never;
    expect((CtcDecoder.check!(p) as string[]).join()).to.match(/broken.txt:2: expected "<piece> <id>"/);
  });

  it('prefix beam search beats greedy on an ambiguous example', () => {
    // Each frame: blank .4, a .35, b .25. Greedy: "" (p = .16); beam: "a" (p = .35*.35 + 2*.35*.4 = .4025).
    const rows = [[0.35, 0.25, 0.4], [0.35, 0.25, 0.4]];
    const data = fromProbs(rows);
    const g = new GreedySearch(2);
    g.feed(data, 2, 3, 0);
    expect(g.best()).to.deep.equal([]);
    const b = new BeamSearch(2, 4);
    b.feed(data, 2, 3, 0);
    expect(b.best().map((t) => t.id)).to.deep.equal([0]);
  });

  it('beam search chunked == whole, and through the operator', async () => {
    const rows = Array.from({ length: 12 }, (_, t) => {
      const r = new Array(V).fill(0.02);
      r[BLANK] = 0.3 + 0.02 * (t % 3);
      r[id('a')] = 0.25;
      r[id('b')] = 0.2 - 0.02 * (t % 3);
      const s = r.reduce((x, y) => x + y, 0);
      return r.map((x) => x / s);
    });
    const data = fromProbs(rows);
    const whole = finals(await runStage(ctcDecoder({ tokens: charTokens, beamWidth: 8 }), chunked('s', data, V, [])));
    const parts = finals(await runStage(ctcDecoder({ tokens: charTokens, beamWidth: 8 }), chunked('s', data, V, [1, 5, 6, 11])));
    expect(parts[0].text).to.equal(whole[0].text);
    const greedy = finals(await runStage(ctcDecoder({ tokens: charTokens }), chunked('s', data, V, [])));
    expect(greedy[0].text).to.equal('');
    expect(whole[0].text.length).to.be.greaterThan(0);
  });

  it('hotwords boost a close alternative in beam search', async () => {
    // c .5 / k .4 then a, t: "cat" without hotwords, "kat" with the hotword.
    const row = (probs: Record<string, number>) => {
      const r = new Array(V).fill(0.001);
      for (const [c, p] of Object.entries(probs)) r[id(c)] = p;
      const s = r.reduce((x, y) => x + y, 0);
      return r.map((x) => x / s);
    };
    const data = fromProbs([row({ c: 0.5, k: 0.4, _: 0.1 }), row({ a: 0.9, _: 0.1 }), row({ t: 0.9, _: 0.1 })]);
    const plain = finals(await runStage(ctcDecoder({ tokens: charTokens, beamWidth: 4 }), chunked('s', data, V, [])));
    expect(plain[0].text).to.equal('cat');
    const boosted = finals(await runStage(ctcDecoder({ tokens: charTokens, beamWidth: 4, hotwords: ['kat'] }), chunked('s', data, V, [])));
    expect(boosted[0].text).to.equal('kat');
    // Reported confidences stay probabilities.
    expect(boosted[0].confidence).to.be.at.most(1);
  });
});
