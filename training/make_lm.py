"""Word trigram language model (ARPA) for CtcDecoder's beam search, from the training sentences only.

Absolute discounting (D = 0.7) with back-off, written as a standard ARPA file (log10), so KenLM models
can be used in its place. Count cut-offs keep it small: words seen at least --min-unigram times
(others map to <unk>), bigrams at least twice, trigrams at least --min-trigram times.

    /usr/bin/python3 make_lm.py /work/stt-runs/data/text/sentences_train.txt ../models/stt-en-char-fastconformer-ctc/lm.arpa.gz
"""
import argparse
import gzip
import math
from collections import Counter, defaultdict

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("text")
    ap.add_argument("out")
    ap.add_argument("--min-unigram", type=int, default=2)
    ap.add_argument("--min-bigram", type=int, default=2)
    ap.add_argument("--min-trigram", type=int, default=3)
    ap.add_argument("--discount", type=float, default=0.7)
    a = ap.parse_args()

    sents = [l.split() for l in open(a.text, encoding="utf-8") if l.strip()]
    wc = Counter(w for s in sents for w in s)
    vocab = {w for w, c in wc.items() if c >= a.min_unigram}
    c1, c2, c3 = Counter(), Counter(), Counter()
    for s in sents:
        toks = [BOS] + [w if w in vocab else UNK for w in s] + [EOS]
        for i, w in enumerate(toks):
            if i > 0:
                c1[w] += 1
            if i >= 1:
                c2[(toks[i - 1], w)] += 1
            if i >= 2:
                c3[(toks[i - 2], toks[i - 1], w)] += 1
    D = a.discount
    total = sum(c1.values())
    # Unigrams: discounted mass goes to a uniform floor over the vocabulary.
    words = sorted(set(c1) | {BOS})
    n_words = len(words)
    p1 = {}
    floor_mass = D * len(c1) / total
    for w in words:
        p1[w] = (max(c1.get(w, 0) - D, 0) / total) + floor_mass / n_words
    p1[BOS] = p1.get(BOS, 1e-99)

    def p_uni(w):
        return p1.get(w, p1[UNK])

    c2 = {k: v for k, v in c2.items() if v >= a.min_bigram}
    c3 = {k: v for k, v in c3.items() if v >= a.min_trigram}
    ctx1 = defaultdict(int)
    full_ctx1 = Counter()
    for s in sents:
        toks = [BOS] + [w if w in vocab else UNK for w in s] + [EOS]
        for i in range(1, len(toks)):
            full_ctx1[toks[i - 1]] += 1
    for (u, w), v in c2.items():
        ctx1[u] += 1
    p2, bo1 = {}, {}
    for (u, w), v in c2.items():
        p2[(u, w)] = (v - D) / full_ctx1[u]
    # back-off weight of u: leftover mass / unigram mass not covered by seen bigrams
    seen_by_u = defaultdict(list)
    for (u, w) in p2:
        seen_by_u[u].append(w)
    for u in words:
        left = 1 - sum(p2[(u, w)] for w in seen_by_u.get(u, []))
        denom = 1 - sum(p_uni(w) for w in seen_by_u.get(u, []))
        bo1[u] = left / denom if denom > 0 and left > 0 else 1.0

    def p_bi(u, w):
        return p2[(u, w)] if (u, w) in p2 else bo1.get(u, 1.0) * p_uni(w)

    full_ctx2 = Counter()
    for s in sents:
        toks = [BOS] + [w if w in vocab else UNK for w in s] + [EOS]
        for i in range(2, len(toks)):
            full_ctx2[(toks[i - 2], toks[i - 1])] += 1
    p3 = {}
    seen_by_uv = defaultdict(list)
    for (u, v, w), c in c3.items():
        p3[(u, v, w)] = (c - D) / full_ctx2[(u, v)]
        seen_by_uv[(u, v)].append(w)
    bo2 = {}
    for uv in p2:
        ws = seen_by_uv.get(uv, [])
        if not ws:
            continue
        left = 1 - sum(p3[(uv[0], uv[1], w)] for w in ws)
        denom = 1 - sum(p_bi(uv[1], w) for w in ws)
        bo2[uv] = left / denom if denom > 0 and left > 0 else 1.0
    # trigrams need their bigram context present in ARPA
    p3 = {k: v for k, v in p3.items() if (k[0], k[1]) in p2}

    L = lambda x: math.log10(x) if x > 0 else -99.0
    op = gzip.open if a.out.endswith(".gz") else open
    with op(a.out, "wt", encoding="utf-8") as f:
        f.write("\\data\\\n")
        f.write(f"ngram 1={len(words)}\nngram 2={len(p2)}\nngram 3={len(p3)}\n\n")
        f.write("\\1-grams:\n")
        for w in words:
            lp = -99.0 if w == BOS else L(p1[w])
            f.write(f"{lp:.5f}\t{w}\t{L(bo1.get(w, 1.0)):.5f}\n")
        f.write("\n\\2-grams:\n")
        for (u, w), p in sorted(p2.items()):
            bo = bo2.get((u, w))
            f.write(f"{L(p):.5f}\t{u} {w}" + (f"\t{L(bo):.5f}\n" if bo is not None else "\n"))
        f.write("\n\\3-grams:\n")
        for (u, v, w), p in sorted(p3.items()):
            f.write(f"{L(p):.5f}\t{u} {v} {w}\n")
        f.write("\n\\end\\\n")
    print(f"{a.out}: {len(words)} unigrams, {len(p2)} bigrams, {len(p3)} trigrams from {len(sents)} sentences ({sum(wc.values())} words)")


if __name__ == "__main__":
    main()
