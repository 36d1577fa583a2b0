"""Build the sentence corpus from Debian text (fortunes, WordNet, GCIDE) plus spelled-out numbers/dates.

Usage: python3 make_text.py OUT_DIR [--seed 1]
Writes OUT_DIR/sentences_train.txt and OUT_DIR/sentences_test.txt (held-out sentences, never
synthesised for training), one normalised sentence per line (a-z, apostrophe, space).
"""
from __future__ import annotations

import argparse
import glob
import gzip
import os
import random
import re

from textnorm import normalize, num_words, ordinal_words, year_words

FORTUNE_DIR = "/usr/share/games/fortunes"
WORDNET_DIR = "/usr/share/wordnet"
GCIDE = "/usr/share/dictd/gcide.dict.dz"
SKIP_FORTUNES = {"ascii-art", "perl", "translate-me", "linuxcookie", "knghtbrd"}

_sent_split = re.compile(r"(?<=[.!?;:])\s+")


def chunks_to_sentences(text: str):
    text = re.sub(r"\s+", " ", text)
    for s in _sent_split.split(text):
        yield s


def good(raw: str, norm: str, lo=3, hi=22) -> bool:
    if not norm:
        return False
    n = len(norm.split())
    if n < lo or n > hi:
        return False
    letters = sum(c.isalpha() for c in raw)
    if letters < 0.6 * max(1, len(raw.replace(" ", ""))):
        return False
    # avoid fragments made of single letters (abbreviations, code)
    if sum(1 for w in norm.split() if len(w) == 1 and w not in ("a", "i")) > 1:
        return False
    return True


def fortunes():
    for path in sorted(glob.glob(os.path.join(FORTUNE_DIR, "*"))):
        base = os.path.basename(path)
        if "." in base or base in SKIP_FORTUNES or os.path.isdir(path):
            continue
        try:
            txt = open(path, encoding="utf-8", errors="ignore").read()
        except OSError:
            continue
        for entry in txt.split("\n%\n"):
            lines = [l for l in entry.split("\n") if not l.strip().startswith("--") and not l.startswith("\t\t--")]
            # skip entries that look like code / tables
            if any(l.startswith("    ") and len(l.strip()) < 20 for l in lines[:3]):
                continue
            for s in chunks_to_sentences(" ".join(lines)):
                yield s


def wordnet():
    for pos in ("noun", "verb", "adj", "adv"):
        for line in open(os.path.join(WORDNET_DIR, "data." + pos), encoding="utf-8", errors="ignore"):
            if line.startswith("  ") or "|" not in line:
                continue
            gloss = line.split("|", 1)[1]
            for ex in re.findall(r'"([^"]+)"', gloss):
                yield ex
            defs = re.sub(r'"[^"]*"', "", gloss).split(";")[0]
            yield defs


def gcide():
    with gzip.open(GCIDE, "rt", encoding="utf-8", errors="ignore") as f:
        block = []
        for line in f:
            if line.startswith("            ") and "[1913 Webster]" not in line:
                block.append(line.strip())
                continue
            if block:
                txt = " ".join(block)
                txt = re.sub(r"--\s*[A-Z][\w. ]*\.?$", "", txt)
                txt = re.sub(r"\{|\}|\[[^\]]*\]", "", txt)
                for s in chunks_to_sentences(txt):
                    yield s
                block = []


MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
NAMES = ["john", "mary", "james", "linda", "robert", "susan", "michael", "sarah", "david", "karen",
         "thomas", "nancy", "daniel", "lisa", "paul", "emma", "mark", "laura", "peter", "anna",
         "george", "helen", "kevin", "julia", "brian", "grace", "oliver", "sophie", "henry", "alice"]
SURN = ["smith", "johnson", "brown", "taylor", "miller", "wilson", "moore", "clark", "walker",
        "hall", "young", "king", "wright", "green", "baker", "adams", "nelson", "carter", "turner"]
ITEMS = ["apples", "books", "tickets", "chairs", "boxes", "emails", "students", "cars", "pages",
         "miles", "people", "minutes", "dollars", "euros", "houses", "songs", "trees", "days"]


def numbers(rng: random.Random, n: int):
    out = []
    for _ in range(n):
        k = rng.randrange(10)
        name = rng.choice(NAMES)
        if k == 0:
            out.append(f"{name} was born on {rng.choice(MONTHS)} {ordinal_words(rng.randint(1, 31))} {year_words(rng.randint(1920, 2025))}")
        elif k == 1:
            out.append(f"the meeting is on {rng.choice(DAYS)} at {num_words(rng.randint(1, 12))} {rng.choice(['o clock', 'thirty', 'fifteen', 'forty five', 'in the morning', 'in the evening'])}")
        elif k == 2:
            out.append(f"please call {name} {rng.choice(SURN)} at " + " ".join(num_words(rng.randrange(10)) for _ in range(rng.choice([7, 10]))))
        elif k == 3:
            out.append(f"we sold {num_words(rng.randint(2, 9999))} {rng.choice(ITEMS)} in {year_words(rng.randint(1950, 2030))}")
        elif k == 4:
            out.append(f"it costs {num_words(rng.randint(1, 999))} dollars and {num_words(rng.randint(1, 99))} cents")
        elif k == 5:
            out.append(f"the temperature dropped to {rng.choice(['minus ', ''])}{num_words(rng.randint(0, 40))} degrees on {rng.choice(DAYS)}")
        elif k == 6:
            out.append(f"room {num_words(rng.randint(100, 999))} is on the {ordinal_words(rng.randint(1, 40))} floor")
        elif k == 7:
            out.append(f"{name} ran {num_words(rng.randint(2, 42))} kilometers in {num_words(rng.randint(10, 300))} minutes")
        elif k == 8:
            out.append(f"about {num_words(rng.randint(1, 99))} percent of the {rng.choice(ITEMS)} arrived on the {ordinal_words(rng.randint(1, 31))} of {rng.choice(MONTHS)}")
        else:
            out.append(f"{name} {rng.choice(SURN)} paid {num_words(rng.randint(1000, 2000000))} dollars for the house")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--test", type=int, default=1500)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    per_source = {}
    seen = set()
    for name, gen, lo in (("fortunes", fortunes(), 3), ("wordnet", wordnet(), 3), ("gcide", gcide(), 4)):
        keep = []
        for raw in gen:
            norm = normalize(raw)
            if good(raw, norm, lo=lo) and norm not in seen:
                seen.add(norm)
                keep.append(norm)
        per_source[name] = keep
    per_source["numbers"] = list(dict.fromkeys(normalize(s) for s in numbers(rng, 12000)))
    for k, v in per_source.items():
        print(k, len(v))
    # balanced mix: cap the big sources so that the corpus is varied
    caps = {"fortunes": 60000, "wordnet": 50000, "gcide": 50000, "numbers": 12000}
    allsent = []
    for k, v in per_source.items():
        rng.shuffle(v)
        allsent += [(k, s) for s in v[:caps[k]]]
    rng.shuffle(allsent)
    test = allsent[:args.test]
    train = allsent[args.test:]
    with open(os.path.join(args.out, "sentences_test.txt"), "w") as f:
        for k, s in test:
            f.write(s + "\n")
    with open(os.path.join(args.out, "sentences_train.txt"), "w") as f:
        for k, s in train:
            f.write(s + "\n")
    print("train", len(train), "test", len(test))


if __name__ == "__main__":
    main()
