"""Real speech: speechocean762 train -> feature shards; speechocean762 test and the pocketsphinx
LibriVox clips -> held-out evaluation sets (16 kHz wavs + refs.tsv).

Usage: python3 prep_real.py DATA_DIR   (writes DATA_DIR/so762_train/, DATA_DIR/eval/so762-test/,
                                        DATA_DIR/eval/librivox/)
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nemo_features import nemo_mel  # noqa: E402
from synth import write_shard, write_wav  # noqa: E402
from textnorm import normalize  # noqa: E402

torch.set_num_threads(1)
SO = "/work/shared/data/speechocean762"
LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox"


def read_kv(path):
    out = {}
    for line in open(path):
        if line.strip():
            k, v = line.rstrip("\n").split(None, 1) if "\t" not in line else line.rstrip("\n").split("\t", 1)
            out[k] = v.strip()
    return out


def decode_opus(path, tmp):
    wav = os.path.join(tmp, "x.wav")
    subprocess.run(["opusdec", "--quiet", "--rate", "16000", path, wav], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run(["sox", "-q", wav, "-t", "raw", "-e", "floating-point", "-b", "32", "-r", "16000",
                          "-c", "1", "-"], check=True, stdout=subprocess.PIPE).stdout
    return np.frombuffer(out, dtype=np.float32).copy()


def main():
    data = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="real_")
    # train split -> shards
    out = os.path.join(data, "so762_train")
    os.makedirs(out, exist_ok=True)
    text = read_kv(os.path.join(SO, "train", "text"))
    scp = read_kv(os.path.join(SO, "train", "wav.scp"))
    feats, texts, voices, secs, idx = [], [], [], 0.0, 0
    for utt in sorted(text):
        x = decode_opus(os.path.join(SO, scp[utt]), tmp)
        feats.append(nemo_mel(x).numpy())
        texts.append(normalize(text[utt]))
        voices.append("so762:" + utt[:5])
        secs += x.size / 16000
        if len(feats) == 1250:
            write_shard(out, idx, feats, texts, voices, secs)
            print("so762 train shard", idx, secs / 3600, flush=True)
            feats, texts, voices, secs, idx = [], [], [], 0.0, idx + 1
    if feats:
        write_shard(out, idx, feats, texts, voices, secs)
    # test split -> eval wavs
    d = os.path.join(data, "eval", "so762-test")
    os.makedirs(d, exist_ok=True)
    text = read_kv(os.path.join(SO, "test", "text"))
    scp = read_kv(os.path.join(SO, "test", "wav.scp"))
    with open(os.path.join(d, "refs.tsv"), "w") as refs:
        for utt in sorted(text):
            x = decode_opus(os.path.join(SO, scp[utt]), tmp)
            write_wav(os.path.join(d, utt + ".wav"), x)
            refs.write(f"{utt}\t{normalize(text[utt])}\n")
    print("so762 test", len(text), flush=True)
    # librivox clips -> eval
    d = os.path.join(data, "eval", "librivox")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "refs.tsv"), "w") as refs:
        for line in open(os.path.join(LIBRIVOX, "transcription")):
            m = re.match(r"\s*(.*?)\s*\((\S+)\)\s*$", line)
            if not m:
                continue
            words, utt = m.group(1), m.group(2)
            words = re.sub(r"</?s>", " ", words)
            shutil.copy(os.path.join(LIBRIVOX, utt + ".wav"), os.path.join(d, utt + ".wav"))
            refs.write(f"{utt}\t{normalize(words)}\n")
    print("librivox done", flush=True)


if __name__ == "__main__":
    main()
