"""Evaluation metrics accumulated per eval item, so every headline number gets a bootstrap CI."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np

from latentroom.analysis.distributions import Predictive

#: Columns of the per-item sums kept for each (predictor, horizon).
COLUMNS = (
    "n",  # windows
    "nll",  # Σ NLL of the predictor (nats/frame)
    "nll_diag",  # Σ NLL of marginal_diag (the IG baseline)
    "nll_full",  # Σ NLL of marginal_full
    "sse",  # Σ ‖Δx - predicted mean‖²
    "sst",  # Σ ‖Δx - train mean‖²
    "cos",  # Σ cos(predicted mean, Δx)
    "lm_res",  # Σ (log‖Δx‖ - predicted log‖Δx‖)²
    "lm_sum",  # Σ log‖Δx‖
    "lm_sq",  # Σ (log‖Δx‖)²
)
_COL = {name: j for j, name in enumerate(COLUMNS)}


def window_stats(
    dist: Predictive,
    y: np.ndarray,
    nll_diag: np.ndarray,
    nll_full: np.ndarray,
    train_mean: np.ndarray,
    nll: np.ndarray,
) -> np.ndarray:
    """Per-window metric terms, ``(B, len(COLUMNS))``, for targets ``y (B, D)``.

    ``nll`` is ``dist.nll(y)``, which the caller has computed with the per-dim NLLs.
    """
    mean = dist.mean()
    dot = (mean * y).sum(axis=1)
    norms = np.linalg.norm(mean, axis=1) * np.linalg.norm(y, axis=1)
    log_norm = np.log(np.maximum(np.linalg.norm(y, axis=1), 1e-30))
    columns = [
        np.ones(y.shape[0]),
        nll,
        nll_diag,
        nll_full,
        ((y - mean) ** 2).sum(axis=1),
        ((y - train_mean) ** 2).sum(axis=1),
        np.where(norms > 0, dot / np.maximum(norms, 1e-30), 0.0),
        (log_norm - dist.log_norm()) ** 2,
        log_norm,
        log_norm**2,
    ]
    return np.stack(columns, axis=1)


def add_by_item(totals: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """Add ``values (B, C)`` into ``totals (n_items, C)`` at item rows ``rows (B,)``."""
    np.add.at(totals, rows, values)


def headline(sums: np.ndarray, *, latent_dim: int, frame_rate: float) -> dict[str, np.ndarray]:
    """Headline metrics from summed columns ``(..., len(COLUMNS))`` (leading axes kept).

    ``ig_*`` are relative to ``marginal_diag``; ``ig_beyond_full_*`` relative to ``marginal_full``.
    """
    col = {name: sums[..., j] for name, j in _COL.items()}
    n = np.maximum(col["n"], 1)
    ig = (col["nll_diag"] - col["nll"]) / n
    lm_tot = col["lm_sq"] - col["lm_sum"] ** 2 / n
    return {
        "nll_per_frame": col["nll"] / n,
        "nll_per_dim": col["nll"] / n / latent_dim,
        "ig_nats_per_frame": ig,
        "ig_nats_per_dim": ig / latent_dim,
        "ig_bits_per_second": ig / math.log(2) * frame_rate,
        "ig_beyond_full_nats_per_frame": (col["nll_full"] - col["nll"]) / n,
        "r2": 1 - col["sse"] / np.maximum(col["sst"], 1e-300),
        "direction_cosine": col["cos"] / n,
        "log_magnitude_r2": 1 - col["lm_res"] / np.maximum(lm_tot, 1e-300),
    }


def bootstrap_weights(n_items: int, *, n_boot: int = 1000, rng: np.random.Generator) -> np.ndarray:
    """Resampling counts ``(n_boot, n_items)``: each row draws n_items items with replacement."""
    return rng.multinomial(n_items, np.full(n_items, 1.0 / n_items), size=n_boot).astype(float)


def summarise(
    item_sums: np.ndarray,
    weights: np.ndarray,
    metric: Callable[[np.ndarray], dict[str, np.ndarray]],
) -> dict[str, object]:
    """Point estimates over all items plus 95 % percentile intervals over item resamples.

    Parameters
    ----------
    item_sums : np.ndarray [shape=(n_items, ...)]
        Per-item sums.
    weights : np.ndarray [shape=(n_boot, n_items)]
        From ``bootstrap_weights``.
    metric : callable
        Maps summed arrays (leading axes kept) to named metric arrays.
    """
    point = metric(item_sums.sum(axis=0))
    resampled = metric(np.tensordot(weights, item_sums, axes=(1, 0)))
    out: dict[str, object] = {name: _plain(value) for name, value in point.items()}
    with warnings.catch_warnings():  # an all-NaN slice is an undefined interval: NaN is right
        warnings.simplefilter("ignore", RuntimeWarning)
        out["ci95"] = {
            name: _plain(np.stack(np.nanpercentile(value, [2.5, 97.5], axis=0), axis=-1))
            for name, value in resampled.items()
        }
    # A resample can leave a ratio undefined (no kept window in the drawn items) while the point
    # estimate is defined; the interval then covers only the other resamples, which must be said.
    undefined = {
        name: np.mean(~np.isfinite(value), axis=0) * np.isfinite(point[name])
        for name, value in resampled.items()
    }
    shares = {name: _plain(share) for name, share in undefined.items() if np.any(share > 0)}
    if shares:
        out["ci95_undefined_share"] = shares
    return out


def summarise_refits(
    item_sums: np.ndarray,
    weights: np.ndarray,
    refit_sums: np.ndarray,
    metric: Callable[[np.ndarray], dict[str, np.ndarray]],
) -> dict[str, object]:
    """``summarise`` with intervals that also carry the error of fitting on finite train data.

    The estimate ``θ̂`` (fit on train, scored on eval) errs by a fitting part (the train sample
    behind the fit: biased, as a fitted predictor is worse out of sample than the best one) and
    an eval-sampling part. Refit b, fitted on a bootstrap resample of the train items and scored
    on the same eval items, gives ``d_b = θ*_b − θ̂``, the bootstrap copy of the fitting part;
    eval-item resample j gives ``e_j = θ_j − θ̂``. Draw j combines them, ``t_j = e_j +
    d_{j mod B}``, and the 95 % interval is the basic bootstrap interval ``[θ̂ − q97.5(t),
    θ̂ − q2.5(t)]``, which moves with the bias rather than keeping it. ``refit_bias`` is
    ``mean_b d_b``, the estimated bias of ``θ̂``; ``θ̂ − refit_bias`` corrects it.

    Parameters
    ----------
    item_sums : np.ndarray [shape=(n_items, ...)]
        Per-item sums of the main fit.
    weights : np.ndarray [shape=(n_boot, n_items)]
        From ``bootstrap_weights``.
    refit_sums : np.ndarray [shape=(B, n_items, ...)]
        Per-item sums of each refit on the same eval items.
    metric : callable
        As for ``summarise``.
    """
    out = summarise(item_sums, weights, metric)
    point = metric(item_sums.sum(axis=0))
    drawn = metric(np.tensordot(weights, item_sums, axes=(1, 0)))
    refitted = metric(refit_sums.sum(axis=1))
    ci, bias = {}, {}
    with warnings.catch_warnings():  # an all-NaN slice is an undefined interval: NaN is right
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, value in point.items():
            fitting = refitted[name] - value  # (B, ...)
            pick = np.arange(weights.shape[0]) % fitting.shape[0]
            total = drawn[name] - value + fitting[pick]
            low, high = np.nanpercentile(total, [2.5, 97.5], axis=0)
            ci[name] = _plain(np.stack([value - high, value - low], axis=-1))
            bias[name] = _plain(np.nanmean(fitting, axis=0))
    out["ci95"] = ci
    out["refit_bias"] = bias
    return out


def _plain(value: np.ndarray) -> object:
    """JSON-ready floats (NaN becomes None)."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return None if not np.isfinite(array) else float(array)
    return [_plain(v) for v in array]
