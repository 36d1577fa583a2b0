"""Check that chunk-by-chunk streaming equals the full-sequence masked forward.

Usage: python3 check_export.py [--ckpt /work/stt-runs/ckpt/last.pt] [--model ../models/.../model.onnx]
                               [--wav a.wav ...]

1. torch: full-sequence forward (chunk mask) vs. stream_step fed window by window (zero-padded last
   window, true length) -> max |diff| of log-probs.
2. ONNX: the exported model run chunk by chunk with Python onnxruntime if installed, else with
   onnxruntime-node (ort_stream.mjs, needs `node` and the repo's node_modules) -> max |diff| against the
   torch full-sequence forward. Asserts both < 1e-4; also checks the ONNX metadata keys.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_onnx import DEFAULT_OUT, load_model  # noqa: E402
from nemo_features import nemo_mel  # noqa: E402

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
REQUIRED_KEYS = ["window_size", "chunk_shift", "normalize_type", "cache_last_channel_dim1", "cache_last_channel_dim2",
                 "cache_last_channel_dim3", "cache_last_time_dim1", "cache_last_time_dim2", "cache_last_time_dim3",
                 "subsampling_factor", "vocab_size", "model_type"]


def read_wav(path):
    import wave
    with wave.open(path) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768


def stream_torch(m, feats):
    """feats [T, 80] -> streaming log-probs [T', V] using stream_step window by window."""
    cfg = m.cfg
    t = feats.shape[0]
    f = torch.cat([torch.zeros(cfg.pre, cfg.n_mels), feats], 0)
    state = m.init_state(1)
    outs = []
    with torch.no_grad():
        for start in range(0, t, cfg.shift):
            w = f[start:start + cfg.window]
            n = w.shape[0]
            w = torch.cat([w, torch.zeros(cfg.window - n, cfg.n_mels)], 0)
            lp, ol, c1, c2, cl = m.stream_step(w.t()[None], torch.tensor([n]), *state)
            state = (c1, c2, cl)
            outs.append(lp[0, :int(ol[0])])
    return torch.cat(outs, 0)


def onnx_metadata(path):
    import onnx
    mp = onnx.load(path, load_external_data=False)
    return {p.key: p.value for p in mp.metadata_props}


def stream_onnx(model_path, feats_list, offline=False):
    """Run the ONNX model chunk by chunk. Returns list of [T', V] arrays, and the runtime used."""
    md = onnx_metadata(model_path)
    try:
        import onnxruntime as ort  # noqa: F401
        have_py = True
    except ImportError:
        have_py = False
    if have_py and offline:
        import onnxruntime as ort
        sess = ort.InferenceSession(model_path)
        res = []
        for feats in feats_list:
            lp, ol = sess.run(None, {"audio_signal": feats.T[None].copy(), "length": np.array([feats.shape[0]], np.int64)})
            res.append(lp[0, :int(ol[0])])
        return res, "onnxruntime (python)"
    if have_py:
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        sess = ort.InferenceSession(model_path, so)
        w, s = int(md["window_size"]), int(md["chunk_shift"])
        pre = w - s
        L, M, D = (int(md[f"cache_last_channel_dim{i}"]) for i in (1, 2, 3))
        K1 = int(md["cache_last_time_dim3"])
        res = []
        for feats in feats_list:
            t = feats.shape[0]
            f = np.concatenate([np.zeros((pre, 80), np.float32), feats], 0)
            cc, ct, cl = np.zeros((1, L, M, D), np.float32), np.zeros((1, L, D, K1), np.float32), np.zeros(1, np.int64)
            outs = []
            for start in range(0, t, s):
                win = f[start:start + w]
                n = win.shape[0]
                win = np.concatenate([win, np.zeros((w - n, 80), np.float32)], 0)
                lp, ol, cc, ct, cl = sess.run(None, {"audio_signal": win.T[None].copy(), "length": np.array([n], np.int64),
                                                     "cache_last_channel": cc, "cache_last_time": ct,
                                                     "cache_last_channel_len": cl})
                outs.append(lp[0, :int(ol[0])])
            res.append(np.concatenate(outs, 0))
        return res, "onnxruntime (python)"
    node = shutil.which("node")
    if not node:
        return None, "none (no onnxruntime for python, no node)"
    tmp = tempfile.mkdtemp(prefix="ortchk_")
    with open(os.path.join(tmp, "meta.json"), "w") as fh:
        json.dump(md, fh)
    lines = []
    for i, feats in enumerate(feats_list):
        fp, op = os.path.join(tmp, f"f{i}.bin"), os.path.join(tmp, f"o{i}.bin")
        np.ascontiguousarray(feats, dtype=np.float32).tofile(fp)
        lines.append(f"{fp} {feats.shape[0]} {op}")
    with open(os.path.join(tmp, "list.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    subprocess.run([node, os.path.join(HERE, "ort_stream.mjs"), os.path.abspath(model_path),
                    os.path.join(tmp, "meta.json"), os.path.join(tmp, "list.txt")] + (["offline"] if offline else []),
                   check=True,
                   cwd=os.path.join(HERE, ".."))
    v = int(md["vocab_size"]) + 1
    res = [np.fromfile(os.path.join(tmp, f"o{i}.bin"), dtype=np.float32).reshape(-1, v) for i in range(len(feats_list))]
    shutil.rmtree(tmp, ignore_errors=True)
    return res, "onnxruntime-node (ort_stream.mjs)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="/work/stt-runs/ckpt/last.pt")
    ap.add_argument("--model", default=os.path.join(DEFAULT_OUT, "model.onnx"))
    ap.add_argument("--wav", nargs="*", default=[])
    args = ap.parse_args()
    m, st = load_model(args.ckpt)
    wavs = args.wav or sorted(
        os.path.join(d, x) for d in ["/usr/share/pocketsphinx/test/data/librivox"] if os.path.isdir(d)
        for x in os.listdir(d) if x.endswith(".wav"))[:2]
    feats_list = [nemo_mel(read_wav(w)) for w in wavs]
    rng = torch.Generator().manual_seed(0)
    feats_list += [torch.randn(n, 80, generator=rng) * 3 - 10 for n in (1, 31, 32, 33, 97, 130)]
    ok = True
    full = []
    with torch.no_grad():
        for feats in feats_list:
            lp, el = m(feats[None], torch.tensor([feats.shape[0]]))
            full.append(lp[0, :int(el[0])])
    worst = 0.0
    for feats, ref in zip(feats_list, full):
        s = stream_torch(m, feats)
        assert s.shape == ref.shape, (s.shape, ref.shape)
        worst = max(worst, float((s - ref).abs().max()))
    print(f"torch streaming vs full-sequence: max |diff| = {worst:.2e} over {len(feats_list)} inputs")
    ok &= worst < 1e-4
    if os.path.exists(args.model):
        md = onnx_metadata(args.model)
        missing = [k for k in REQUIRED_KEYS if k not in md]
        print("metadata:", {k: md[k] for k in md if k != "comment"})
        if missing:
            print("MISSING metadata keys:", missing)
            ok = False
        res, rt = stream_onnx(args.model, [f.numpy() for f in feats_list])
        if res is None:
            print("ONNX not checked:", rt)
        else:
            worst = 0.0
            for o, ref in zip(res, full):
                assert o.shape == tuple(ref.shape), (o.shape, ref.shape)
                worst = max(worst, float(np.abs(o - ref.numpy()).max()))
            print(f"ONNX ({rt}) streaming vs torch full-sequence: max |diff| = {worst:.2e}")
            ok &= worst < 1e-4
    else:
        print("no ONNX model at", args.model)
    offline = os.path.join(os.path.dirname(args.model), "model.offline.onnx")
    if os.path.exists(offline):
        res, rt = stream_onnx(offline, [f.numpy() for f in feats_list], offline=True)
        if res is not None:
            worst = 0.0
            for o, ref in zip(res, full):
                assert o.shape == tuple(ref.shape), (o.shape, ref.shape)
                worst = max(worst, float(np.abs(o - ref.numpy()).max()))
            print(f"offline ONNX ({rt}) whole-utterance vs torch full-sequence: max |diff| = {worst:.2e}")
            ok &= worst < 1e-4
    print("OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
