"""NumPy STFT, inverse STFT, mel filterbank and Griffin-Lim used by metrics and the baseline.

The project's one copy of each (the training loss takes its mel filterbank from here too, so
training and ``codec eval`` weigh the bands alike). Why not librosa, which does the same
(tests/test_dsp_references.py compares them on the same inputs): librosa is in the optional
perceptual extra and costs about a second to import with numba, while these run in the core
install, in the baseline and the analysis. The STFT and inverse equal librosa's centred,
zero-padded ones within 1e-12; the filterbank equals ``librosa.filters.mel(htk=True, norm=None)``
within 1e-12; Griffin-Lim converges at least as far as ``librosa.griffinlim`` with the same
momentum.
"""

from __future__ import annotations

import numpy as np

MEL_EPS = 1e-5  # added before the log of mel amplitudes: -100 dB re a full-scale sine


def stft(x: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """Short-time Fourier transform with a periodic Hann window and centred frames.

    Parameters
    ----------
    x : np.ndarray [shape=(N,)]
        Mono signal.
    n_fft : int > 0
        Window and FFT length.
    hop_length : int > 0
        Samples between frames.

    Returns
    -------
    np.ndarray [shape=(T, n_fft // 2 + 1), dtype=complex]
        ``T = 1 + N // hop_length`` frames; frame ``t`` is centred on sample ``t * hop_length``
        (the signal is zero-padded by ``n_fft // 2`` on both sides).
    """
    pad = n_fft // 2
    padded = np.pad(np.asarray(x, dtype=np.float64), (pad, pad + hop_length))
    n_frames = 1 + len(x) // hop_length
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:n_frames]
    return np.fft.rfft(frames * hann(n_fft), axis=1)


def istft(spectrum: np.ndarray, n_fft: int, hop_length: int, n_samples: int) -> np.ndarray:
    """Inverse of ``stft``: weighted overlap-add, normalised by the summed squared window.

    Parameters
    ----------
    spectrum : np.ndarray [shape=(T, n_fft // 2 + 1)]
        Frames as ``stft`` returns them.
    n_fft, hop_length : int > 0
        As given to ``stft``.
    n_samples : int >= 0
        Length of the signal to return.

    Returns
    -------
    np.ndarray [shape=(n_samples,)]
    """
    window = hann(n_fft)
    frames = np.fft.irfft(spectrum, n=n_fft, axis=1) * window
    length = (len(frames) - 1) * hop_length + n_fft
    out = np.zeros(length)
    norm = np.zeros(length)
    for t, frame in enumerate(frames):
        out[t * hop_length : t * hop_length + n_fft] += frame
        norm[t * hop_length : t * hop_length + n_fft] += window**2
    out /= np.maximum(norm, 1e-8)
    pad = n_fft // 2
    return np.pad(out[pad:], (0, max(0, n_samples - (length - pad))))[:n_samples]


def hann(n: int) -> np.ndarray:
    """Periodic Hann window [shape=(n,)]; it sums to ``n / 2``."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: ``2595 * log10(1 + hz / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of ``hz_to_mel``."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int = 80) -> np.ndarray:
    """Triangular filters (peak 1) equally spaced on the HTK mel scale from 0 Hz to Nyquist.

    Returns
    -------
    np.ndarray [shape=(n_mels, n_fft // 2 + 1)]
        Row ``m`` weights the FFT bins of band ``m``; a band narrower than the bin spacing can
        be all zero.
    """
    edges = mel_to_hz(np.linspace(0.0, hz_to_mel(sample_rate / 2), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def amplitude_spectrogram(x: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """``|stft|`` scaled by ``4 / n_fft`` so a sine of amplitude A peaks at A in any FFT size.

    Returns
    -------
    np.ndarray [shape=(T, n_fft // 2 + 1)]
    """
    return np.abs(stft(x, n_fft, hop_length)) * (4.0 / n_fft)


def log_mel(x: np.ndarray, fbank: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """``log(mel + MEL_EPS)`` [shape=(T, n_mels)] of the amplitude spectrogram of ``x`` (N,)."""
    return np.log(amplitude_spectrogram(x, n_fft, hop_length) @ fbank.T + MEL_EPS)


def griffin_lim(
    magnitude: np.ndarray,
    n_fft: int,
    hop_length: int,
    n_samples: int,
    *,
    n_iter: int = 32,
    momentum: float = 0.99,
    rng: np.random.Generator | int | None = 0,
) -> np.ndarray:
    """Recover a signal from an STFT magnitude (fast Griffin-Lim, Perraudin et al. 2013).

    Parameters
    ----------
    magnitude : np.ndarray [shape=(T, n_fft // 2 + 1)]
        Target magnitudes, as ``abs(stft(...))``.
    n_fft, hop_length : int > 0
        The STFT the magnitudes belong to.
    n_samples : int >= 0
        Length of the signal to return.
    n_iter : int >= 0
        Iterations; each projects onto consistent spectrograms, then onto the magnitude.
    momentum : float in [0, 1)
        Extrapolation of the phase estimate between iterations (0: plain Griffin-Lim).
    rng : Generator, int or None
        Draws the initial phases.

    Returns
    -------
    np.ndarray [shape=(n_samples,)]
    """
    rng = np.random.default_rng(rng)
    # 1. start from random phases
    angles = np.exp(2j * np.pi * rng.random(magnitude.shape))
    previous = np.zeros_like(angles)
    for _ in range(n_iter):
        # 2. nearest signal to the current estimate, and its (consistent) spectrogram
        rebuilt = stft(istft(magnitude * angles, n_fft, hop_length, n_samples), n_fft, hop_length)
        # 3. step past it by the momentum, keep only the phase
        angles = rebuilt - (momentum / (1 + momentum)) * previous
        angles /= np.abs(angles) + 1e-16
        previous = rebuilt
    return istft(magnitude * angles, n_fft, hop_length, n_samples)
