"""Reconstruction distances: log-mel L1 and multi-resolution STFT (docs/evaluation.md)."""

from __future__ import annotations

import math

import numpy as np

from latentroom.errors import InvalidAudioError
from latentroom.evaluation.spectral import log_mel, mel_filterbank, stft

N_MELS = 80
MEL_WINDOW_SECONDS = 0.0427  # log-mel window: the power of two nearest 42.7 ms (2048 at 48 kHz)
MRSTFT_FFT_SIZES = (512, 1024, 2048)
MAG_FLOOR = 1e-5  # STFT magnitudes are floored here before the log


def mel_n_fft(sample_rate: int) -> int:
    """Log-mel FFT size: ``2 ** round(log2(0.0427 * sample_rate))`` (512 at 16 kHz, 2048 at 48)."""
    return int(2 ** round(math.log2(MEL_WINDOW_SECONDS * sample_rate)))


def as_channels(x: np.ndarray) -> np.ndarray:
    """View audio samples as ``(C, N)`` float64 (a 1-D array is one channel)."""
    x = np.asarray(x, dtype=np.float64)
    return x[np.newaxis] if x.ndim == 1 else x


def align(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Trim both signals to the shorter length; both become ``(C, N)``.

    Raises
    ------
    InvalidAudioError
        Different channel counts, or nothing left to compare.
    """
    ref, est = as_channels(reference), as_channels(estimate)
    if ref.shape[0] != est.shape[0]:
        raise InvalidAudioError(
            f"cannot compare {ref.shape[0]}-channel audio with {est.shape[0]}-channel audio; "
            "remix one of them first"
        )
    n = min(ref.shape[1], est.shape[1])
    if n == 0:
        raise InvalidAudioError("cannot compare empty audio; both signals need samples")
    return ref[:, :n], est[:, :n]


def log_mel_l1(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Mean absolute difference of ``log(mel + 1e-5)`` between two signals at one rate.

    80 HTK-mel bands from 0 Hz to Nyquist over the magnitude STFT (periodic Hann window of
    ``mel_n_fft(sample_rate)`` samples, hop a quarter of it); averaged over bands, frames and
    channels after trimming both signals to the shorter length. A gain ``g`` on a signal well
    above the floor gives ``|log g|``.

    Parameters
    ----------
    reference, estimate : np.ndarray [shape=(C, N) or (N,)]
        The original and the reconstruction, same channel count.
    sample_rate : int > 0
        Rate of both.

    Returns
    -------
    float >= 0
        0 for identical signals.
    """
    ref, est = align(reference, estimate)
    n_fft = mel_n_fft(sample_rate)
    fbank = mel_filterbank(sample_rate, n_fft, N_MELS)
    diffs = [
        np.mean(np.abs(log_mel(r, fbank, n_fft, n_fft // 4) - log_mel(e, fbank, n_fft, n_fft // 4)))
        for r, e in zip(ref, est, strict=True)
    ]
    return float(np.mean(diffs))


def stft_distance(reference: np.ndarray, estimate: np.ndarray, n_fft: int) -> tuple[float, float]:
    """Spectral convergence and log-magnitude L1 at one resolution (mono signals, same length).

    Returns
    -------
    (float, float)
        ``|| |S| - |S^| ||_F / || |S| ||_F`` (0 when both are silent) and
        ``mean | log max(|S|, 1e-5) - log max(|S^|, 1e-5) |``, Hann window, hop ``n_fft // 4``.
    """
    ref = np.abs(stft(reference, n_fft, n_fft // 4))
    est = np.abs(stft(estimate, n_fft, n_fft // 4))
    norm = float(np.linalg.norm(ref))
    diff = float(np.linalg.norm(ref - est))
    convergence = diff / norm if norm > 0 else float(diff > 0)
    log_l1 = np.mean(
        np.abs(np.log(np.maximum(ref, MAG_FLOOR)) - np.log(np.maximum(est, MAG_FLOOR)))
    )
    return convergence, float(log_l1)


def mrstft_distance(
    reference: np.ndarray, estimate: np.ndarray, *, fft_sizes: tuple[int, ...] = MRSTFT_FFT_SIZES
) -> float:
    """Multi-resolution STFT distance: (spectral convergence + log-magnitude L1), averaged.

    Averaged over the FFT sizes (512, 1024, 2048 by default) and channels, after trimming both
    signals to the shorter length. A gain ``g`` gives ``|1 - g| + |log g|`` above the floor.

    Parameters
    ----------
    reference, estimate : np.ndarray [shape=(C, N) or (N,)]
        The original and the reconstruction, same channel count.
    fft_sizes : tuple of int
        The resolutions.

    Returns
    -------
    float >= 0
        0 for identical signals.
    """
    ref, est = align(reference, estimate)
    totals = [
        sum(stft_distance(r, e, n_fft))
        for n_fft in fft_sizes
        for r, e in zip(ref, est, strict=True)
    ]
    return float(np.mean(totals))
