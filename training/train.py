"""Train the streaming CTC model on precomputed feature shards (one CPU thread).

Usage:
  python3 train.py --data /work/stt-runs/data --run /work/stt-runs [--until 21:15] [--max-steps N]

Reads DATA/<source>/shard_*.{npy,json} for each source of --sources (rescanned every few hundred steps,
so generation may continue while training runs), each repeated by its weight; weight 0 marks a dev-only
source (e.g. lj_dev). The default is v1's mix (synth x1, speechocean762 x3).
Checkpoints (model + optimizer + step + rng) every 5 minutes to RUN/ckpt/last.pt and resumes from it
automatically. Logs to RUN/train.log. Deterministic given the same shards (seeded).
"""
from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import math
import os
import random
import signal
import sys
import time

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import BLANK, build, config_dict, ids_to_text, text_to_ids  # noqa: E402

torch.set_num_threads(int(os.environ.get("STT_TRAIN_THREADS", "1")))


def log(run, msg):
    line = f"{dt.datetime.utcnow().strftime('%H:%M:%S')} {msg}"
    print(line, flush=True)
    with open(os.path.join(run, "train.log"), "a") as f:
        f.write(line + "\n")


class Data:
    """All utterances in memory: (array, start, end, ids)."""

    def __init__(self, root, sources, dev_per_source=100):
        self.root = root
        self.sources = sources
        self.loaded = set()
        self.train, self.dev = [], []
        self.hours = {}
        self.dev_per_source = dev_per_source

    def scan(self):
        new = 0
        for src, weight in self.sources:
            for js in sorted(glob.glob(os.path.join(self.root, src, "shard_*.json"))):
                if js in self.loaded or js.endswith(".tmp.json"):
                    continue
                meta = json.load(open(js))
                arr = np.load(js[:-5] + ".npy", mmap_mode=None)
                self.loaded.add(js)
                off = meta["offsets"]
                items = []
                for i, t in enumerate(meta["texts"]):
                    ids = text_to_ids(t)
                    n = off[i + 1] - off[i]
                    if not ids or n < 20 or n // 4 < len(ids):
                        continue
                    items.append((arr, off[i], off[i + 1], ids))
                if weight == 0:  # a dev-only source
                    self.dev += [(src,) + it for it in items]
                    items = []
                # the first shard of v1's sources gives a few dev utterances (never trained on; augmented
                # copies of real speech leave the same utterances out)
                elif os.path.basename(js) == "shard_00000.json" and src in ("synth", "synth2", "so762_train"):
                    self.dev += [(src,) + it for it in items[-self.dev_per_source:]]
                    items = items[:-self.dev_per_source]
                self.train += items * weight
                self.hours[src] = round(self.hours.get(src, 0.0) + meta["seconds"] / 3600, 2)
                new += 1
        return new


def batches(items, max_frames, rng):
    idx = list(range(len(items)))
    rng.shuffle(idx)
    out = []
    pool = 3000
    for p in range(0, len(idx), pool):
        chunk = sorted(idx[p:p + pool], key=lambda i: items[i][2] - items[i][1])
        cur, cur_max = [], 0
        for i in chunk:
            n = items[i][2] - items[i][1]
            if cur and max(cur_max, n) * (len(cur) + 1) > max_frames:
                out.append(cur)
                cur, cur_max = [], 0
            cur.append(i)
            cur_max = max(cur_max, n)
        if cur:
            out.append(cur)
    rng.shuffle(out)
    return out


def collate(items, sel):
    lens = [items[i][2] - items[i][1] for i in sel]
    t = max(lens)
    feats = torch.zeros(len(sel), t, 80)
    tg, tl = [], []
    for j, i in enumerate(sel):
        arr, s, e, ids = items[i]
        feats[j, :e - s] = torch.from_numpy(arr[s:e].astype(np.float32))
        tg += ids
        tl.append(len(ids))
    return feats, torch.tensor(lens), torch.tensor(tg), torch.tensor(tl)


