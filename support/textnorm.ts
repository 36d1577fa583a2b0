/**
 * Text normalisation to the bundled model's character set (lowercase a-z, apostrophe, space): a line by
 * line port of training/textnorm.py, which made the training and held-out references, so that error
 * rates measured here and by training/evaluate.py compare the same strings (numbers, ordinals, years,
 * $ and % spelled out; quotes dropped, apostrophes kept). test/textnorm.test.ts checks it against
 * outputs of the Python original.
 */

const ONES = [
  'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten',
  'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen',
];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const ORD_IRREG: Record<string, string> = { one: 'first', two: 'second', three: 'third', five: 'fifth', eight: 'eighth', nine: 'ninth', twelve: 'twelfth' };

export function numWords(n: number): string {
  if (n < 0) return 'minus ' + numWords(-n);
  if (n < 20) return ONES[n];
  if (n < 100) return TENS[Math.floor(n / 10)] + (n % 10 === 0 ? '' : ' ' + ONES[n % 10]);
  if (n < 1000) {
    const rest = n % 100;
    return ONES[Math.floor(n / 100)] + ' hundred' + (rest === 0 ? '' : ' and ' + numWords(rest));
  }
  for (const [div, name] of [[1e9, 'billion'], [1e6, 'million'], [1000, 'thousand']] as const) {
    if (n >= div) {
      const rest = n % div;
      const head = numWords(Math.floor(n / div)) + ' ' + name;
      if (rest === 0) return head;
      return head + (rest < 100 ? ' and ' : ' ') + numWords(rest);
    }
  }
  throw new Error(String(n));
}

export function ordinalWords(n: number): string {
  const w = numWords(n).split(' ');
  const last = w[w.length - 1];
  if (last in ORD_IRREG) w[w.length - 1] = ORD_IRREG[last];
  else if (last.endsWith('y')) w[w.length - 1] = last.slice(0, -1) + 'ieth';
  else w[w.length - 1] = last + 'th';
  return w.join(' ');
}

export function yearWords(y: number): string {
  if (y >= 2000 && y < 2010) return numWords(y);
  if (y >= 1100 && y < 2100 && y % 100 !== 0) {
    const hi = Math.floor(y / 100);
    const lo = y % 100;
    return numWords(hi) + ' ' + (lo < 10 ? 'oh ' + ONES[lo] : numWords(lo));
  }
  if (y >= 1100 && y < 2100) return numWords(Math.floor(y / 100)) + ' hundred';
  return numWords(y);
}

function digitsToWords(s: string): string {
  if (s.length > 9) return [...s].map((c) => ONES[Number(c)]).join(' ');
  const n = Number(s);
  if (s.length === 4 && n >= 1100 && n < 2100) return ' ' + yearWords(n) + ' ';
  if (s.startsWith('0') && s.length > 1) return ' ' + [...s].map((c) => ONES[Number(c)]).join(' ') + ' ';
  return ' ' + numWords(n) + ' ';
}

/** training/textnorm.py `normalize`. */
export function normalize(text: string): string {
  let t = text.replaceAll('\u2019', "'").replaceAll('`', "'");
  t = t.replace(/(\d),(\d{3})/g, '$1$2');
  t = t.replace(/(\d+)(st|nd|rd|th)\b/g, (_, d: string) => ' ' + ordinalWords(Number(d)) + ' ');
  t = t.replace(/\$(\d+)/g, (_, d: string) => d + ' dollars');
  t = t.replace(/(\d+)%/g, (_, d: string) => d + ' percent');
  t = t.replaceAll('&', ' and ').replaceAll('%', ' percent ').replaceAll('+', ' plus ').replaceAll('@', ' at ');
  t = t.replace(/\d+/g, digitsToWords);
  t = t.toLowerCase();
  t = t.replace(/[^a-z' ]/g, ' ');
  t = t.replace(/(^|\s)'+|'+(\s|$)/g, ' '); // quotes, not apostrophes
  t = t.replace(/'{2,}/g, "'");
  return t.replace(/\s+/g, ' ').trim();
}
