"""Test signals for the perceptual measures: espeak-ng speech at 16 kHz, tones, noise."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

RATE = 16_000
#: what torchcrepe imports at module level (besides torchaudio, which it gets a stand-in for)
CREPE = ("torchcrepe", "librosa", "resampy", "tqdm")


def needs(*packages: str) -> None:
    """Skip the test, naming the extra, when any of ``packages`` is not installed.

    Found without importing (``pytest.importorskip`` would import torchcrepe, whose
    ``import torchaudio`` fails here by design, and report that as a missing package).
    """
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: pip install -e '.[perceptual]'")


def speak(text: str, voice: str = "en-us", pitch: int = 50) -> np.ndarray:
    """espeak-ng speech [shape=(N,)] at 16 kHz, peak 0.5; skips the test without the binary."""
    import soxr

    from latentroom.datasets.speech import espeak_available
    from latentroom.datasets.speech import speak as espeak

    if not espeak_available():
        pytest.skip("espeak-ng binary missing (apt-get install espeak-ng; make test installs it)")
    samples, rate = espeak(text, voice=voice, pitch=pitch, speed=160)
    out = soxr.resample(samples.astype(np.float64), rate, RATE)
    return 0.5 * out / np.abs(out).max()


def harmonic_tone(freq: float, seconds: float = 2.0, rate: int = RATE) -> np.ndarray:
    """Five harmonics with 1/k amplitudes, peak about 0.5 [shape=(N,)]."""
    t = np.arange(round(seconds * rate)) / rate
    x = sum(np.sin(2 * np.pi * k * freq * t) / k for k in range(1, 6))
    return 0.5 * x / np.abs(x).max()


def sine_sweep(f0: float, f1: float, seconds: float = 2.0, rate: int = RATE) -> np.ndarray:
    """Exponential sine sweep from ``f0`` to ``f1`` Hz, amplitude 0.5 [shape=(N,)]."""
    t = np.arange(round(seconds * rate)) / rate
    k = np.log(f1 / f0) / seconds
    return 0.5 * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)


def add_noise(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """``x`` plus white noise at ``snr_db`` below its power."""
    noise = np.random.default_rng(seed).standard_normal(x.size)
    noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return x + noise
