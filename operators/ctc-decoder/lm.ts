/**
 * A word n-gram language model read from an ARPA file (plain or .gz; what KenLM and SRILM write), for
 * CtcDecoder's beam search: P(word | the n-1 words before) with Katz back-off, as natural logs.
 * Words outside the model's vocabulary score as `<unk>` when the model has it.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const LN10 = Math.LN10;

export class ArpaLm {
  /** "w1 w2 w3" -> [log10 p, log10 back-off]. */
  private readonly grams = new Map<string, [number, number]>();
  readonly order: number;
  /** The vocabulary, sorted (prefix look-ups for partial words). */
  private readonly words: string[];
  private readonly unk: number | undefined;

  private constructor(text: string, readonly path: string) {
    let order = 0;
    let section = 0;
    const lines = text.split('\n');
    let i = 0;
    for (; i < lines.length && lines[i].trim() !== '\\data\\'; i++);
    if (i === lines.length) throw new Error(`${path}: not an ARPA language model (no \\data\\ section)`);
    for (; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line) continue;
      const m = /^\\(\d+)-grams:$/.exec(line);
      if (m) {
        section = Number(m[1]);
        order = Math.max(order, section);
        continue;
      }
      if (line === '\\end\\') break;
      if (section === 0) continue;
      const parts = line.split(/\s+/);
      if (parts.length < section + 1) throw new Error(`${path}:${i + 1}: expected a log-probability and ${section} word(s)`);
      const logp = Number(parts[0]);
      const backoff = parts.length > section + 1 ? Number(parts[section + 1]) : 0;
      if (!Number.isFinite(logp) || !Number.isFinite(backoff)) throw new Error(`${path}:${i + 1}: not a number`);
      this.grams.set(parts.slice(1, section + 1).join(' '), [logp, backoff]);
    }
    if (!order) throw new Error(`${path}: no n-grams`);
    this.order = order;
    this.words = [...this.grams.keys()].filter((k) => !k.includes(' ') && !k.startsWith('<')).sort();
    this.unk = this.grams.get('<unk>')?.[0];
  }

  static load(path: string): ArpaLm {
    let buf: Buffer;
    try {
      buf = readFileSync(path);
    } catch (e) {
      throw new Error(`${path}: cannot read the language model: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const text = (path.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
    return new ArpaLm(text, path);
  }

  get vocabularySize(): number {
    return this.words.length;
  }

  has(word: string): boolean {
    return this.grams.has(word) && !word.includes(' ');
  }

  /** Whether some word of the vocabulary starts with `prefix`. */
  hasPrefix(prefix: string): boolean {
    let lo = 0;
    let hi = this.words.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.words[mid] < prefix) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.words.length && this.words[lo].startsWith(prefix);
  }

  /**
   * ln P(word | context) (context: the preceding words, oldest first, `<s>` at a start), or undefined
   * for a word the model does not know and has no `<unk>` for.
   */
  logProb(context: readonly string[], word: string): number | undefined {
    if (!this.grams.has(word)) {
      if (this.unk === undefined) return undefined;
      word = '<unk>';
    }
    let ctx = context.slice(Math.max(0, context.length - (this.order - 1)));
    let backoff = 0;
    for (;;) {
      const g = this.grams.get(ctx.length ? `${ctx.join(' ')} ${word}` : word);
      if (g) return (g[0] + backoff) * LN10;
      if (!ctx.length) return undefined;
      backoff += this.grams.get(ctx.join(' '))?.[1] ?? 0;
      ctx = ctx.slice(1);
    }
  }
}
