"""Synthetic latents drawn from the statistics of real encodings, from one seeded generator."""

from __future__ import annotations

import logging
import math
from typing import Literal, get_args

import numpy as np

from latentroom.compose.stats import ARModel, LatentStats
from latentroom.errors import ConfigError
from latentroom.latents.trajectory import LatentTrajectory

logger = logging.getLogger(__name__)

Distribution = Literal["normal", "uniform", "iqr-uniform", "correlated", "ar"]
DISTRIBUTIONS: tuple[str, ...] = get_args(Distribution)
#: Most frames one call may draw (about 4 GB of float32 at D = 1024 stops well before this).
MAX_SYNTH_FRAMES = 10_000_000
#: The AR burn-in runs until the slowest mode of the model has decayed to this fraction.
_BURN_IN_DECAY = 1e-6


def synthesize(
    stats: LatentStats,
    *,
    distribution: str,
    n_frames: int,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Draw synthetic latents that follow ``stats``.

    Parameters
    ----------
    stats : LatentStats
        Statistics of the real encodings (``compute_stats`` or ``load_stats``).
    distribution : {"normal", "uniform", "iqr-uniform", "correlated", "ar"}
        ``normal``: N(mean, std) per dim, independent. ``uniform``: U(mean - 3 std, mean + 3 std)
        per dim. ``iqr-uniform``: U(lower_fence, upper_fence) per dim (Tukey fences).
        ``correlated``: multivariate normal with the full covariance (repaired to the nearest
        positive semi-definite matrix, with a warning, when needed). ``ar``: the per-dim AR(p)
        model stored in the stats, run from its stationary state, so frames move over time like
        the real ones (lag-1..p autocorrelations match).
    n_frames : int > 0
        Frames ``T`` to draw.
    rng : np.random.Generator, int or None
        The single source of randomness (``np.random.default_rng(rng)``).

    Returns
    -------
    np.ndarray [shape=(n_frames, D), dtype=float32]
    """
    if distribution not in DISTRIBUTIONS:
        raise ConfigError(
            f"unknown distribution {distribution!r}; choose one of {', '.join(DISTRIBUTIONS)}"
        )
    check_n_frames(n_frames)
    generator = np.random.default_rng(rng)
    mean, std = stats["mean"], stats["std"]
    shape = (n_frames, stats.latent_dim)
    if distribution == "normal":
        out = generator.normal(mean, std, size=shape)
    elif distribution == "uniform":
        out = generator.uniform(mean - 3.0 * std, mean + 3.0 * std, size=shape)
    elif distribution == "iqr-uniform":
        out = generator.uniform(stats["lower_fence"], stats["upper_fence"], size=shape)
    elif distribution == "correlated":
        out = mean + generator.standard_normal(shape) @ psd_factor(stats["covariance"]).T
    else:
        out = mean + _run_ar(_require_ar(stats), n_frames, generator)
    return np.asarray(out, dtype=np.float32)


def synthesize_trajectory(
    stats: LatentStats, *, distribution: str, n_frames: int, seed: int | None = None
) -> LatentTrajectory:
    """``synthesize`` wrapped as a trajectory in the stats' latent space (codec, frame rate).

    ``meta`` records the distribution, the seed and the stats' sources.
    """
    data = synthesize(stats, distribution=distribution, n_frames=n_frames, rng=seed)
    meta = {"distribution": distribution, "seed": seed, "stats_sources": list(stats.sources)}
    return LatentTrajectory(data, stats.frame_rate, stats.codec, meta)


def check_n_frames(n_frames: int) -> None:
    """Refuse a frame count that is not an integer in 1..``MAX_SYNTH_FRAMES``."""
    if isinstance(n_frames, bool) or not isinstance(n_frames, int | np.integer):
        raise ConfigError(f"frames must be an integer; got {n_frames!r}")
    if not 1 <= n_frames <= MAX_SYNTH_FRAMES:
        raise ConfigError(f"frames must be in 1..{MAX_SYNTH_FRAMES}; got {n_frames}")


def nearest_psd(matrix: np.ndarray) -> tuple[np.ndarray, bool]:
    """The nearest (Frobenius) symmetric positive semi-definite matrix, by eigenvalue clipping.

    Parameters
    ----------
    matrix : np.ndarray [shape=(D, D)]
        A covariance estimate, possibly slightly indefinite from rounding or pooling.

    Returns
    -------
    repaired : np.ndarray [shape=(D, D)]
        ``V diag(max(w, 0)) V^T`` of the symmetrised matrix.
    changed : bool
        True when an eigenvalue below ``-1e-10 * max|w|`` had to be clipped.
    """
    values, vectors, changed = _clipped_eigh(matrix)
    return (vectors * values) @ vectors.T, changed


def psd_factor(cov: np.ndarray) -> np.ndarray:
    """A matrix ``L`` with ``L @ L.T`` = the nearest PSD repair of ``cov``; warns when repaired.

    Parameters
    ----------
    cov : np.ndarray [shape=(D, D)]

    Returns
    -------
    np.ndarray [shape=(D, D)]
        ``V sqrt(max(w, 0))`` from the eigendecomposition (works for singular matrices, where
        a Cholesky factor does not exist).
    """
    values, vectors, changed = _clipped_eigh(cov)
    if changed:
        logger.warning(
            "covariance is not positive semi-definite; using the nearest PSD matrix "
            "(negative eigenvalues clipped to 0)"
        )
    return vectors * np.sqrt(values)


def _clipped_eigh(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Eigenvalues clipped at 0, eigenvectors, and whether a clearly negative one was clipped."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    tolerance = 1e-10 * max(float(np.abs(values).max()), 1e-300)
    return np.clip(values, 0.0, None), vectors, bool(values.min() < -tolerance)


def _require_ar(stats: LatentStats) -> ARModel:
    if stats.ar is None:
        raise ConfigError(
            "these stats hold no AR model (too few frames when they were computed); "
            "recompute them from longer latents or choose another distribution"
        )
    return stats.ar


def _run_ar(model: ARModel, n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Run the centred AR model for a burn-in, then ``n_frames`` more; return the latter."""
    from scipy.signal import lfilter

    n_burn = burn_in_frames(model)
    n_dims = model.coefficients.shape[0]
    noise = rng.standard_normal((n_burn + n_frames, n_dims)) @ psd_factor(model.innovation_cov).T
    out = np.empty_like(noise)
    for d in range(n_dims):
        out[:, d] = lfilter([1.0], np.concatenate([[1.0], -model.coefficients[d]]), noise[:, d])
    return out[n_burn:]


def burn_in_frames(model: ARModel) -> int:
    """Frames to discard so the start-up transient has decayed to ``1e-6`` of its size.

    Uses the largest modulus ``rho`` of the companion-matrix eigenvalues over all dims:
    ``ceil(log(1e-6) / log(rho)) + p`` (at least ``p``, at most 100 000).
    """
    order = model.order
    rho = 0.0
    for coeffs in model.coefficients:
        companion = np.zeros((order, order))
        companion[0] = coeffs
        companion[1:, :-1] = np.eye(order - 1)
        rho = max(rho, float(np.abs(np.linalg.eigvals(companion)).max()))
    if rho <= 0.0:
        return order
    if rho >= 1.0:
        raise ConfigError(
            f"the AR model is not stationary (spectral radius {rho:.4f} >= 1); "
            "recompute the stats with `latentroom compose stats`"
        )
    return min(math.ceil(math.log(_BURN_IN_DECAY) / math.log(rho)) + order, 100_000)
