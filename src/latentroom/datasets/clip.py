"""What every synthetic family shares: clip length and level normalisation."""

from __future__ import annotations

import numpy as np

PEAK_DB_RANGE = (-6.0, -1.0)  # peaks drawn uniformly in dBFS: about -3.5 dBFS, with variety
FADE_SECONDS = 0.005  # fade in/out so clips start and end at zero


def n_samples_for(seconds: float, sample_rate: int) -> int:
    """Samples in a clip of ``seconds`` at ``sample_rate``: ``round(seconds * sample_rate)``."""
    return round(seconds * sample_rate)


def finish(
    x: np.ndarray, sample_rate: int, rng: np.random.Generator, *, fade: bool = True
) -> np.ndarray:
    """Remove DC, fade the ends, and scale the peak to a level drawn from ``PEAK_DB_RANGE``.

    Parameters
    ----------
    x : np.ndarray [shape=(N,)]
        Raw signal.
    sample_rate : int > 0
        Its rate (sets the fade length).
    rng : np.random.Generator
        Draws the peak level.
    fade : bool
        Fade in and out over ``FADE_SECONDS``; off for signals whose first sample matters (a
        seed's impulse at sample 0).

    Returns
    -------
    np.ndarray [shape=(N,), dtype=float32]
        Peak at ``10 ** (dB / 20)``; an all-zero input stays zero.
    """
    y = np.asarray(x, dtype=np.float64) - float(np.mean(x))
    n_fade = min(round(FADE_SECONDS * sample_rate), y.size // 2) if fade else 0
    if n_fade > 0:
        ramp = np.linspace(0.0, 1.0, n_fade)
        y[:n_fade] *= ramp
        y[-n_fade:] *= ramp[::-1]
    peak_db = rng.uniform(*PEAK_DB_RANGE)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0:
        y *= 10 ** (peak_db / 20) / peak
    return y.astype(np.float32)