def spec_augment(feats, lens, g: torch.Generator):
    b, t, f = feats.shape
    for j in range(b):
        n = int(lens[j])
        fill = feats[j, :n].mean()
        for _ in range(2):
            w = int(torch.randint(0, 16, (1,), generator=g))
            f0 = int(torch.randint(0, f - w + 1, (1,), generator=g))
            feats[j, :n, f0:f0 + w] = fill
        for _ in range(max(1, n // 120)):
            w = int(torch.randint(0, min(25, max(1, n // 20)) + 1, (1,), generator=g))
            t0 = int(torch.randint(0, max(1, n - w), (1,), generator=g))
            feats[j, t0:t0 + w] = fill
    return feats


def mel_warp(feats, lens, g: torch.Generator, max_warp: float):
    """Vocal-tract-length perturbation in the feature domain: stretch or squeeze each utterance's mel axis
    by a factor in [1 - max_warp, 1 + max_warp] (linear interpolation between bins, edges held)."""
    b, _, f = feats.shape
    for j in range(b):
        a = 1 + (float(torch.rand(1, generator=g)) * 2 - 1) * max_warp
        src = torch.clamp(torch.arange(f, dtype=torch.float32) / a, 0, f - 1)
        lo = src.floor().long()
        hi = torch.clamp(lo + 1, max=f - 1)
        w = src - lo.float()
        n = int(lens[j])
        x = feats[j, :n]
        feats[j, :n] = x[:, lo] * (1 - w) + x[:, hi] * w
    return feats


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def greedy(lp, n):
    ids = lp[:n].argmax(-1).tolist()
    out, last = [], None
    for i in ids:
        if i != last and i != BLANK:
            out.append(i)
        last = i
    return ids_to_text(out)


@torch.no_grad()
def evaluate_dev(model, dev):
    model.eval()
    device = next(model.parameters()).device
    res = {}
    for src in sorted(set(d[0] for d in dev)):
        items = [d[1:] for d in dev if d[0] == src]
        ce = cn = we = wn = 0
        for p in range(0, len(items), 16):
            sel = list(range(p, min(p + 16, len(items))))
            feats, lens, _, _ = collate(items, sel)
            lp, el = model(feats.to(device), lens.to(device))
            lp, el = lp.cpu(), el.cpu()
            for j, i in enumerate(sel):
                hyp = greedy(lp[j], int(el[j]))
                ref = ids_to_text(items[i][3])
                ce += edit_distance(hyp, ref)
                cn += len(ref)
                we += edit_distance(hyp.split(), ref.split())
                wn += len(ref.split())
        res[src] = (ce / max(1, cn), we / max(1, wn))
    model.train()
    return res


def lr_at(step, peak, warm, anneal_start=0, anneal_steps=0, floor=0.05):
    step = max(step, 1)
    lr = peak * min(step / warm, math.sqrt(warm / step))
    # A final linear anneal (a run that ends soon): the last steps at a falling rate settle the weights.
    if anneal_steps > 0 and step > anneal_start:
        lr *= max(floor, 1 - (step - anneal_start) / anneal_steps)
    return lr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/stt-runs/data")
    ap.add_argument("--run", default="/work/stt-runs")
    ap.add_argument("--until", default="", help="UTC HH:MM to stop (saves a checkpoint)")
    ap.add_argument("--max-steps", type=int, default=10 ** 9)
    ap.add_argument("--max-frames", type=int, default=8000)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--specaug-from", type=int, default=600, help="step from which SpecAugment is applied")
    ap.add_argument("--anneal-start", type=int, default=0, help="step from which the rate falls linearly ...")
    ap.add_argument("--anneal-steps", type=int, default=0, help="... to 5%% of its schedule over this many steps (0: no anneal)")
    ap.add_argument("--sources", default="synth:1,so762_train:3",
                    help="source:weight list of DATA subfolders (weight 0: dev only)")
    ap.add_argument("--mel-warp", type=float, default=0.0, help="VTLP-style mel-axis warping, e.g. 0.1 (0: off)")
    ap.add_argument("--device", default="auto", help="auto (cuda when available, else cpu), cpu or cuda")
    ap.add_argument("--init", default="", help="weights to start from when there is no last.pt")
    args = ap.parse_args()
    os.makedirs(os.path.join(args.run, "ckpt"), exist_ok=True)
    ckpt_path = os.path.join(args.run, "ckpt", "last.pt")
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    g = torch.Generator().manual_seed(args.seed)

    data = Data(args.data, [(s.split(":")[0], int(s.split(":")[1])) for s in args.sources.split(",")])
    data.scan()
    log(args.run, f"data: {len(data.train)} train items (weighted), dev {len(data.dev)}, hours {data.hours}")

    state = torch.load(ckpt_path, map_location="cpu") if os.path.exists(ckpt_path) else None  # any device
    if state is None and args.init:
        init = torch.load(args.init, map_location="cpu")
        state = {"model": init["model"], "cfg": init["cfg"]}
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    model = build(state["cfg"] if state else None).to(device)
    # The optimizer is built on the moved parameters: load_state_dict then casts its state to their device.
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=1e-2)
    step, trained_s, seen_s = 0, 0.0, 0.0
    if state is not None:
        model.load_state_dict({k: v.float() for k, v in state["model"].items()})
        if "opt" in state:
            opt.load_state_dict(state["opt"])
            step, trained_s, seen_s = state["step"], state.get("trained_s", 0.0), state.get("seen_s", 0.0)
            rng.setstate(state["rng"])
            g.set_state(state["g"])
        log(args.run, f"resumed at step {step}")
    log(args.run, f"params {sum(p.numel() for p in model.parameters())} cfg {config_dict(model)} device {device}")
    ctc = torch.nn.CTCLoss(blank=BLANK, zero_infinity=True, reduction="sum")

    def save():
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "cfg": config_dict(model),
                    "trained_s": trained_s, "seen_s": seen_s, "rng": rng.getstate(), "g": g.get_state(),
                    "hours": data.hours}, tmp)
        os.replace(tmp, ckpt_path)

    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *a: stop.update(flag=True))
    deadline = None
    if args.until:
        hh, mm = map(int, args.until.split(":"))
        now = dt.datetime.utcnow()
        deadline = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        if deadline <= now:  # a time past midnight means tomorrow
            deadline += dt.timedelta(days=1)
    last_save = time.time()
    t_log, loss_acc, frames_acc, n_acc = time.time(), 0.0, 0, 0
    model.train()
    while not stop["flag"]:
        for sel in batches(data.train, args.max_frames, rng):
            t0 = time.time()
            feats, lens, tg, tl = collate(data.train, sel)
            if args.mel_warp > 0:
                feats = mel_warp(feats, lens, g, args.mel_warp)
            if step >= args.specaug_from:
                feats = spec_augment(feats, lens, g)
            lp, el = model(feats.to(device), lens.to(device))
            # CTC on the CPU tensors' device too: targets are small, and cuDNN's CTC has extra limits
            loss = ctc(lp.transpose(0, 1), tg.to(device), el, tl.to(device)) / float(tl.sum())
            for pg in opt.param_groups:
                pg["lr"] = lr_at(step + 1, args.lr, args.warmup, args.anneal_start, args.anneal_steps)
            opt.zero_grad()
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            if torch.isfinite(gn):
                opt.step()
            step += 1
            trained_s += time.time() - t0
            seen_s += float(lens.sum()) / 100
            loss_acc += float(loss) * float(tl.sum())
            n_acc += float(tl.sum())
            frames_acc += int(lens.sum())
            if step % 25 == 0:
                el_t = time.time() - t_log
                log(args.run, f"step {step} loss/char {loss_acc / n_acc:.3f} lr {opt.param_groups[0]['lr']:.2e} "
                    f"gn {float(gn):.1f} {frames_acc / 100 / el_t:.1f}x RT seen {seen_s / 3600:.2f} h")
                t_log, loss_acc, frames_acc, n_acc = time.time(), 0.0, 0, 0
            if step % 300 == 0:
                res = evaluate_dev(model, data.dev)
                log(args.run, "dev " + " ".join(f"{k}: CER {v[0] * 100:.1f}% WER {v[1] * 100:.1f}%" for k, v in res.items()))
                if data.scan():
                    log(args.run, f"rescan: {len(data.train)} train items, hours {data.hours}")
                    save()
                    break  # rebuild batches with the new shards
            if time.time() - last_save > 300:
                save()
                last_save = time.time()
                log(args.run, f"checkpoint step {step}")
            if stop["flag"] or step >= args.max_steps or (deadline and dt.datetime.utcnow() >= deadline):
                stop["flag"] = True
                break
    save()
    log(args.run, f"stopped at step {step}, saved")


if __name__ == "__main__":
    main()
