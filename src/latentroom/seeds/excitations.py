"""What sounds at each pulse: a Dirac impulse, a noise burst, a decaying sine ping or a click."""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from latentroom.errors import ConfigError

Excitation = Literal["impulse", "noise-burst", "sine-ping", "click"]
EXCITATIONS: tuple[str, ...] = get_args(Excitation)

# Envelopes of the burst and the ping fall by 60 dB over the excitation length.
_DECAY_DB = 60.0


def excitation_samples(excitation: str, *, length_ms: float, sample_rate: int) -> int:
    """Length in samples of one excitation (1 for the impulse; odd for the centred click)."""
    if excitation == "impulse":
        return 1
    length = max(1, round(length_ms * sample_rate / 1000.0))
    return length | 1 if excitation == "click" else length


def make_excitation(
    excitation: str,
    *,
    sample_rate: int,
    amplitude: float = 1.0,
    freq: float = 1000.0,
    length_ms: float = 10.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """One excitation, peak ``amplitude``.

    Parameters
    ----------
    excitation : {"impulse", "noise-burst", "sine-ping", "click"}
        ``impulse``: one sample of ``amplitude`` (the protocol's Dirac). ``noise-burst``:
        Gaussian noise under an exponential decay. ``sine-ping``: a sine at ``freq`` under an
        exponential decay. ``click``: a Hann-windowed sinc low-passed at ``freq`` (band-limited),
        its peak in the middle.
    sample_rate : int > 0
        Samples per second.
    amplitude : float
        Peak absolute value.
    freq : float in (0, sample_rate / 2)
        Sine frequency (ping) or cut-off (click) in Hz.
    length_ms : float > 0
        Length of the burst, ping and click (the impulse is one sample).
    rng : np.random.Generator or None
        Source of the burst's noise; the other excitations are deterministic.

    Returns
    -------
    np.ndarray [shape=(L,), dtype=float64]
        ``L = excitation_samples(excitation, ...)``; the click's peak is at index ``L // 2``.
    """
    length = excitation_samples(excitation, length_ms=length_ms, sample_rate=sample_rate)
    t = np.arange(length)
    decay = 10.0 ** (-_DECAY_DB / 20.0 * t / length)
    if excitation == "impulse":
        wave = np.ones(1)
    elif excitation == "noise-burst":
        wave = np.random.default_rng(rng).standard_normal(length) * decay
    elif excitation == "sine-ping":
        wave = np.sin(2.0 * np.pi * freq * t / sample_rate) * decay
    elif excitation == "click":
        cutoff = freq / sample_rate
        wave = np.sinc(2.0 * cutoff * (t - length // 2)) * np.hanning(length + 2)[1:-1]
    else:
        raise ConfigError(f"unknown excitation {excitation!r}; choose one of {EXCITATIONS}")
    peak = np.max(np.abs(wave))
    return np.asarray(amplitude * wave / peak if peak > 0 else wave, dtype=np.float64)
