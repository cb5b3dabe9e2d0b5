"""Statistics of latent encodings (classic, robust and an AR(p) fit) and their JSON file."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from latentroom.errors import ConfigError, InvalidLatentError
from latentroom.latents.trajectory import LatentTrajectory

logger = logging.getLogger(__name__)

#: Per-dim vectors of ``LatentStats``, each of shape (D,).
VECTOR_FIELDS = ("mean", "std", "q1", "q3", "midhinge", "iqr_std", "lower_fence", "upper_fence")
#: Square matrices of ``LatentStats``, each of shape (D, D).
MATRIX_FIELDS = ("covariance", "correlation")


@dataclass(frozen=True)
class ARModel:
    """A per-dim autoregressive model AR(p), fitted by Yule-Walker on centred latents.

    Each dim d follows ``x[t, d] - mean[d] = sum_k coefficients[d, k] * (x[t-k-1, d] - mean[d])
    + e[t, d]`` with innovations ``e[t] ~ N(0, innovation_cov)`` (correlated across dims).

    Attributes
    ----------
    coefficients : np.ndarray [shape=(D, p)]
        Lag-1 first.
    innovation_cov : np.ndarray [shape=(D, D)]
        Covariance of the innovations: the residual correlation scaled to the Yule-Walker
        innovation variances, so every dim keeps its marginal variance.
    """

    coefficients: np.ndarray
    innovation_cov: np.ndarray

    @property
    def order(self) -> int:
        """The AR order ``p``."""
        return int(self.coefficients.shape[1])


@dataclass(frozen=True)
class LatentStats:
    """Statistics over all frames of one or more latent trajectories in one latent space.

    Attributes
    ----------
    codec : str
        Codec whose latent space the inputs came from ("" when unknown).
    frame_rate : float
        Exact frames per second of the inputs.
    n_frames : int
        Frames the statistics were computed over (all inputs together).
    sources : list of str
        Where the inputs came from (file paths).
    vectors : dict of str to np.ndarray [shape=(D,)]
        ``mean``, ``std`` (population), ``q1``, ``q3``, ``midhinge`` ((Q1+Q3)/2), ``iqr_std``
        (IQR/1.35, a robust std), ``lower_fence`` (Q1 - 1.5 IQR), ``upper_fence`` (Q3 + 1.5 IQR).
    matrices : dict of str to np.ndarray [shape=(D, D)]
        ``covariance`` (population) and ``correlation`` (1 on the diagonal; 0 off it for
        constant dims, where the correlation is undefined).
    ar : ARModel or None
        The AR(p) fit, None when there were too few frames for it.
    """

    codec: str
    frame_rate: float
    n_frames: int
    sources: list[str]
    vectors: dict[str, np.ndarray]
    matrices: dict[str, np.ndarray]
    ar: ARModel | None = None

    @property
    def latent_dim(self) -> int:
        """Number of latent dims ``D``."""
        return int(self.vectors["mean"].shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        """A vector or matrix by name (``stats["mean"]``, ``stats["covariance"]``)."""
        return self.vectors[name] if name in self.vectors else self.matrices[name]


def compute_stats(
    trajectories: list[LatentTrajectory], *, sources: list[str] | None = None, ar_order: int = 2
) -> LatentStats:
    """Compute per-dim statistics over every frame of every trajectory.

    Parameters
    ----------
    trajectories : list of LatentTrajectory
        Each ``(T_i, D)``; all must share ``D`` and the frame rate.
    sources : list of str or None
        Names for the inputs (default: each trajectory's ``meta["source"]`` or "").
    ar_order : int >= 1
        Order ``p`` of the AR fit (fitted within each input, never across two inputs).

    Returns
    -------
    LatentStats
        Over ``sum(T_i)`` frames.
    """
    _check_inputs(trajectories)
    if ar_order < 1:
        raise ConfigError(f"ar_order must be >= 1; got {ar_order}")
    frames = np.concatenate([t.data for t in trajectories]).astype(np.float64)
    names = sources or [str(t.meta.get("source", "")) for t in trajectories]
    first = trajectories[0]
    return LatentStats(
        codec=first.codec,
        frame_rate=first.frame_rate,
        n_frames=int(frames.shape[0]),
        sources=[str(n) for n in names],
        vectors=_vectors(frames),
        matrices=_matrices(frames),
        ar=fit_ar([t.data for t in trajectories], order=ar_order),
    )


def _check_inputs(trajectories: list[LatentTrajectory]) -> None:
    if not trajectories:
        raise InvalidLatentError("no latents given; pass at least one latent or audio file")
    first = trajectories[0]
    for index, traj in enumerate(trajectories):
        where = traj.meta.get("source") or f"input {index}"
        if traj.n_frames == 0:
            raise InvalidLatentError(f"{where}: latents have no frames; give a non-empty input")
        if traj.latent_dim != first.latent_dim:
            raise InvalidLatentError(
                f"{where}: {traj.latent_dim}-d latents, but the first input is "
                f"{first.latent_dim}-d; every input must come from the same codec"
            )
        if not np.isclose(traj.frame_rate, first.frame_rate, rtol=1e-9):
            raise InvalidLatentError(
                f"{where}: frame rate {traj.frame_rate} Hz differs from the first input's "
                f"{first.frame_rate} Hz; every input must come from the same codec"
            )
        if not np.isfinite(traj.data).all():
            raise InvalidLatentError(f"{where}: latents hold NaN or Inf values; fix them first")


def _vectors(frames: np.ndarray) -> dict[str, np.ndarray]:
    q1, q3 = np.percentile(frames, [25.0, 75.0], axis=0)
    iqr = q3 - q1
    return {
        "mean": frames.mean(axis=0),
        "std": frames.std(axis=0),
        "q1": q1,
        "q3": q3,
        "midhinge": (q1 + q3) / 2.0,
        "iqr_std": iqr / 1.35,
        "lower_fence": q1 - 1.5 * iqr,
        "upper_fence": q3 + 1.5 * iqr,
    }


def _matrices(frames: np.ndarray) -> dict[str, np.ndarray]:
    centred = frames - frames.mean(axis=0)
    cov = centred.T @ centred / frames.shape[0]
    return {"covariance": cov, "correlation": _correlation(cov)}


def _correlation(cov: np.ndarray) -> np.ndarray:
    std = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    live = std > 0
    corr = np.zeros_like(cov)
    corr[np.ix_(live, live)] = cov[np.ix_(live, live)] / np.outer(std[live], std[live])
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def fit_ar(segments: list[np.ndarray], *, order: int) -> ARModel | None:
    """Fit a per-dim AR(``order``) model by Yule-Walker, pooling lags within each segment.

    Biased (divide-by-n) autocovariances make the Toeplitz system positive definite, so the
    fitted model is always stationary and reproduces the sample autocorrelation at lags
    1..``order`` exactly.

    Parameters
    ----------
    segments : list of np.ndarray [shape=(T_i, D)]
        The inputs; no lag crosses from one segment into the next.
    order : int >= 1
        ``p``.

    Returns
    -------
    ARModel or None
        None (with a logged warning) when there are fewer than ``order + 2`` frames in all.
    """
    n_total = sum(len(s) for s in segments)
    if n_total < order + 2:
        logger.warning("%d frames are too few for an AR(%d) fit; no AR model", n_total, order)
        return None
    mean = np.concatenate(segments).astype(np.float64).mean(axis=0)
    centred = [s.astype(np.float64) - mean for s in segments]
    acov = np.stack([_pooled_autocov(centred, lag) for lag in range(order + 1)])  # (p+1, D)
    n_dims = acov.shape[1]
    coefficients = np.zeros((n_dims, order))
    variances = np.zeros(n_dims)
    for d in range(n_dims):
        coefficients[d], variances[d] = _yule_walker(acov[:, d])
    residual_corr = _correlation(_residual_cov(centred, coefficients))
    scale = np.sqrt(variances)
    return ARModel(coefficients, residual_corr * np.outer(scale, scale))


def _pooled_autocov(segments: list[np.ndarray], lag: int) -> np.ndarray:
    n_total = sum(len(s) for s in segments)
    total = sum((s[lag:] * s[: len(s) - lag]).sum(axis=0) for s in segments)
    return np.asarray(total) / n_total


def _yule_walker(acov: np.ndarray) -> tuple[np.ndarray, float]:
    """Solve the Yule-Walker equations for one dim; ``acov`` is ``[r0, r1, ..., rp]``."""
    order = len(acov) - 1
    if acov[0] <= 1e-12 * max(1.0, float(np.abs(acov).max())):
        return np.zeros(order), 0.0  # a constant dim stays at its mean
    index = np.abs(np.subtract.outer(np.arange(order), np.arange(order)))
    coeffs = np.linalg.solve(acov[index], acov[1:])
    return coeffs, max(float(acov[0] - coeffs @ acov[1:]), 0.0)


def _residual_cov(segments: list[np.ndarray], coefficients: np.ndarray) -> np.ndarray:
    order = coefficients.shape[1]
    residuals = []
    for s in segments:
        if len(s) <= order:
            continue
        n = len(s)
        predicted = sum(coefficients[:, k] * s[order - k - 1 : n - k - 1] for k in range(order))
        residuals.append(s[order:] - predicted)
    if not residuals:
        return np.eye(coefficients.shape[0])
    stacked = np.concatenate(residuals)
    return stacked.T @ stacked / len(stacked)
