"""Streaming greedy WER/CER of the exported model on the held-out sets.

Usage:
  python3 evaluate.py [--model ../models/stt-en-char-fastconformer-ctc/model.onnx]
                      [--eval-dir /work/stt-runs/data/eval] [--sets flite-slt,espeak-m3,...]
                      [--backend onnx|torch] [--ckpt /work/stt-runs/ckpt/last.pt] [--limit N]
                      [--hyps OUT.tsv] [--pocketsphinx SETS]

Each set is EVAL_DIR/<set>/refs.tsv ("utt<TAB>reference") + <utt>.wav (16 kHz mono).
Features: nemo_features.nemo_mel (unnormalised). backend onnx: the exported ONNX model run window by
window (35 frames, shift 32, caches fed back) with Python onnxruntime, else onnxruntime-node;
backend torch: model.stream_step with the same windows. Greedy CTC: argmax per frame, merge repeats
across chunks, drop blanks. Prints a markdown table. --pocketsphinx librivox,... also runs Debian's
pocketsphinx_continuous (pocketsphinx-en-us default model) on those sets for reference.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_export import read_wav, stream_onnx, stream_torch  # noqa: E402
from export_onnx import DEFAULT_OUT, load_model  # noqa: E402
from model import BLANK, ids_to_text  # noqa: E402
from nemo_features import nemo_mel  # noqa: E402
from train import edit_distance, greedy  # noqa: E402

torch.set_num_threads(1)
SETS = ["flite-slt", "espeak-m3", "espeak-f2", "so762-test", "librivox"]


def greedy_text(lp):
    return greedy(np.asarray(lp), len(lp))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(DEFAULT_OUT, "model.onnx"))
    ap.add_argument("--eval-dir", default="/work/stt-runs/data/eval")
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--backend", choices=["onnx", "torch"], default="onnx")
    ap.add_argument("--ckpt", default="/work/stt-runs/ckpt/last.pt")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--hyps", default="")
    ap.add_argument("--pocketsphinx", default="", help="comma-separated sets to also run through pocketsphinx_continuous")
    args = ap.parse_args()
    model = load_model(args.ckpt)[0] if args.backend == "torch" else None
    rows = []
    hyp_out = open(args.hyps, "w") if args.hyps else None
    for name in args.sets.split(","):
        d = os.path.join(args.eval_dir, name)
        refs = [l.rstrip("\n").split("\t", 1) for l in open(os.path.join(d, "refs.tsv")) if l.strip()]
        if args.limit:
            refs = refs[:args.limit]
        feats = [nemo_mel(read_wav(os.path.join(d, u + ".wav"))) for u, _ in refs]
        secs = sum(f.shape[0] for f in feats) / 100
        if args.backend == "onnx":
            lps, rt = stream_onnx(args.model, [f.numpy() for f in feats])
            if lps is None:
                raise SystemExit("no ONNX runtime available: " + rt)
        else:
            lps = [stream_torch(model, f).numpy() for f in feats]
        ce = cn = we = wn = 0
        for (u, ref), lp in zip(refs, lps):
            hyp = greedy_text(lp)
            ce += edit_distance(hyp, ref)
            cn += len(ref)
            we += edit_distance(hyp.split(), ref.split())
            wn += len(ref.split())
            if hyp_out:
                hyp_out.write(f"{name}\t{u}\t{ref}\t{hyp}\n")
        row = [name, len(refs), secs / 60, we / max(1, wn) * 100, ce / max(1, cn) * 100, None]
        if name in args.pocketsphinx.split(","):
            import subprocess
            pe = 0
            for u, ref in refs:
                out = subprocess.run(["pocketsphinx_continuous", "-infile", os.path.join(d, u + ".wav")],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
                from textnorm import normalize
                hyp = normalize(" ".join(out.split()))
                pe += edit_distance(hyp.split(), ref.split())
                if hyp_out:
                    hyp_out.write(f"{name}\t{u}\t{ref}\tpocketsphinx: {hyp}\n")
            row[5] = pe / max(1, wn) * 100
        rows.append(tuple(row))
        print(f"{name}: {len(refs)} utts, WER {rows[-1][3]:.1f}%, CER {rows[-1][4]:.1f}%", flush=True)
    print()
    print(f"model: {args.model if args.backend == 'onnx' else args.ckpt} (backend {args.backend}, streaming, greedy)")
    print("| held-out set | utterances | minutes | WER % | CER % | pocketsphinx WER % |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, n, mins, wer, cer, ps in rows:
        print(f"| {name} | {n} | {mins:.1f} | {wer:.1f} | {cer:.1f} | {'-' if ps is None else f'{ps:.1f}'} |")


if __name__ == "__main__":
    main()
