"""Text for the v2 word LM: the training sentences plus more public-domain English prose and the
transcripts of the real training speech.

Usage: python3 make_lm_text.py DATA_DIR OUT.txt

- DATA_DIR/text/sentences_train.txt (make_text.py: fortunes, WordNet, GCIDE, numbers; never the held-out
  test sentences);
- Ambrose Bierce, *The Devil's Dictionary* (1911, public domain; Debian `dict-devil`), split into sentences;
- the transcripts of the LJ Speech fragments *outside* prep_augmented.py's dev split, and of the
  speechocean762 train speakers (the speech itself is training data; the dev and test transcripts are not).

Never added: LJ Speech's other transcripts (its metadata.csv), Sense and Sensibility, JFK's inaugural
address, or any evaluation or dev transcript.
"""
from __future__ import annotations

import gzip
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_text import chunks_to_sentences, good  # noqa: E402
from prep_real import SO, read_kv  # noqa: E402
from prep_augmented import LJ  # noqa: E402
from textnorm import normalize  # noqa: E402

DEVIL = "/usr/share/dictd/devil.dict.dz"


def devil():
    if not os.path.exists(DEVIL):
        sys.exit(f"{DEVIL} is missing: apt-get install dict-devil")
    text = gzip.open(DEVIL, "rt", encoding="utf-8", errors="ignore").read()
    for para in text.split("\n\n"):
        for raw in chunks_to_sentences(para):
            norm = normalize(raw)
            if good(raw, norm, lo=3, hi=40):
                yield norm


def main():
    data, out = sys.argv[1], sys.argv[2]
    lines = [l.strip() for l in open(os.path.join(data, "text", "sentences_train.txt")) if l.strip()]
    n_base = len(lines)
    lines += list(devil())
    n_devil = len(lines) - n_base
    lj = read_kv(os.path.join(LJ, "text"))
    dev = set(sorted(lj)[::10])  # prep_augmented.py's dev split
    lines += [normalize(t) for u, t in sorted(lj.items()) if u not in dev]
    lines += [normalize(t) for t in read_kv(os.path.join(SO, "train", "text")).values()]
    with open(out, "w") as f:
        f.write("\n".join(l for l in lines if l) + "\n")
    print(f"{len(lines)} sentences: {n_base} training sentences, {n_devil} Devil's Dictionary, "
          f"{len(lj) - len(dev)} LJ train, rest speechocean762 train", flush=True)


if __name__ == "__main__":
    main()
