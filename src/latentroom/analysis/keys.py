"""Phase 0 context keys (mean-pool, per-frame PCA), computed item by item."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from latentroom.analysis.data import ItemSource, valid_ends
from latentroom.errors import ConfigError

_KEY_RE = re.compile(r"^(mean|pca(\d+))-vq(\d+)$")


@dataclass(frozen=True)
class KeySpec:
    """One context key: ``mean-vqK`` (mean-pool then k-means) or ``pcaP-vqK``.

    ``pcaP`` projects every context frame on the first P principal components of the train
    frames and concatenates the L projections (an ``L * P`` key that keeps temporal order).
    """

    name: str
    pca_dims: int | None
    n_clusters: int


def parse_key(text: str) -> KeySpec:
    """Parse ``"mean-vq64"`` or ``"pca8-vq256"``."""
    match = _KEY_RE.match(text.strip())
    if match is None:
        raise ConfigError(
            f"unknown key {text!r}; use 'mean-vqK' or 'pcaP-vqK' (e.g. mean-vq64, pca8-vq256)"
        )
    pca = int(match.group(2)) if match.group(2) else None
    n_clusters = int(match.group(3))
    if n_clusters < 2 or (pca is not None and pca < 1):
        raise ConfigError(f"key {text!r}: need K >= 2 clusters and P >= 1 components")
    return KeySpec(text.strip(), pca, n_clusters)


@dataclass(frozen=True)
class FrameProjector:
    """Train-frame mean and principal axes (largest variance first)."""

    mean: np.ndarray  # [shape=(D,)]
    components: np.ndarray  # [shape=(P_max, D)]


class FrameMoments:
    """Streamed float64 mean and covariance of frames, for an exact PCA in one pass (O(D²))."""

    def __init__(self, chunk_frames: int = 65536) -> None:
        self.chunk_frames = chunk_frames
        self.n = 0
        self.total: np.ndarray | float = 0.0
        self.outer: np.ndarray | float = 0.0

    def add(self, x: np.ndarray) -> None:
        """Add the finite frames of one item ``x (T, D)``."""
        x = x[np.isfinite(x).all(axis=1)]
        for start in range(0, x.shape[0], self.chunk_frames):
            part = x[start : start + self.chunk_frames].astype(np.float64)
            self.n += part.shape[0]
            self.total = self.total + part.sum(axis=0)
            self.outer = self.outer + part.T @ part

    def merge(self, other: FrameMoments) -> FrameMoments:
        """Add the sums of ``other`` (frames of other items), e.g. from another worker."""
        self.n += other.n
        self.total = self.total + other.total
        self.outer = self.outer + other.outer
        return self

    def projector(self, n_components: int) -> FrameProjector:
        """Mean and the ``n_components`` principal axes of the frames added so far."""
        mean = np.asarray(self.total) / max(self.n, 1)
        cov = np.asarray(self.outer) / max(self.n, 1) - np.outer(mean, mean)
        if n_components > cov.shape[0]:
            raise ConfigError(
                f"a PCA key asks for {n_components} components but latents have {cov.shape[0]} dims"
            )
        from scipy.linalg import eigh

        n_dims = cov.shape[0]
        _, vectors = eigh(cov, subset_by_index=[n_dims - n_components, n_dims - 1])
        return FrameProjector(mean, vectors[:, ::-1].T.copy())


@dataclass(frozen=True)
class KeyChunk:
    """Keys, targets and slice features of a batch of Phase 0 windows.

    Attributes
    ----------
    keys : dict of str to np.ndarray [shape=(B, key dims)]
    targets : np.ndarray [shape=(n_lags, B, D)]
        ``Δx_{e+lag}`` per lag.
    energy : np.ndarray [shape=(n_lags, B)]
        Mean square of the target frame ``x_{e+lag}``.
    medial : np.ndarray [shape=(n_lags, B), dtype=bool]
        Target frame within 17-83 % of its item's length.
    item : np.ndarray [shape=(B,)]
    """

    keys: dict[str, np.ndarray]
    targets: np.ndarray
    energy: np.ndarray
    medial: np.ndarray
    item: np.ndarray


def item_keys(
    x: np.ndarray,
    specs: list[KeySpec],
    projector: FrameProjector | None,
    context: int,
    lags: tuple[int, ...],
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Keys and lagged targets of every valid window of one item ``x (T, D)``."""
    ends = valid_ends(x, context=context, max_offset=max(lags))
    clean = x if np.isfinite(x).all() else np.where(np.isfinite(x), x, 0.0)
    keys: dict[str, np.ndarray] = {}
    offsets = np.arange(-context + 1, 1)
    for spec in specs:
        if spec.pca_dims is None:
            csum = np.cumsum(clean, axis=0, dtype=np.float64)  # csum[j] = x_0 + ... + x_j
            start = np.where((ends >= context)[:, None], csum[ends - context], 0.0)
            keys[spec.name] = ((csum[ends] - start) / context).astype(np.float32)
        else:
            assert projector is not None
            z = (clean - projector.mean) @ projector.components[: spec.pca_dims].T
            keys[spec.name] = z[ends[:, None] + offsets].reshape(ends.size, -1).astype(np.float32)
    lag_idx = ends[None, :] + np.asarray(lags)[:, None]  # (n_lags, B)
    targets = x[lag_idx] - x[lag_idx - 1]
    frames = x[lag_idx]
    energy = np.einsum("lbd,lbd->lb", frames, frames) / x.shape[1]
    rel = lag_idx / max(x.shape[0] - 1, 1)
    return keys, targets, energy, (rel >= 0.17) & (rel <= 0.83)


def iter_key_chunks(
    source: ItemSource,
    items: np.ndarray,
    specs: list[KeySpec],
    projector: FrameProjector | None,
    *,
    context: int,
    lags: tuple[int, ...],
    chunk_windows: int = 16384,
) -> Iterator[KeyChunk]:
    """Stream Phase 0 windows item by item, batched into chunks of about ``chunk_windows``."""
    parts: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    n_buffered = 0
    for i in items:
        keys, targets, energy, medial = item_keys(
            source.item(int(i)), specs, projector, context, lags
        )
        parts.append((keys, targets, energy, medial, np.full(targets.shape[1], int(i))))
        n_buffered += targets.shape[1]
        if n_buffered >= chunk_windows:
            yield _join_keys(parts)
            parts, n_buffered = [], 0
    if parts:
        yield _join_keys(parts)


def _join_keys(
    parts: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
) -> KeyChunk:
    keys = {name: np.concatenate([p[0][name] for p in parts]) for name in parts[0][0]}
    return KeyChunk(
        keys,
        np.concatenate([p[1] for p in parts], axis=1),
        np.concatenate([p[2] for p in parts], axis=1),
        np.concatenate([p[3] for p in parts], axis=1),
        np.concatenate([p[4] for p in parts]),
    )
