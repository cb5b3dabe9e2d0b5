"""Tempo quantizing: the BPM a loop of k latent frames plays at, and the k nearest a BPM."""

from __future__ import annotations

import math
from dataclasses import dataclass

from latentroom.errors import ConfigError


@dataclass(frozen=True)
class TempoRow:
    """One loop length and its tempi.

    Attributes
    ----------
    k : int
        Frames per beat (the loop length in latent frames).
    bpm : float
        ``60 * frame_rate / k``.
    double_time : float or None
        ``2 * bpm``, given only for even ``k``: with odd ``k`` the half-beat falls between two
        frames, so the double-time pulse cannot be placed on the frame grid.
    """

    k: int
    bpm: float
    double_time: float | None


@dataclass(frozen=True)
class TempoMatch:
    """The loop length closest to a wanted tempo.

    Attributes
    ----------
    k : int
        Frames per beat.
    bpm : float
        Tempo that ``k`` actually gives.
    error : float
        ``bpm - wanted`` in BPM (negative: slower than wanted).
    """

    k: int
    bpm: float
    error: float


def frame_rate_of(sample_rate: float, hop_length: int) -> float:
    """Exact frame rate ``sample_rate / hop_length``, with both checked to be positive."""
    if not sample_rate > 0:
        raise ConfigError(f"sample rate must be > 0 Hz; got {sample_rate}")
    if hop_length < 1:
        raise ConfigError(f"hop length must be >= 1 sample; got {hop_length}")
    return sample_rate / hop_length


def loop_bpm(frame_rate: float, k: int) -> float:
    """Tempo in BPM of a loop of ``k`` frames at ``frame_rate`` frames per second (one beat)."""
    _check_rate(frame_rate)
    if k < 1:
        raise ConfigError(f"k (frames per beat) must be >= 1; got {k}")
    return 60.0 * frame_rate / k


def tempo_table(frame_rate: float, *, k_min: int = 4, k_max: int = 16) -> list[TempoRow]:
    """The table k -> BPM for ``k_min <= k <= k_max``.

    Parameters
    ----------
    frame_rate : float > 0
        Exact latent frames per second of the codec (``sample_rate / hop_length``).
    k_min, k_max : int >= 1
        Range of loop lengths, inclusive.

    Returns
    -------
    list of TempoRow
        ``k_max - k_min + 1`` rows, ``k`` ascending.

    Examples
    --------
    >>> round(tempo_table(44100 / 2048, k_min=11, k_max=11)[0].bpm, 2)
    117.45
    """
    if k_min < 1 or k_max < k_min:
        raise ConfigError(f"need 1 <= k_min <= k_max; got k_min={k_min}, k_max={k_max}")
    rows = []
    for k in range(k_min, k_max + 1):
        bpm = loop_bpm(frame_rate, k)
        rows.append(TempoRow(k, bpm, 2.0 * bpm if k % 2 == 0 else None))
    return rows


def nearest_k(frame_rate: float, bpm: float) -> TempoMatch:
    """The loop length whose tempo is nearest ``bpm`` (ties go to the longer loop).

    Parameters
    ----------
    frame_rate : float > 0
        Exact latent frames per second.
    bpm : float > 0
        Wanted tempo.

    Returns
    -------
    TempoMatch
        ``k >= 1`` with its tempo and the error in BPM.
    """
    _check_rate(frame_rate)
    if not (math.isfinite(bpm) and bpm > 0):
        raise ConfigError(f"bpm must be a positive number; got {bpm}")
    exact = 60.0 * frame_rate / bpm
    candidates = {max(1, math.floor(exact)), max(1, math.ceil(exact))}
    k = min(sorted(candidates, reverse=True), key=lambda c: abs(loop_bpm(frame_rate, c) - bpm))
    found = loop_bpm(frame_rate, k)
    return TempoMatch(k, found, found - bpm)


def _check_rate(frame_rate: float) -> None:
    if not (math.isfinite(frame_rate) and frame_rate > 0):
        raise ConfigError(f"frame rate must be a positive number (frames/s); got {frame_rate}")


def resolve_frame_rate(
    *,
    codec: str | None = None,
    frame_rate: float | None = None,
    sample_rate: float | None = None,
    hop_length: int | None = None,
) -> float:
    """The exact frame rate from exactly one of: a codec name, a rate, or sample rate and hop.

    A hub codec's rate comes from its published config (no weights, no model is built); any
    other codec is built with ``get_codec(codec)`` and its ``frame_rate`` read.
    """
    given = [codec is not None, frame_rate is not None, (sample_rate, hop_length) != (None, None)]
    if sum(given) != 1:
        raise ConfigError(
            "give exactly one of --codec NAME, --frame-rate R, or --sample-rate SR with --hop H"
        )
    if codec is not None:
        from latentroom.codecs import get_codec
        from latentroom.codecs.catalog import PUBLISHED
        from latentroom.codecs.registry import resolve

        published = PUBLISHED.get(resolve(codec)[0].name)
        if published is not None:
            return frame_rate_of(published.sample_rate, published.hop_length)
        return get_codec(codec).frame_rate
    if frame_rate is not None:
        _check_rate(frame_rate)
        return frame_rate
    if sample_rate is None or hop_length is None:
        raise ConfigError("--sample-rate and --hop go together; give both")
    return frame_rate_of(sample_rate, hop_length)
