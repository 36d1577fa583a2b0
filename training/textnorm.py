"""Text normalisation to the model's character set: lowercase a-z, apostrophe, space."""
from __future__ import annotations

import re

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
        "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORD_IRREG = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
             "nine": "ninth", "twelve": "twelfth"}


def num_words(n: int) -> str:
    if n < 0:
        return "minus " + num_words(-n)
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + num_words(rest))
    for div, name in ((10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand")):
        if n >= div:
            rest = n % div
            head = num_words(n // div) + " " + name
            if rest == 0:
                return head
            return head + (" and " if rest < 100 else " ") + num_words(rest)
    raise ValueError(n)


def ordinal_words(n: int) -> str:
    w = num_words(n).split(" ")
    last = w[-1]
    if last in ORD_IRREG:
        w[-1] = ORD_IRREG[last]
    elif last.endswith("y"):
        w[-1] = last[:-1] + "ieth"
    else:
        w[-1] = last + "th"
    return " ".join(w)


def year_words(y: int) -> str:
    if 2000 <= y < 2010:
        return num_words(y)
    if 1100 <= y < 2100 and y % 100 != 0:
        hi, lo = divmod(y, 100)
        return num_words(hi) + " " + ("oh " + ONES[lo] if lo < 10 else num_words(lo))
    if 1100 <= y < 2100:
        return num_words(y // 100) + " hundred"
    return num_words(y)


_num_re = re.compile(r"\d+")


def _digits_to_words(m: re.Match) -> str:
    s = m.group(0)
    if len(s) > 9:
        return " ".join(ONES[int(c)] for c in s)
    n = int(s)
    if len(s) == 4 and 1100 <= n < 2100:
        return " " + year_words(n) + " "
    if s.startswith("0") and len(s) > 1:
        return " " + " ".join(ONES[int(c)] for c in s) + " "
    return " " + num_words(n) + " "


def normalize(text: str) -> str:
    t = text.replace("\u2019", "'").replace("`", "'")
    t = re.sub(r"(\d),(\d{3})", r"\1\2", t)
    t = re.sub(r"(\d+)(st|nd|rd|th)\b", lambda m: " " + ordinal_words(int(m.group(1))) + " ", t)
    t = re.sub(r"\$(\d+)", lambda m: m.group(1) + " dollars", t)
    t = re.sub(r"(\d+)%", lambda m: m.group(1) + " percent", t)
    t = t.replace("&", " and ").replace("%", " percent ").replace("+", " plus ").replace("@", " at ")
    t = _num_re.sub(_digits_to_words, t)
    t = t.lower()
    t = re.sub(r"[^a-z' ]", " ", t)
    t = re.sub(r"(^|\s)'+|'+(\s|$)", " ", t)  # quotes, not apostrophes
    t = re.sub(r"'{2,}", "'", t)
    t = re.sub(r"\s+", " ", t).strip()
    return t
