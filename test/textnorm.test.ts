/**
 * support/textnorm.ts against training/textnorm.py: the expected strings are the Python original's
 * outputs for these inputs (python3 -c "from textnorm import normalize; ..."), so bench:wer and
 * training/evaluate.py normalise references and hypotheses alike.
 */
import { expect } from 'chai';
import { normalize } from '../support/textnorm.js';

const FROM_PYTHON: Array<[string, string]> = [
  ["He was NOT an ill-disposed young man.", "he was not an ill disposed young man"],
  ["It cost $1,595,150 in 1987!", "it cost fifteen ninety five dollars one hundred and fifty in nineteen eighty seven"],
  ["the 21st and 3rd of May, 2005", "the twenty first and third of may two thousand and five"],
  ["50% off & 7 + 8 @ home", "fifty percent off and seven plus eight at home"],
  ["'Quoted' words, don't ''stop''", "quoted words don't stop"],
  ["Call 0123 or 12345678901 now", "call zero one two three or one two three four five six seven eight nine zero one now"],
  ["year 1900 and 2000 and 1066 and 3000", "year nineteen hundred and two thousand and one thousand and sixty six and three thousand"],
  ["it\u2019s `fine` 12th 40th 101st", "it's fine twelfth fortieth one hundred and first"],
  ["  Multiple   spaces\tand\nlines  ", "multiple spaces and lines"],
  ["Caf\u00e9 d\u00e9j\u00e0 vu 99 bottles", "caf d j vu ninety nine bottles"],
  ["1,000,000 and 1000001 and 999999999", "one thousand zero zero zero and one million and one and nine hundred and ninety nine million nine hundred and ninety nine thousand nine hundred and ninety nine"],
];

describe('support/textnorm normalize (port of training/textnorm.py)', () => {
  for (const [input, expected] of FROM_PYTHON) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      expect(normalize(input)).to.equal(expected);
    });
  }

  it('leaves the shipped and held-out references (already normalised) unchanged', () => {
    for (const ref of ['he was not an ill disposed young man', "the quick brown fox jumps over the lazy dog", "don't stop"]) expect(normalize(ref)).to.equal(ref);
  });
});
