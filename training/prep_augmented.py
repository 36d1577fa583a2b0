"""Real read speech (LJ Speech fragments) and augmented copies of the real training speech -> shards.

Usage:
  python3 prep_augmented.py DATA_DIR [--copies 4] [--so762-copies 2] [--seed 3]

Writes
  DATA_DIR/lj_train/       LJ clips outside the dev split: one clean copy + COPIES-1 perturbed copies
  DATA_DIR/lj_dev/         the dev split's features (one shard; train.py's dev-only source)
  DATA_DIR/eval/lj-dev/    the dev split as 16 kHz wavs + refs.tsv (for bench:wer --set)
  DATA_DIR/so762_aug/      SO762_COPIES perturbed copies of the speechocean762 train speakers (never the
                           utterances prep_real.py keeps for train.py's dev figures)

The LJ dev split is every 10th clip in sorted order (43 of 423 clips, about 5 minutes): never trained on,
used to choose the data mix and decoding weights. Perturbations are the ones synth.py applies to
synthetic speech (speed, vocal-tract-length warping, rooms, telephone band, coloured and babble noise, level,
DC), so real speech reaches the model in the acoustic conditions of real rooms and microphones.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nemo_features import nemo_mel  # noqa: E402
from prep_real import SO, decode_opus, read_kv  # noqa: E402
from synth import perturb_effects, postprocess, write_shard, write_wav  # noqa: E402
from textnorm import normalize  # noqa: E402

torch.set_num_threads(1)
LJ = "/work/shared/data/ljspeech-fragments"
SO762_DEV_SKIP = range(1150, 1250)  # prep_real.py's shard 0 keeps its last 100 for train.py's dev figures


def perturbed(x: np.ndarray, rng: random.Random, nrng: np.random.Generator, tmp: str) -> np.ndarray:
    """One randomly perturbed copy of a 16 kHz waveform (sox effects, then noise / level / DC)."""
    src = os.path.join(tmp, "in.wav")
    write_wav(src, x / (np.abs(x).max() + 1e-9) * 0.7)
    eff = perturb_effects(rng)
    out = subprocess.run(["sox", "-q", src, "-t", "raw", "-e", "floating-point", "-b", "32", "-r", "16000",
                          "-c", "1", "-"] + eff, check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout
    return postprocess(np.frombuffer(out, dtype=np.float32).copy(), nrng, True)


class ShardWriter:
    def __init__(self, out: str, per_shard: int):
        self.out, self.per_shard, self.idx = out, per_shard, 0
        os.makedirs(out, exist_ok=True)
        self.feats, self.texts, self.voices, self.secs = [], [], [], 0.0

    def add(self, x: np.ndarray, text: str, voice: str):
        self.feats.append(nemo_mel(x).numpy())
        self.texts.append(text)
        self.voices.append(voice)
        self.secs += x.size / 16000
        if len(self.feats) == self.per_shard:
            self.flush()

    def flush(self):
        if self.feats:
            write_shard(self.out, self.idx, self.feats, self.texts, self.voices, self.secs)
            print(f"{self.out} shard {self.idx} {self.secs / 3600:.2f} h", flush=True)
            self.idx += 1
            self.feats, self.texts, self.voices, self.secs = [], [], [], 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--copies", type=int, default=4, help="LJ train: 1 clean + copies-1 perturbed")
    ap.add_argument("--so762-copies", type=int, default=2)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    rng, nrng = random.Random(args.seed), np.random.default_rng(args.seed)
    tmp = tempfile.mkdtemp(prefix="aug_")

    text, scp = read_kv(os.path.join(LJ, "text")), read_kv(os.path.join(LJ, "wav.scp"))
    utts = sorted(text)
    dev = set(utts[::10])
    eval_dir = os.path.join(args.data, "eval", "lj-dev")
    os.makedirs(eval_dir, exist_ok=True)
    dev_writer = ShardWriter(os.path.join(args.data, "lj_dev"), 10 ** 6)
    train_writer = ShardWriter(os.path.join(args.data, "lj_train"), 400)
    with open(os.path.join(eval_dir, "refs.tsv"), "w") as refs:
        for utt in utts:
            x = decode_opus(os.path.join(LJ, scp[utt]), tmp)
            words = normalize(text[utt])
            if utt in dev:
                write_wav(os.path.join(eval_dir, utt + ".wav"), x)
                refs.write(f"{utt}\t{words}\n")
                dev_writer.add(x, words, "lj")
                continue
            train_writer.add(x, words, "lj")
            for _ in range(args.copies - 1):
                train_writer.add(perturbed(x, rng, nrng, tmp), words, "lj+aug")
    dev_writer.flush()
    train_writer.flush()

    so_text, so_scp = read_kv(os.path.join(SO, "train", "text")), read_kv(os.path.join(SO, "train", "wav.scp"))
    so_writer = ShardWriter(os.path.join(args.data, "so762_aug"), 1250)
    for i, utt in enumerate(sorted(so_text)):
        if i in SO762_DEV_SKIP:
            continue
        x = decode_opus(os.path.join(SO, so_scp[utt]), tmp)
        for _ in range(args.so762_copies):
            so_writer.add(perturbed(x, rng, nrng, tmp), normalize(so_text[utt]), "so762+aug:" + utt[:5])
    so_writer.flush()


if __name__ == "__main__":
    main()
