"""Small cache-aware streaming FastConformer-style CTC encoder (character vocabulary).

Cache-aware BY CONSTRUCTION: every operation only looks left, except full attention inside a chunk.

* Subsampling 4x: two stride-2 3x3 convs (the second depthwise-separable, as NeMo "dw_striding"),
  *valid* (no padding) along time. The model is fed PRE = 3 left-context mel frames before each
  chunk (zeros before the start of the stream): encoder frame k of a chunk sees mel frames
  4k-3 .. 4k+3 of that chunk, so a chunk of CHUNK*4 = 32 mel frames (320 ms) needs a window of
  32 + 3 = 35 mel frames and has no look-ahead beyond its own end.
* Conformer blocks, pre-LN (macaron FFN, MHSA, conv module, FFN; no per-block output norm, one final
  LayerNorm before the head -- a first run with NeMo-style per-block output norms collapsed here):
  - attention: queries of chunk c (8 encoder frames) attend to every frame of chunk c and to the
    previous CACHE (= 32) encoder frames; learned relative-position bias per head. Streaming cache:
    the last 32 attention inputs (after the pre-attention LayerNorm) per layer -> cache_last_channel.
  - conv module: causal depthwise conv, kernel 9 (left padding 8); streaming cache: last 8 inputs of
    the depthwise conv per layer -> cache_last_time. LayerNorm instead of BatchNorm.
* CTC head: linear -> log-softmax over vocab + blank (blank = last id).

`forward(feats, lengths)` (full sequence, chunk mask) and `stream_step(...)` (one window, caches)
compute the same function; check_export.py verifies it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = ["\u2581"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'"]  # blank appended last
BLANK = len(VOCAB)


def text_to_ids(text: str):
    out = []
    for ch in text:
        if ch == " ":
            out.append(0)
        elif "a" <= ch <= "z":
            out.append(1 + ord(ch) - ord("a"))
        elif ch == "'":
            out.append(27)
    return out


def ids_to_text(ids) -> str:
    return "".join(" " if i == 0 else VOCAB[i] for i in ids if i < BLANK).strip()


@dataclass
class Config:
    n_mels: int = 80
    d_model: int = 144
    n_layers: int = 7
    n_heads: int = 4
    ff_mult: int = 3
    conv_kernel: int = 9
    chunk: int = 8           # encoder frames per chunk
    cache: int = 32          # left-context encoder frames (attention cache)
    sub_channels: int = 256
    dropout: float = 0.1
    vocab: int = len(VOCAB)  # without blank
    feat_mean: float = -10.5  # fixed global input scaling (measured on the first shards)
    feat_std: float = 3.7

    @property
    def pre(self) -> int:      # mel frames of left context the subsampling needs
        return 3

    @property
    def sub(self) -> int:
        return 4

    @property
    def window(self) -> int:   # mel frames fed per streaming step
        return self.chunk * self.sub + self.pre

    @property
    def shift(self) -> int:    # mel frames advanced per step
        return self.chunk * self.sub


class Subsampling(nn.Module):
    """Two time-strided (stride 2, kernel 3, valid) 1-D convolutions over the 80 mel channels
    (cheap on one CPU core). Output frame k of a window sees input frames 4k .. 4k+6."""

    def __init__(self, cfg: Config):
        super().__init__()
        c = cfg.sub_channels
        self.conv1 = nn.Conv1d(cfg.n_mels, c, 3, stride=2)
        self.conv2 = nn.Conv1d(c, cfg.d_model, 3, stride=2)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)
        self.norm = nn.LayerNorm(cfg.d_model)

    def forward(self, x):  # x [B, T, 80] (T includes the PRE left frames) -> [B, (T-3)//4, d]
        x = F.relu(self.conv1(x.transpose(1, 2)))
        x = F.relu(self.conv2(x))
        return self.norm(self.out(x.transpose(1, 2)))


class FeedForward(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.norm = nn.LayerNorm(cfg.d_model)
        self.l1 = nn.Linear(cfg.d_model, cfg.d_model * cfg.ff_mult)
        self.l2 = nn.Linear(cfg.d_model * cfg.ff_mult, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x):
        return self.drop(self.l2(F.silu(self.l1(self.norm(x)))))


class ChunkAttention(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.h = cfg.n_heads
        self.dk = cfg.d_model // cfg.n_heads
        self.chunk, self.cache = cfg.chunk, cfg.cache
        self.q = nn.Linear(cfg.d_model, cfg.d_model)
        self.k = nn.Linear(cfg.d_model, cfg.d_model)
        self.v = nn.Linear(cfg.d_model, cfg.d_model)
        self.o = nn.Linear(cfg.d_model, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        n_rel = cfg.cache + 2 * cfg.chunk - 1
        self.rel_bias = nn.Parameter(torch.zeros(cfg.n_heads, n_rel))
        q = torch.arange(cfg.chunk)[:, None]
        k = torch.arange(cfg.cache + cfg.chunk)[None, :]
        # distance (query - key) in absolute frames = q + cache - k, in [-(chunk-1), cache+chunk-1]
        self.register_buffer("rel_idx", (q + cfg.cache - k + cfg.chunk - 1), persistent=False)
        self.full_mask = False

    def attend(self, xq, k, v, key_valid):
        """xq [N, C, d] queries; k, v [N, cache+C, d] projected keys/values; key_valid [N, cache+C] bool."""
        n, c, d = xq.shape
        q = self.q(xq).view(n, c, self.h, self.dk).transpose(1, 2)             # [N,H,C,dk]
        k = k.reshape(n, -1, self.h, self.dk).transpose(1, 2)                   # [N,H,K,dk]
        v = v.reshape(n, -1, self.h, self.dk).transpose(1, 2)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dk)          # [N,H,C,K]
        s = s + self.rel_bias[:, self.rel_idx].unsqueeze(0)
        s = s.masked_fill(~key_valid[:, None, None, :], -1e4)
        a = self.drop(torch.softmax(s, dim=-1))
        out = torch.matmul(a, v).transpose(1, 2).reshape(n, c, d)
        return self.o(out)

    def forward(self, x, lengths):
        """Full sequence [B, T, d] with T a multiple of chunk; lengths [B] valid encoder frames."""
        b, t, d = x.shape
        c, m = self.chunk, self.cache
        if self.full_mask:  # same function with a [T, T] mask (ONNX-exportable with a dynamic T)
            i = torch.arange(t, device=x.device)[:, None]
            j = torch.arange(t, device=x.device)[None, :]
            start = torch.div(i, c, rounding_mode="floor") * c
            allowed = (j >= start - m) & (j < start + c)
            valid = allowed[None] & (j[None] < lengths[:, None, None])          # [B, T, T]
            dist = torch.clamp(i - j + c - 1, 0, self.rel_bias.shape[1] - 1)
            q = self.q(x).view(b, t, self.h, self.dk).transpose(1, 2)
            k = self.k(x).view(b, t, self.h, self.dk).transpose(1, 2)
            v = self.v(x).view(b, t, self.h, self.dk).transpose(1, 2)
            s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dk) + self.rel_bias[:, dist].unsqueeze(0)
            s = s.masked_fill(~valid[:, None], -1e4)
            a = torch.softmax(s, dim=-1)
            return self.o(torch.matmul(a, v).transpose(1, 2).reshape(b, t, d))
        nc = t // c

        def windows(y):  # [B, T, d] -> [B*nc, m+c, d]: for chunk i, frames i*c-m .. i*c+c-1
            yp = F.pad(y, (0, 0, m, 0))
            return yp.unfold(1, m + c, c).permute(0, 1, 3, 2).reshape(b * nc, m + c, d)

        k, v = windows(self.k(x)), windows(self.v(x))
        pos = torch.arange(nc, device=x.device)[:, None] * c - m + torch.arange(m + c, device=x.device)[None, :]
        valid = (pos[None] >= 0) & (pos[None] < lengths[:, None, None])         # [B, nc, m+c]
        out = self.attend(x.reshape(b * nc, c, d), k, v, valid.reshape(b * nc, m + c))
        return out.view(b, t, d)


class ConvModule(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        d = cfg.d_model
        self.k = cfg.conv_kernel
        self.norm = nn.LayerNorm(d)
        self.pw1 = nn.Linear(d, 2 * d)
        self.dw_weight = nn.Parameter(torch.randn(d, cfg.conv_kernel) / math.sqrt(cfg.conv_kernel))
        self.dw_bias = nn.Parameter(torch.zeros(d))
        self.cnorm = nn.LayerNorm(d)
        self.pw2 = nn.Linear(d, d)
        self.drop = nn.Dropout(cfg.dropout)

    def pre(self, x):  # -> depthwise conv input [B, d, T]
        return F.glu(self.pw1(self.norm(x)), dim=-1).transpose(1, 2)

    def dw(self, up):
        """Depthwise conv over an input already left-padded/cached: up [B, d, T+K-1] -> [B, d, T]."""
        t = up.shape[2] - (self.k - 1)
        y = up[:, :, 0:t] * self.dw_weight[:, 0:1]
        for j in range(1, self.k):
            y = y + up[:, :, j:j + t] * self.dw_weight[:, j:j + 1]
        return y + self.dw_bias[:, None]

    def post(self, y):  # y [B, d, T] depthwise output
        y = F.silu(self.cnorm(y.transpose(1, 2)))
        return self.drop(self.pw2(y))

    def forward(self, x):
        u = self.pre(x)
        return self.post(self.dw(F.pad(u, (self.k - 1, 0))))


class Block(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.ff1 = FeedForward(cfg)
        self.att_norm = nn.LayerNorm(cfg.d_model)
        self.att = ChunkAttention(cfg)
        self.conv = ConvModule(cfg)
        self.ff2 = FeedForward(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, lengths):
        x = x + 0.5 * self.ff1(x)
        x = x + self.drop(self.att(self.att_norm(x), lengths))
        x = x + self.conv(x)
        x = x + 0.5 * self.ff2(x)
        return x

    def step(self, x, cache_ch, cache_t, cache_len, chunk_len):
        """One chunk. x [B, C, d]; cache_ch [B, M, d]; cache_t [B, d, K-1]; cache_len, chunk_len [B] i64."""
        m = cache_ch.shape[1]
        c = x.shape[1]
        x = x + 0.5 * self.ff1(x)
        xn = self.att_norm(x)
        kv = torch.cat([cache_ch, xn], dim=1)
        kpos = torch.arange(m + c, device=x.device)[None, :]
        valid = ((kpos < m) & (kpos >= m - cache_len[:, None])) | ((kpos >= m) & (kpos - m < chunk_len[:, None]))
        x = x + self.drop(self.att.attend(xn, self.att.k(kv), self.att.v(kv), valid))
        new_ch = kv[:, c:]
        u = self.conv.pre(x)
        ucat = torch.cat([cache_t, u], dim=2)
        new_t = ucat[:, :, c:]
        x = x + self.conv.post(self.conv.dw(ucat))
        x = x + 0.5 * self.ff2(x)
        return x, new_ch, new_t


class StreamingCTC(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.sub = Subsampling(cfg)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.final_norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab + 1)

    def _scale(self, feats):
        return (feats - self.cfg.feat_mean) / self.cfg.feat_std

    def encoded_lengths(self, mel_lengths):
        return torch.div(mel_lengths + self.cfg.sub - 1, self.cfg.sub, rounding_mode="floor")

    def forward(self, feats, lengths):
        """feats [B, T, 80] time-major unnormalised log-mel (zero padded), lengths [B] mel frames.
        Returns log-probs [B, T', vocab+1] and encoded lengths ceil(len/4)."""
        cfg = self.cfg
        b, t, _ = feats.shape
        unit = cfg.chunk * cfg.sub
        tp = (t + unit - 1) // unit * unit
        x = self._scale(feats)
        # padding keeps the raw-feature value 0 (as the streaming zero padding does)
        x = F.pad(x, (0, 0, 0, tp - t), value=-cfg.feat_mean / cfg.feat_std)
        x = F.pad(x, (0, 0, cfg.pre, 0), value=-cfg.feat_mean / cfg.feat_std)
        enc_len = self.encoded_lengths(lengths)
        h = self.sub(x)
        for blk in self.blocks:
            h = blk(h, enc_len)
        return F.log_softmax(self.head(self.final_norm(h)), dim=-1), enc_len

    def init_state(self, batch: int = 1):
        cfg = self.cfg
        return (torch.zeros(batch, cfg.n_layers, cfg.cache, cfg.d_model),
                torch.zeros(batch, cfg.n_layers, cfg.d_model, cfg.conv_kernel - 1),
                torch.zeros(batch, dtype=torch.long))

    def stream_step(self, audio_signal, length, cache_last_channel, cache_last_time, cache_last_channel_len):
        """NeMo cache-aware contract, one window.
        audio_signal [B, 80, window] feature-major (PRE left-context frames + chunk frames);
        length [B] valid frames of audio_signal (PRE included)."""
        cfg = self.cfg
        x = self._scale(audio_signal.transpose(1, 2))
        pad_value = -cfg.feat_mean / cfg.feat_std
        tpos = torch.arange(x.shape[1], device=x.device)[None, :, None]
        x = torch.where(tpos < length[:, None, None], x, torch.full_like(x, pad_value))
        chunk_len = torch.clamp(torch.div(length - cfg.pre + cfg.sub - 1, cfg.sub, rounding_mode="floor"),
                                min=0, max=cfg.chunk)
        h = self.sub(x)
        new_ch, new_t = [], []
        for i, blk in enumerate(self.blocks):
            h, c1, c2 = blk.step(h, cache_last_channel[:, i], cache_last_time[:, i], cache_last_channel_len, chunk_len)
            new_ch.append(c1)
            new_t.append(c2)
        logprobs = F.log_softmax(self.head(self.final_norm(h)), dim=-1)
        next_len = torch.clamp(cache_last_channel_len + chunk_len, max=cfg.cache)
        return logprobs, chunk_len, torch.stack(new_ch, 1), torch.stack(new_t, 1), next_len


def build(cfg_dict=None) -> StreamingCTC:
    cfg = Config(**(cfg_dict or {}))
    return StreamingCTC(cfg)


def config_dict(model: StreamingCTC):
    return asdict(model.cfg)
