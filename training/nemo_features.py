"""Reference NeMo-compatible log-mel features (NeMo ``FilterbankFeatures``).

This is the reference implementation used for the MelExtractor test fixtures
and for training the bundled model. Keep the API stable:

    nemo_mel(wave, dtype=torch.float32) -> torch.Tensor [T, 80]   (time-major)
    per_feature_normalize(feats [T, 80]) -> torch.Tensor [T, 80]
    mel_filterbank() -> torch.Tensor [80, 257]

Exactly as DESIGN.md "Features": 16 kHz input; preemphasis 0.97 over the
whole signal (y[0] = x[0]); centred STFT (torch.stft, center=True,
pad_mode='constant', i.e. 256 zeros each side), n_fft 512, hop 160,
win_length 400 with a *symmetric* Hann window (torch.hann_window(400,
periodic=False)) that torch.stft zero-pads into the middle of the 512-point
frame (56 zeros each side); power spectrum computed as NeMo does
(sqrt(re^2 + im^2) ** 2); 80 Slaney-scale, Slaney-normalised triangular mel
filters over 0..8000 Hz (librosa.filters.mel(sr=16000, n_fft=512, n_mels=80,
norm='slaney'), reimplemented below); natural log of (mel + 2**-24); only
floor(N / 160) frames are kept (the STFT yields one more, which NeMo masks);
no normalisation ("NA"), no dither.
"""
from __future__ import annotations

import math

import numpy as np
import torch

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 160
WIN = 400
N_MELS = 80
PREEMPH = 0.97
LOG_GUARD = 2.0 ** -24
FMIN = 0.0
FMAX = 8000.0


def _hz_to_mel_slaney(f: np.ndarray) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3.0
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    return np.where(f >= min_log_hz,
                    min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep,
                    mels)


def _mel_to_hz_slaney(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3.0
    freqs = f_sp * m
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS,
                   fmin: float = FMIN, fmax: float = FMAX) -> torch.Tensor:
    """librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney') -> [n_mels, n_fft//2+1] f32."""
    fftfreqs = np.linspace(0.0, sr / 2.0, 1 + n_fft // 2)
    mel_pts = np.linspace(_hz_to_mel_slaney(fmin), _hz_to_mel_slaney(fmax), n_mels + 2)
    mel_f = _mel_to_hz_slaney(mel_pts)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float64)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, None]
    return torch.from_numpy(weights.astype(np.float32))


_FB = None
_WINDOW = None


def _consts():
    global _FB, _WINDOW
    if _FB is None:
        _FB = mel_filterbank()
        _WINDOW = torch.hann_window(WIN, periodic=False, dtype=torch.float32)
    return _FB, _WINDOW


def num_frames(n_samples: int) -> int:
    """Number of valid frames NeMo keeps for a signal of n_samples: floor(N / 160)."""
    return int(n_samples) // HOP


def nemo_mel(wave, dtype=torch.float32) -> torch.Tensor:
    """1-D float waveform at 16 kHz (numpy or torch) -> log-mel features [T, 80], T = floor(N/160)."""
    if isinstance(wave, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(wave))
    else:
        x = torch.as_tensor(wave)
    x = x.to(torch.float32).reshape(-1)
    n = x.shape[0]
    t_valid = num_frames(n)
    if t_valid == 0:
        return torch.zeros((0, N_MELS), dtype=dtype)
    fb, window = _consts()
    # preemphasis (y[0] = x[0])
    x = torch.cat([x[:1], x[1:] - PREEMPH * x[:-1]])
    spec = torch.stft(x, n_fft=N_FFT, hop_length=HOP, win_length=WIN, window=window,
                      center=True, pad_mode="constant", normalized=False, onesided=True,
                      return_complex=True)  # [257, frames]
    mag = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2))  # NeMo: magnitude, then ** mag_power (2.0)
    power = mag.pow(2.0)
    mel = torch.matmul(fb, power)  # [80, frames]
    logmel = torch.log(mel + LOG_GUARD)
    return logmel[:, :t_valid].t().contiguous().to(dtype)


def per_feature_normalize(feats: torch.Tensor) -> torch.Tensor:
    """NeMo 'per_feature' normalisation of [T, 80] features: per bin, mean and unbiased std over time (+1e-5)."""
    f = torch.as_tensor(feats).to(torch.float32)
    mean = f.mean(dim=0, keepdim=True)
    if f.shape[0] > 1:
        std = f.std(dim=0, unbiased=True, keepdim=True)
    else:
        std = torch.zeros_like(mean)
    return (f - mean) / (std + 1e-5)


if __name__ == "__main__":  # self-check against torchaudio's Slaney filterbank
    import torchaudio.functional as AF
    ours = mel_filterbank()
    ta = AF.melscale_fbanks(N_FFT // 2 + 1, FMIN, FMAX, N_MELS, SAMPLE_RATE, norm="slaney",
                            mel_scale="slaney").t()
    print("filterbank max abs diff vs torchaudio:", float((ours - ta).abs().max()),
          "max value", float(ours.max()))
    w = torch.randn(16000 * 2 + 37) * 0.1
    f = nemo_mel(w)
    print("frames", tuple(f.shape), "expected", (num_frames(w.numel()), N_MELS))
