"""Export a checkpoint to ONNX with the NeMo cache-aware streaming CTC contract (DESIGN.md, contract 1).

Usage:
  python3 export_onnx.py [--ckpt /work/stt-runs/ckpt/last.pt] [--out ../models/stt-en-char-fastconformer-ctc]
                         [--offline] [--resume-out resume/latest.pt]

Writes OUT/model.onnx (streaming, one window per call), OUT/tokens.txt and, with --offline,
OUT/model.offline.onnx (contract 2: audio_signal + length only, whole utterance, same weights).

Streaming contract (window_size = 35 mel frames, chunk_shift = 32):
  inputs  audio_signal f32 [B, 80, 35] (feature-major, unnormalised NeMo log-mel),
          length i64 [B] (valid frames of audio_signal, the 3 left-context frames included),
          cache_last_channel f32 [B, 7, 32, 144], cache_last_time f32 [B, 7, 144, 8],
          cache_last_channel_len i64 [B]
  outputs logprobs f32 [B, 8, 29] (log-softmax, blank = 28), encoded_lengths i64 [B],
          cache_last_channel_next, cache_last_time_next, cache_last_channel_next_len
Stream: state zeros / length 0; window i = mel frames [32 i - 3, 32 i + 32) where frames before 0 are
zeros (the first window is 3 zero frames + the first 32 frames); the last window is zero-padded and its
true length given; keep the first encoded_lengths output frames of each call.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import BLANK, VOCAB, build  # noqa: E402

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "models", "stt-en-char-fastconformer-ctc"))


class StreamWrapper(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, audio_signal, length, cache_last_channel, cache_last_time, cache_last_channel_len):
        return self.m.stream_step(audio_signal, length, cache_last_channel, cache_last_time, cache_last_channel_len)


class OfflineWrapper(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, audio_signal, length):
        return self.m(audio_signal.transpose(1, 2), length)


def load_model(ckpt):
    st = torch.load(ckpt, map_location="cpu")
    m = build(st["cfg"])
    m.load_state_dict({k: v.float() for k, v in st["model"].items()})
    m.eval()
    return m, st


def write_tokens(path):
    with open(path, "w", encoding="utf-8") as f:
        for i, t in enumerate(VOCAB):
            f.write(f"{t} {i}\n")
        f.write(f"<blk> {BLANK}\n")


def metadata(m, st, offline=False):
    cfg = m.cfg
    md = {
        "model_type": "EncDecCTCModelBPE",
        "model_family": "streaming-ctc-char" if not offline else "offline-ctc-char",
        "vocab_size": str(cfg.vocab),
        "vocab_type": "char",
        "subsampling_factor": str(cfg.sub),
        "normalize_type": "NA",
        "feat_dim": str(cfg.n_mels),
        "sample_rate": "16000",
        "version": "1",
        "step": str(st.get("step", 0)),
        # v2 continued v1's weights (19,286 steps) on new data with a fresh step counter
        "model_release": "2 (v1 weights, step 19286, then v2 data; step counts from the v2 start)",
        "comment": ("streamsx-stt small cache-aware streaming char CTC (FastConformer-style, chunked attention, "
                    "causal conv). Features: NeMo log-mel, unnormalised. Trained by the project, see README.md."),
    }
    if not offline:
        md.update({
            "window_size": str(cfg.window),
            "chunk_shift": str(cfg.shift),
            "pre_encode_cache_size": str(cfg.pre),
            "first_window": f"prepend {cfg.pre} zero frames",
            "chunk_size_out": str(cfg.chunk),
            "cache_last_channel_dim1": str(cfg.n_layers),
            "cache_last_channel_dim2": str(cfg.cache),
            "cache_last_channel_dim3": str(cfg.d_model),
            "cache_last_time_dim1": str(cfg.n_layers),
            "cache_last_time_dim2": str(cfg.d_model),
            "cache_last_time_dim3": str(cfg.conv_kernel - 1),
            "latency_ms": str(cfg.shift * 10),
        })
    return md


def add_metadata(path, md):
    import onnx
    mp = onnx.load(path)
    del mp.metadata_props[:]
    for k, v in md.items():
        e = mp.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(mp, path)


def export_streaming(m, st, path):
    cfg = m.cfg
    b = 1
    args = (torch.zeros(b, cfg.n_mels, cfg.window), torch.full((b,), cfg.window, dtype=torch.long),
            *m.init_state(b))
    in_names = ["audio_signal", "length", "cache_last_channel", "cache_last_time", "cache_last_channel_len"]
    out_names = ["logprobs", "encoded_lengths", "cache_last_channel_next", "cache_last_time_next",
                 "cache_last_channel_next_len"]
    torch.onnx.export(StreamWrapper(m), args, path, input_names=in_names, output_names=out_names,
                      dynamic_axes={n: {0: "batch"} for n in in_names + out_names}, opset_version=14,
                      do_constant_folding=True)
    add_metadata(path, metadata(m, st))


def export_offline(m, st, path):
    cfg = m.cfg
    for blk in m.blocks:
        blk.att.full_mask = True
    args = (torch.zeros(1, cfg.n_mels, 200), torch.tensor([200]))
    torch.onnx.export(OfflineWrapper(m), args, path, input_names=["audio_signal", "length"],
                      output_names=["logprobs", "encoded_lengths"],
                      dynamic_axes={"audio_signal": {0: "batch", 2: "time"}, "length": {0: "batch"},
                                    "logprobs": {0: "batch", 1: "time_out"}, "encoded_lengths": {0: "batch"}},
                      opset_version=14, do_constant_folding=True)
    for blk in m.blocks:
        blk.att.full_mask = False
    add_metadata(path, metadata(m, st, offline=True))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="/work/stt-runs/ckpt/last.pt")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--offline", action="store_true")
    ap.add_argument("--resume-out", default="", help="also write weights-only fp16 checkpoint here (train.py --init)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    m, st = load_model(args.ckpt)
    export_streaming(m, st, os.path.join(args.out, "model.onnx"))
    write_tokens(os.path.join(args.out, "tokens.txt"))
    if args.offline:
        export_offline(m, st, os.path.join(args.out, "model.offline.onnx"))
    if args.resume_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.resume_out)), exist_ok=True)
        torch.save({"model": {k: v.half() for k, v in m.state_dict().items()}, "cfg": st["cfg"],
                    "step": st.get("step"), "hours": st.get("hours"), "seen_s": st.get("seen_s"),
                    "trained_s": st.get("trained_s")}, args.resume_out)
        print("weights-only fp16 checkpoint:", args.resume_out, os.path.getsize(args.resume_out), "bytes")
    print("exported step", st.get("step"), "to", args.out)
    for k, v in metadata(m, st).items():
        if k != "comment":
            print(f"  {k} = {v}")


if __name__ == "__main__":
    main()
