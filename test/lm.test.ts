/**
 * The word n-gram language model (ARPA) and its fusion into CtcDecoder's beam search.
 */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { ctcDecoder } from '../operators/ctc-decoder/index.js';
import { ArpaLm } from '../operators/ctc-decoder/lm.js';
import type { StreamItem, TranscriptItem } from '../toolkit/items.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';

const ARPA = `\\data\\
ngram 1=5
ngram 2=3

\\1-grams:
-1.0\t<s>\t-0.30103
-0.5\tthe\t-0.2
-1.5\tcat\t0
-2.0\tteh\t0
-1.2\t</s>

\\2-grams:
-0.1\t<s> the
-0.3\tthe cat
-0.4\tcat </s>

\\end\\
`;

const dir = mkdtempSync(join(tmpdir(), 'lm-'));
const arpa = join(dir, 'tiny.arpa');
writeFileSync(arpa, ARPA);
const TOKENS = join(TOOLKIT_ROOT, 'models/stt-en-char-fastconformer-ctc/tokens.txt');

describe('ArpaLm', () => {
  const lm = ArpaLm.load(arpa);

  it('reads the n-grams and applies Katz back-off (natural logs)', () => {
    expect(lm.order).to.equal(2);
    expect(lm.logProb(['<s>'], 'the')).to.be.closeTo(-0.1 * Math.LN10, 1e-12);
    // "the teh" is not a bigram: back-off(the) + P(teh)
    expect(lm.logProb(['the'], 'teh')).to.be.closeTo((-0.2 + -2.0) * Math.LN10, 1e-12);
    expect(lm.logProb(['cat'], 'dog')).to.equal(undefined); // unknown word, no <unk>
    expect(lm.hasPrefix('ca')).to.equal(true);
    expect(lm.hasPrefix('cx')).to.equal(false);
  });

  it('names the file and line of a malformed model', () => {
    const bad = join(dir, 'bad.arpa');
    writeFileSync(bad, '\\data\\\nngram 1=1\n\n\\1-grams:\n-1.0\n');
    expect(() => ArpaLm.load(bad)).to.throw(`${bad}:5: expected a log-probability and 1 word(s)`);
    expect(() => ArpaLm.load(join(dir, 'missing.arpa'))).to.throw(`${join(dir, 'missing.arpa')}: cannot read the language model: ENOENT`);
  });

  it('the bundled model loads (trigram, words of the training text)', () => {
    const big = ArpaLm.load(join(TOOLKIT_ROOT, 'models/stt-en-char-fastconformer-ctc/lm.arpa.gz'));
    expect(big.order).to.equal(3);
    expect(big.vocabularySize).to.be.greaterThan(20000);
    expect(big.logProb(['<s>', 'the'], 'same')!).to.be.greaterThan(big.logProb(['<s>', 'the'], 'sane')!);
  });
});

describe('CtcDecoder with a language model', () => {
  // Acoustics that slightly prefer "teh cat" over "the cat" (tokens: ▁=0, a..z=1..26, blank=28).
  const id = (c: string) => (c === ' ' ? 0 : c.charCodeAt(0) - 96);
  const frames = (spec: Array<Record<string, number>>) => {
    const data = new Float32Array(spec.length * 29).fill(Math.log(1e-4));
    spec.forEach((row, t) => {
      let rest = 1;
      for (const [c, p] of Object.entries(row)) {
        data[t * 29 + (c === 'blank' ? 28 : id(c))] = Math.log(p);
        rest -= p;
      }
      data[t * 29 + 28] = Math.max(data[t * 29 + 28], Math.log(Math.max(rest, 1e-4)));
    });
    return data;
  };
  const spec: Array<Record<string, number>> = [{ t: 0.9 }, { e: 0.55, h: 0.45 }, { h: 0.55, e: 0.45 }, { ' ': 0.9 }, { c: 0.9 }, { a: 0.9 }, { t: 0.9 }];
  const items = (): StreamItem[] => [
    { kind: 'logprobs', streamId: 's', data: frames(spec), nFrames: spec.length, vocabSize: 29, startFrame: 0, frameShiftMs: 40, blankId: 28 },
    { kind: 'punct', streamId: 's' },
  ];
  const decode = async (params: Record<string, unknown>) => {
    const out = await lastValueFrom(from(items()).pipe(ctcDecoder({ tokens: TOKENS, partials: false, ...params }), toArray()));
    return (out.find((i) => i.kind === 'transcript') as TranscriptItem).text;
  };

  it('without it the acoustics win; with it the likelier word sequence does', async () => {
    expect(await decode({})).to.equal('teh cat');
    expect(await decode({ beamWidth: 8 })).to.equal('teh cat');
    expect(await decode({ beamWidth: 8, lm: arpa, lmWeight: 1, wordBonus: 0 })).to.equal('the cat');
  });

  it('refuses a language model without beam search, naming the node', async () => {
    const out = await lastValueFrom(from(items()).pipe(ctcDecoder({ tokens: TOKENS, lm: arpa }), toArray()));
    const err = out.find((i) => i.kind === 'error');
    expect(err && err.kind === 'error' && err.message).to.equal('CtcDecoder: lm needs beam search: set beamWidth > 1 (e.g. 8)');
  });
});
