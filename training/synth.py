"""Synthesise labelled speech with flite / espeak-ng, perturb it, and store NeMo log-mel shards.

Usage:
  python3 synth.py train OUT_DIR --sentences S.txt --n 30000 --shard 1000 --seed 1
  python3 synth.py eval  OUT_DIR --sentences sentences_test.txt   (held-out voices, writes wavs too)
  python3 synth.py dev   OUT_DIR --sentences sentences_test.txt --n 200 --offset 1000
      (a tuning set for decoding weights: training voices, held-out sentences the eval sets do not use)

Training voices: flite kal16, awb, rms, kal; espeak-ng English accents x variants (not m3, f2).
Held out completely (eval only): flite slt, espeak-ng variants +m3 and +f2.
Each shard: shard_XXXXX.npy (float16 [sumT, 80], time-major features) + shard_XXXXX.json
({"texts": [...], "offsets": [...], "voices": [...], "seconds": total}).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nemo_features import nemo_mel  # noqa: E402

torch.set_num_threads(1)

FLITE_TRAIN = ["kal16", "awb", "rms", "kal"]
FLITE_HELDOUT = ["slt"]
ESPEAK_LANGS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
                "en-029", "en-us-nyc"]
ESPEAK_HELDOUT_VARIANTS = ["m3", "f2"]
ESPEAK_VARIANTS = ["", "m1", "m2", "m4", "m5", "m6", "m7", "f1", "f3", "f4", "f5", "klatt", "klatt2",
                   "klatt3", "klatt4", "Adam", "Alex", "Alicia", "Andrea", "Andy", "Annie", "Antonio",
                   "Auntie", "Belinda", "Benjamin", "Caleb", "David", "Denis", "Ed", "Edward", "Gene",
                   "Gustave", "Henrique", "Hugo", "Iven", "Jacky", "John", "Lee", "Linda", "Marco",
                   "Max", "Michael", "Mike", "Paul", "Pedro", "Quincy", "Rob", "Robert", "Steph",
                   "Tweaky", "Zac", "anika", "grandma", "grandpa", "norbert", "shelby", "travis",
                   "victor", "male8", "female1", "female3", "female4", "female5", "croak", "iven2",
                   "steph2", "steph3", "Diogo", "Mario", "sandro", "Boris", "Miguel", "Nguyen"]


def synth_raw(cmd_tts, sox_effects, tmpdir):
    """Run a TTS command writing wav to a temp file, then sox -> float32 16 kHz mono."""
    wav = os.path.join(tmpdir, "tts.wav")
    subprocess.run(cmd_tts + [wav] if cmd_tts[0] == "flite" else cmd_tts, check=True,
                   stdout=open(wav, "wb") if cmd_tts[0] != "flite" else subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    out = subprocess.run(["sox", "-q", wav, "-t", "raw", "-e", "floating-point", "-b", "32", "-r", "16000",
                          "-c", "1", "-"] + sox_effects, check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout
    return np.frombuffer(out, dtype=np.float32).copy()


def tts_command(voice: str, text: str, rng: random.Random, perturb: bool):
    if voice.startswith("flite:"):
        v = voice.split(":", 1)[1]
        return ["flite", "-voice", v, "-t", text, "-o"]
    # espeak:<lang>+<variant>
    v = voice.split(":", 1)[1]
    speed = rng.randint(125, 200) if perturb else 160
    pitch = rng.randint(20, 80) if perturb else 50
    return ["espeak-ng", "-v", v, "-s", str(speed), "-p", str(pitch), "--stdout", text]


def perturb_effects(rng: random.Random):
    eff = []
    if rng.random() < 0.7:
        eff += ["tempo", "-s", f"{rng.uniform(0.85, 1.15):.3f}"]
    if rng.random() < 0.4:
        eff += ["pitch", str(rng.randint(-300, 300))]
    if rng.random() < 0.15:
        eff += ["lowpass", str(rng.randint(3400, 7000))]
    if rng.random() < 0.15:
        eff += ["highpass", str(rng.randint(80, 300))]
    if rng.random() < 0.25:
        eff += ["reverb", str(rng.randint(10, 60)), "50", str(rng.randint(20, 100))]
        eff += ["channels", "1"]
    return eff


def postprocess(x: np.ndarray, rng: np.random.Generator, perturb: bool):
    if x.size == 0:
        return x
    if perturb:
        lead = np.zeros(int(rng.uniform(0.0, 0.4) * 16000), np.float32)
        tail = np.zeros(int(rng.uniform(0.0, 0.4) * 16000), np.float32)
        x = np.concatenate([lead, x, tail])
    peak = float(np.abs(x).max()) + 1e-9
    target = rng.uniform(0.05, 0.95) if perturb else 0.5
    x = x * (target / peak)
    if perturb and rng.random() < 0.7:
        snr = rng.uniform(8, 45)
        p = float(np.mean(x ** 2)) + 1e-12
        noise = rng.standard_normal(x.size).astype(np.float32)
        if rng.random() < 0.5:  # brownish noise
            noise = np.cumsum(noise)
            noise -= np.convolve(noise, np.ones(400) / 400, mode="same")
            noise /= noise.std() + 1e-9
        x = x + noise * np.sqrt(p / (10 ** (snr / 10)))
    return np.clip(x, -1, 1).astype(np.float32)


def write_wav(path, x):
    import wave
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes())


def write_shard(out_dir, idx, feats, texts, voices, seconds):
    arr = np.concatenate(feats, 0).astype(np.float16) if feats else np.zeros((0, 80), np.float16)
    offsets = np.cumsum([0] + [f.shape[0] for f in feats]).tolist()
    base = os.path.join(out_dir, f"shard_{idx:05d}")
    np.save(base + ".tmp.npy", arr)
    with open(base + ".tmp.json", "w") as f:
        json.dump({"texts": texts, "offsets": offsets, "voices": voices, "seconds": seconds}, f)
    os.replace(base + ".tmp.npy", base + ".npy")
    os.replace(base + ".tmp.json", base + ".json")  # json last: a shard is complete when its json exists


def train_voices():
    vs = [f"flite:{v}" for v in FLITE_TRAIN]
    es = [f"espeak:{l}+{v}" if v else f"espeak:{l}" for l in ESPEAK_LANGS for v in ESPEAK_VARIANTS]
    return vs, es


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "eval", "dev"])
    ap.add_argument("out")
    ap.add_argument("--sentences", required=True)
    ap.add_argument("--n", type=int, default=30000)
    ap.add_argument("--shard", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start-shard", type=int, default=0)
    ap.add_argument("--flite-frac", type=float, default=0.4)
    ap.add_argument("--offset", type=int, default=1000, help="dev: first sentence used (eval uses 0 .. 3n-1)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    nrng = np.random.default_rng(args.seed)
    sents = [l.strip() for l in open(args.sentences) if l.strip()]
    tmpdir = tempfile.mkdtemp(prefix="synth_")

    if args.mode == "dev":
        # Seen voices, unseen sentences: tune LM weight / word bonus here, never on the eval sets.
        sets = {"dev-seen-voices": ["espeak:en-us+m1", "espeak:en-gb+f3", "flite:awb", "flite:rms"]}
        sents = sents[args.offset:] + sents[:args.offset]
    else:
        sets = {"flite-slt": ["flite:slt"], "espeak-m3": [f"espeak:{l}+m3" for l in ("en-us", "en-gb")],
                "espeak-f2": [f"espeak:{l}+f2" for l in ("en-us", "en-gb")]}
    if args.mode in ("eval", "dev"):
        per = args.n
        for si, (name, voices) in enumerate(sets.items()):
            d = os.path.join(args.out, name)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "refs.tsv"), "w") as refs:
                for i in range(per):
                    text = sents[(si * per + i) % len(sents)]
                    voice = voices[i % len(voices)]
                    x = synth_raw(tts_command(voice, text, rng, False), [], tmpdir)
                    x = postprocess(x, nrng, False)
                    uid = f"{name}-{i:04d}"
                    write_wav(os.path.join(d, uid + ".wav"), x)
                    refs.write(f"{uid}\t{text}\n")
            print(name, per, flush=True)
        return

    fl, es = train_voices()
    shard_idx = args.start_shard
    feats, texts, voices, secs = [], [], [], 0.0
    done = 0
    while done < args.n:
        text = rng.choice(sents)
        # occasionally join two sentences for longer utterances
        if rng.random() < 0.15:
            text = text + " " + rng.choice(sents)
        voice = rng.choice(fl) if rng.random() < args.flite_frac else rng.choice(es)
        try:
            x = synth_raw(tts_command(voice, text, rng, True), perturb_effects(rng), tmpdir)
        except subprocess.CalledProcessError:
            continue
        x = postprocess(x, nrng, True)
        if x.size < 16000 * 0.5 or x.size > 16000 * 20:
            continue
        f = nemo_mel(x).numpy()
        feats.append(f)
        texts.append(text)
        voices.append(voice)
        secs += x.size / 16000
        done += 1
        if len(feats) == args.shard:
            write_shard(args.out, shard_idx, feats, texts, voices, secs)
            print(f"shard {shard_idx} {secs / 3600:.2f} h", flush=True)
            shard_idx += 1
            feats, texts, voices, secs = [], [], [], 0.0
    if feats:
        write_shard(args.out, shard_idx, feats, texts, voices, secs)


if __name__ == "__main__":
    main()
