"""Synthesise labelled speech with flite / espeak-ng / RHVoice / SVOX Pico / MBROLA, perturb it, and store
NeMo log-mel shards.

Usage:
  python3 synth.py train OUT_DIR --sentences S.txt --n 30000 --shard 1000 --seed 1
  python3 synth.py eval  OUT_DIR --sentences sentences_test.txt   (held-out voices, writes wavs too)
  python3 synth.py dev   OUT_DIR --sentences sentences_test.txt --n 200 --offset 1000
      (a tuning set for decoding weights: training voices, held-out sentences the eval sets do not use)

Training voices: flite kal16, awb, rms, kal; espeak-ng English accents x variants (not m3, f2);
RHVoice alan, clb, evgeniy-eng, lyubov; Pico en-US; MBROLA us1, us2, en1 (through espeak-ng).
Held out completely (eval only): flite slt, espeak-ng variants +m3 and +f2, RHVoice bdl (and slt: an
evaluation voice of the project), Pico en-GB, MBROLA us3.
`--engines` picks the engines a train run draws from (v2 draws from the new ones more often).
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
RHVOICE_TRAIN = ["alan", "clb", "evgeniy-eng", "lyubov"]
RHVOICE_HELDOUT = ["bdl"]          # slt is never used: it is one of the project's evaluation voices
PICO_TRAIN = ["en-US"]
PICO_HELDOUT = ["en-GB"]
MBROLA_TRAIN = ["mb-us1", "mb-us2", "mb-en1"]
MBROLA_HELDOUT = ["mb-us3"]
ESPEAK_VARIANTS = ["", "m1", "m2", "m4", "m5", "m6", "m7", "f1", "f3", "f4", "f5", "klatt", "klatt2",
                   "klatt3", "klatt4", "Adam", "Alex", "Alicia", "Andrea", "Andy", "Annie", "Antonio",
                   "Auntie", "Belinda", "Benjamin", "Caleb", "David", "Denis", "Ed", "Edward", "Gene",
                   "Gustave", "Henrique", "Hugo", "Iven", "Jacky", "John", "Lee", "Linda", "Marco",
                   "Max", "Michael", "Mike", "Paul", "Pedro", "Quincy", "Rob", "Robert", "Steph",
                   "Tweaky", "Zac", "anika", "grandma", "grandpa", "norbert", "shelby", "travis",
                   "victor", "male8", "female1", "female3", "female4", "female5", "croak", "iven2",
                   "steph2", "steph3", "Diogo", "Mario", "sandro", "Boris", "Miguel", "Nguyen"]


# First held-out sentence of each evaluation set (n <= 200 each): disjoint from each other and from the
# dev set's sentences 1000-1199.
SENTENCE_BASE = {"flite-slt": 0, "espeak-m3": 200, "espeak-f2": 400, "rhvoice-bdl": 600, "pico-en-gb": 800,
                 "mbrola-us3": 1200}


def synth_raw(cmd_tts, sox_effects, tmpdir):
    """Run a TTS command writing wav to a temp file, then sox -> float32 16 kHz mono."""
    wav = os.path.join(tmpdir, "tts.wav")
    # tts_command() writes the token "WAV" where an engine takes an output file name (flite, Pico, RHVoice);
    # it is replaced by the temp file here. Without it the engine writes to stdout (espeak-ng --stdout).
    # RHVoice-test reads its text from stdin: the command's last element.
    text_in = None
    if cmd_tts[0] == "RHVoice-test":
        text_in, cmd_tts = cmd_tts[-1].encode(), cmd_tts[:-1]
    writes_file = "WAV" in cmd_tts
    cmd = [wav if a == "WAV" else a for a in cmd_tts]
    subprocess.run(cmd, check=True, input=text_in,
                   stdout=subprocess.DEVNULL if writes_file else open(wav, "wb"), stderr=subprocess.DEVNULL)
    out = subprocess.run(["sox", "-q", wav, "-t", "raw", "-e", "floating-point", "-b", "32", "-r", "16000",
                          "-c", "1", "-"] + sox_effects, check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout
    return np.frombuffer(out, dtype=np.float32).copy()


def tts_command(voice: str, text: str, rng: random.Random, perturb: bool):
    if voice.startswith("flite:"):
        v = voice.split(":", 1)[1]
        return ["flite", "-voice", v, "-t", text, "-o", "WAV"]
    if voice.startswith("rhvoice:"):
        v = voice.split(":", 1)[1]
        rate = rng.randint(-30, 30) if perturb else 0
        pitch = rng.randint(-30, 30) if perturb else 0
        return ["RHVoice-test", "-p", v, "-r", str(100 + rate), "-t", str(100 + pitch), "-o", "WAV", text]
    if voice.startswith("pico:"):
        return ["pico2wave", "-l", voice.split(":", 1)[1], "-w", "WAV", text]
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
        eff += formant_warp(rng)
    elif rng.random() < 0.4:
        eff += ["pitch", str(rng.randint(-300, 300)), "rate", "16000"]  # pitch leaves another rate behind
    if rng.random() < 0.15:
        eff += ["lowpass", str(rng.randint(3400, 7000))]
    if rng.random() < 0.15:
        eff += ["highpass", str(rng.randint(80, 300))]
    if rng.random() < 0.3:
        eff += room(rng)
    if rng.random() < 0.1:
        eff += ["sinc", "300-3400"]  # telephone band
    return eff


def formant_warp(rng: random.Random):
    """Vocal-tract-length warping: resampling by a scales formants and pitch by a (speed); tempo brings
    the duration back and an independent pitch change decorrelates pitch from the formants."""
    a = rng.uniform(0.86, 1.16)
    cents = rng.randint(-250, 250)
    return ["speed", f"{a:.4f}", "rate", "16000", "tempo", "-s", f"{1 / a:.4f}", "pitch", str(cents), "rate", "16000"]


def room(rng: random.Random):
    """Reverberation of a small to large room (sox reverb: reverberance, HF damping, room scale,
    stereo depth, pre-delay); mono again after."""
    return ["reverb", str(rng.randint(10, 80)), str(rng.randint(20, 80)), str(rng.randint(10, 100)),
            "100", str(rng.randint(0, 40)), "channels", "1"]


BABBLE: list = []  # recent utterances, mixed as babble noise into later ones


def add_noise(x: np.ndarray, rng: np.random.Generator, snr_lo=5.0, snr_hi=45.0):
    """White, brown, pink-ish or babble noise at a random SNR."""
    snr = rng.uniform(snr_lo, snr_hi)
    p = float(np.mean(x ** 2)) + 1e-12
    kind = rng.random()
    if kind < 0.3 and len(BABBLE) >= 3:
        noise = np.zeros(x.size, np.float32)
        for _ in range(int(rng.integers(2, 5))):
            b = BABBLE[int(rng.integers(len(BABBLE)))]
            start = int(rng.integers(max(1, b.size)))
            seg = np.resize(np.roll(b, -start), x.size)
            noise += seg / (seg.std() + 1e-9)
        snr = rng.uniform(max(snr_lo, 8), max(snr_hi, 9))  # babble under 8 dB SNR is another talker's speech
    else:
        noise = rng.standard_normal(x.size).astype(np.float32)
        if kind < 0.6:  # brownish noise
            noise = np.cumsum(noise)
            noise -= np.convolve(noise, np.ones(400) / 400, mode="same")
        elif kind < 0.8:  # pinkish: a one-pole low-pass of white noise
            noise = np.convolve(noise, 0.9 ** np.arange(40), mode="same")
    noise = noise / (noise.std() + 1e-9)
    return x + noise.astype(np.float32) * np.sqrt(p / (10 ** (snr / 10)))


def postprocess(x: np.ndarray, rng: np.random.Generator, perturb: bool):
    if x.size == 0:
        return x
    if perturb and x.size > 16000:
        BABBLE.append(x.copy())
        del BABBLE[:-30]
    if perturb:
        lead = np.zeros(int(rng.uniform(0.0, 0.4) * 16000), np.float32)
        tail = np.zeros(int(rng.uniform(0.0, 0.4) * 16000), np.float32)
        x = np.concatenate([lead, x, tail])
    peak = float(np.abs(x).max()) + 1e-9
    target = rng.uniform(0.05, 0.95) if perturb else 0.5
    x = x * (target / peak)
    if perturb and rng.random() < 0.7:
        x = add_noise(x, rng)
    if perturb and rng.random() < 0.1:
        x = x + rng.uniform(-0.05, 0.05)  # DC offset of a cheap sound card
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
    """Training voices per engine."""
    return {
        "flite": [f"flite:{v}" for v in FLITE_TRAIN],
        "espeak": [f"espeak:{l}+{v}" if v else f"espeak:{l}" for l in ESPEAK_LANGS for v in ESPEAK_VARIANTS],
        "rhvoice": [f"rhvoice:{v}" for v in RHVOICE_TRAIN],
        "pico": [f"pico:{v}" for v in PICO_TRAIN],
        "mbrola": [f"espeak:{v}" for v in MBROLA_TRAIN],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "eval", "dev"])
    ap.add_argument("out")
    ap.add_argument("--sentences", required=True)
    ap.add_argument("--n", type=int, default=30000)
    ap.add_argument("--shard", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start-shard", type=int, default=0)
    ap.add_argument("--engines", default="flite:0.4,espeak:0.6",
                    help="engine:share list for train mode, e.g. rhvoice:0.3,pico:0.15,mbrola:0.2,flite:0.15,espeak:0.2")
    ap.add_argument("--sets", default="", help="eval: comma-separated subset of the held-out sets")
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
                "espeak-f2": [f"espeak:{l}+f2" for l in ("en-us", "en-gb")],
                "rhvoice-bdl": ["rhvoice:bdl"], "pico-en-gb": ["pico:en-GB"], "mbrola-us3": ["espeak:mb-us3"]}
        sets = {k: v for k, v in sets.items() if not args.sets or k in args.sets.split(",")}
    if args.mode in ("eval", "dev"):
        per = args.n
        for si, (name, voices) in enumerate(sets.items()):
            d = os.path.join(args.out, name)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "refs.tsv"), "w") as refs:
                for i in range(per):
                    text = sents[(SENTENCE_BASE.get(name, si * per) + i) % len(sents)]
                    voice = voices[i % len(voices)]
                    x = synth_raw(tts_command(voice, text, rng, False), [], tmpdir)
                    x = postprocess(x, nrng, False)
                    uid = f"{name}-{i:04d}"
                    write_wav(os.path.join(d, uid + ".wav"), x)
                    refs.write(f"{uid}\t{text}\n")
            print(name, per, flush=True)
        return

    pools = train_voices()
    shares = [(e.split(":")[0], float(e.split(":")[1])) for e in args.engines.split(",")]
    shard_idx = args.start_shard
    feats, texts, voices, secs = [], [], [], 0.0
    done = 0
    while done < args.n:
        text = rng.choice(sents)
        # occasionally join two sentences for longer utterances
        if rng.random() < 0.15:
            text = text + " " + rng.choice(sents)
        r, acc, engine = rng.random() * sum(w for _, w in shares), 0.0, shares[-1][0]
        for name, w in shares:
            acc += w
            if r < acc:
                engine = name
                break
        voice = rng.choice(pools[engine])
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
