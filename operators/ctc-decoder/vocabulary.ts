/**
 * CTC vocabularies: `tokens.txt` ("<piece> <id>" per line, as sherpa-onnx and NeMo exports write them),
 * a vocab JSON (`{"<pad>": 0, ...}` as Hugging Face wav2vec2 ships, or a list of pieces).
 *
 * Styles, detected from the pieces: SentencePiece (`▁` starts a word; a bare `▁` is a space), wav2vec2
 * (`|` is the word boundary) and plain characters (a `' '` or `<space>` piece is the boundary).
 */
import { readFileSync } from 'node:fs';

export type VocabStyle = 'sentencepiece' | 'wav2vec2' | 'chars';

const SPECIAL = new Set(['<blk>', '<blank>', '<pad>', '<s>', '</s>', '<unk>', '<eps>', '<sos/eos>', '<sos>', '<eos>']);

export class Vocabulary {
  readonly style: VocabStyle;
  private readonly boundary: boolean[];
  private readonly special: boolean[];

  constructor(readonly pieces: string[], readonly source: string) {
    this.style = pieces.some((p) => p.startsWith('▁'))
      ? 'sentencepiece'
      : pieces.includes('|')
        ? 'wav2vec2'
        : 'chars';
    this.boundary = pieces.map((p) => p === '▁' || p === '|' || p === ' ' || p === '<space>');
    this.special = pieces.map((p) => SPECIAL.has(p));
  }

  get size(): number {
    return this.pieces.length;
  }

  isBoundary(id: number): boolean {
    return this.boundary[id] ?? false;
  }

  isSpecial(id: number): boolean {
    return this.special[id] ?? true;
  }

  /** Starts a new word (SentencePiece `▁xyz`)? */
  startsWord(id: number): boolean {
    const p = this.pieces[id];
    return p !== undefined && p.length > 1 && p.startsWith('▁');
  }

  /** Text a piece contributes inside a word. */
  text(id: number): string {
    const p = this.pieces[id] ?? '';
    return p.startsWith('▁') ? p.slice(1) : p;
  }

  /** Id of a piece, or -1. */
  idOf(piece: string): number {
    return this.pieces.indexOf(piece);
  }

  /**
   * Token ids spelling `word` (hotwords), longest match first; a SentencePiece word starts with a `▁` piece,
   * wav2vec2 vocabularies are upper case. Returns undefined when the word cannot be spelled.
   */
  spell(word: string): number[] | undefined {
    const index = new Map<string, number>();
    this.pieces.forEach((p, i) => {
      if (!this.isSpecial(i) && !index.has(p)) index.set(p, i);
    });
    let w = word.trim();
    if (this.style === 'wav2vec2' && !this.pieces.some((p) => /[a-z]/.test(p))) w = w.toUpperCase();
    const parts = w.split(/\s+/);
    const out: number[] = [];
    parts.forEach((part, k) => {
      let s = this.style === 'sentencepiece' ? `▁${part}` : part;
      if (k > 0 && this.style !== 'sentencepiece') {
        const b = this.pieces.findIndex((_, i) => this.isBoundary(i));
        if (b >= 0) out.push(b);
      }
      while (s.length) {
        let found = -1;
        let len = 0;
        for (let l = s.length; l > 0; l--) {
          const id = index.get(s.slice(0, l));
          if (id !== undefined) {
            found = id;
            len = l;
            break;
          }
        }
        if (found < 0) {
          out.length = 0;
          s = '';
          out.push(-1);
          return;
        }
        out.push(found);
        s = s.slice(len);
      }
    });
    return out.includes(-1) || !out.length ? undefined : out;
  }

  static load(path: string): Vocabulary {
    const text = readFileSync(path, 'utf8');
    if (path.endsWith('.json')) {
      const j = JSON.parse(text) as unknown;
      if (Array.isArray(j)) return new Vocabulary(j.map(String), path);
      if (j && typeof j === 'object') {
        const pieces: string[] = [];
        for (const [piece, id] of Object.entries(j as Record<string, unknown>)) {
          if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new Error(`${path}: id of '${piece}' is not a non-negative integer`);
          if (pieces[id] !== undefined) throw new Error(`${path}: id ${id} is used twice`);
          pieces[id] = piece;
        }
        for (let i = 0; i < pieces.length; i++) if (pieces[i] === undefined) throw new Error(`${path}: no piece has id ${i}`);
        return new Vocabulary(pieces, path);
      }
      throw new Error(`${path}: a vocab JSON must be an object {piece: id} or a list of pieces`);
    }
    const pieces: string[] = [];
    text.split(/\r?\n/).forEach((line, n) => {
      if (!line.trim()) return;
      const m = /^(.*?)\s+(\d+)\s*$/.exec(line);
      if (!m) throw new Error(`${path}:${n + 1}: expected "<piece> <id>", got '${line}'`);
      const id = Number(m[2]);
      if (pieces[id] !== undefined) throw new Error(`${path}:${n + 1}: id ${id} is used twice`);
      pieces[id] = m[1] === '' ? ' ' : m[1];
    });
    for (let i = 0; i < pieces.length; i++) if (pieces[i] === undefined) throw new Error(`${path}: no piece has id ${i}`);
    return new Vocabulary(pieces, path);
  }
}
