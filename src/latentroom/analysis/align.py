"""Put latents of different codecs on one footing: a common frame rate and comparable dims.

Frame rates are matched by area-averaging (a box filter of one target period, which is plain
mean-pooling of ``r`` frames when the ratio ``r`` is an integer); dims are made comparable by
per-dim standardisation or by whitened PCA to (at most) ``K`` dims; plain ``pca:K`` only rotates
onto the top ``K`` axes, keeping Euclidean distances (for latents that are already weighted).
Normalisers are fit on train items only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from latentroom.errors import ConfigError

RATE_TOLERANCE = 1e-6  # relative: rates this close count as equal (no resampling)
_PCA_RE = re.compile(r"^(pca-whiten|pca):(\d+)$")


def common_rate(rates: Sequence[float], rate: str | float = "lowest") -> float:
    """The frame rate every codec is brought to.

    Parameters
    ----------
    rates : sequence of float > 0
        Native frame rates of the codecs.
    rate : "lowest" or float > 0
        "lowest" picks the smallest native rate; a number must not exceed any native rate
        (pooling averages frames; it cannot invent them).
    """
    if not rates:
        raise ConfigError("no codecs given; pass at least one codec name")
    lowest = min(float(r) for r in rates)
    if isinstance(rate, str):
        if rate != "lowest":
            raise ConfigError(f"--rate must be 'lowest' or a number of Hz; got {rate!r}")
        return lowest
    target = float(rate)
    if not np.isfinite(target) or target <= 0 or target > lowest * (1 + RATE_TOLERANCE):
        raise ConfigError(
            f"--rate {rate} Hz is not in (0, {lowest:g}] Hz (the lowest native rate); "
            "latents can only be pooled down, so pick a rate at or below it"
        )
    return target


def parse_rate(text: str) -> str | float:
    """``"lowest"`` or a positive number of Hz (``--rate``)."""
    if text.strip() == "lowest":
        return "lowest"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"--rate must be 'lowest' or a positive number of Hz; got {text!r}")
    return value


def pool_to_rate(x: np.ndarray, frame_rate: float, target_rate: float) -> np.ndarray:
    """Area-average frames at ``frame_rate`` into frames at ``target_rate`` (<= frame_rate).

    Frame ``t`` of ``x`` covers ``[t, t + 1) / frame_rate`` seconds; output frame ``j`` is the
    time-average of ``x`` over ``[j, j + 1) / target_rate``. Only whole output periods are kept.

    Parameters
    ----------
    x : np.ndarray [shape=(T, D)]
    frame_rate, target_rate : float > 0

    Returns
    -------
    np.ndarray [shape=(floor(T * target_rate / frame_rate), D), dtype=float32]
        ``x`` itself (as float32) when the rates are equal.
    """
    if target_rate > frame_rate * (1 + RATE_TOLERANCE):
        raise ConfigError(
            f"cannot pool {frame_rate:g} Hz latents up to {target_rate:g} Hz; choose a lower rate"
        )
    if abs(target_rate - frame_rate) <= RATE_TOLERANCE * frame_rate:
        return np.asarray(x, dtype=np.float32)
    ratio = frame_rate / target_rate  # input frames per output frame (> 1)
    n_out = int(np.floor(x.shape[0] / ratio + 1e-9))
    # The integral of the piecewise-constant signal is the cumulative sum, linear between
    # frame edges; its increments over each output period give the box averages.
    cumulative = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0, dtype=np.float64)])
    edges = np.arange(n_out + 1) * ratio
    whole = np.minimum(np.floor(edges).astype(np.int64), x.shape[0] - 1)
    frac = (edges - whole)[:, None]
    at_edges = cumulative[whole] + frac * (cumulative[whole + 1] - cumulative[whole])
    return (np.diff(at_edges, axis=0) / ratio).astype(np.float32)


@dataclass(frozen=True)
class Normaliser:
    """An affine map ``y = (x - mean) @ matrix`` fit on train frames (``fit_normaliser``).

    Attributes
    ----------
    kind : str
        "none", "standardise", "pca-whiten:K" or "pca:K".
    mean : np.ndarray [shape=(D,)]
    matrix : np.ndarray [shape=(D, D_out)]
        Diagonal scaling (standardise), whitened (pca-whiten) or plain (pca) principal axes.
    explained : float
        Share of the train frame variance the kept dims carry (1 unless PCA drops dims).
    """

    kind: str
    mean: np.ndarray
    matrix: np.ndarray
    explained: float = 1.0

    @property
    def output_dim(self) -> int:
        return int(self.matrix.shape[1])

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Normalise frames ``x (T, D)`` -> ``(T, D_out)`` float32."""
        return ((x - self.mean) @ self.matrix).astype(np.float32)


def parse_normalise(text: str) -> tuple[str, int | None]:
    """Parse ``"none"``, ``"standardise"``, ``"pca-whiten:K"`` or ``"pca:K"`` into ``(kind, K)``."""
    text = text.strip()
    if text in ("none", "standardise"):
        return text, None
    match = _PCA_RE.match(text)
    if match is None or int(match.group(2)) < 1:
        raise ConfigError(
            f"unknown normalisation {text!r}; use none, standardise or pca-whiten:K (K >= 1)"
        )
    return match.group(1), int(match.group(2))


def fit_normaliser(arrays: Iterable[np.ndarray], kind: str) -> Normaliser:
    """Fit a normaliser on train frames (float64 moments; one pass, items may stream).

    Parameters
    ----------
    arrays : iterable of np.ndarray [shape=(T_i, D)]
        The train items (at least one).
    kind : str
        "none", "standardise", "pca-whiten:K" or "pca:K"; PCA keeps ``min(K, D)`` dims.
    """
    name, n_keep = parse_normalise(kind)
    n, total, outer = 0, np.zeros(0), np.zeros((0, 0))
    for x in arrays:
        x64 = np.asarray(x, dtype=np.float64)
        if n == 0:
            total, outer = np.zeros(x64.shape[1]), np.zeros((x64.shape[1], x64.shape[1]))
        n += x64.shape[0]
        total += x64.sum(axis=0)
        outer += x64.T @ x64
    if n == 0:
        raise ConfigError("no train frames to fit the normalisation on; add items")
    dim = total.size
    mean = total / n
    cov = outer / n - np.outer(mean, mean)
    if name == "none":
        return Normaliser(kind, np.zeros(dim), np.eye(dim))
    if name == "standardise":
        scale = np.sqrt(np.maximum(np.diag(cov), 1e-12))
        return Normaliser(kind, mean, np.diag(1.0 / scale))
    assert n_keep is not None
    n_keep = min(n_keep, dim)
    values, vectors = np.linalg.eigh(cov)
    values, vectors = values[::-1], vectors[:, ::-1]
    kept = np.maximum(values[:n_keep], 1e-12)
    explained = float(kept.sum() / max(values.clip(0).sum(), 1e-300))
    axes = vectors[:, :n_keep] / np.sqrt(kept) if name == "pca-whiten" else vectors[:, :n_keep]
    return Normaliser(kind, mean, axes, explained)
