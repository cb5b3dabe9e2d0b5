"""Headline metrics from per-item sums, and their bootstrap intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from latentroom.analysis.distributions import SharedGaussian
from latentroom.analysis.metrics import (
    COLUMNS,
    bootstrap_weights,
    headline,
    summarise,
    summarise_refits,
    window_stats,
)


def test_headline_turns_sums_into_rates_and_ratios() -> None:
    sums = dict.fromkeys(COLUMNS, 0.0)
    sums |= {"n": 10, "nll": 20.0, "nll_diag": 30.0, "nll_full": 25.0, "sse": 4.0, "sst": 16.0}
    sums |= {"cos": 5.0, "lm_res": 1.0, "lm_sum": 10.0, "lm_sq": 14.0}
    out = headline(np.array([sums[c] for c in COLUMNS]), latent_dim=4, frame_rate=12.5)
    assert out["nll_per_frame"] == 2.0
    assert out["ig_nats_per_frame"] == 1.0
    assert out["ig_nats_per_dim"] == 0.25
    assert out["ig_bits_per_second"] == pytest.approx(12.5 / math.log(2))
    assert out["ig_beyond_full_nats_per_frame"] == 0.5
    assert out["r2"] == 0.75
    assert out["direction_cosine"] == 0.5
    assert out["log_magnitude_r2"] == pytest.approx(1 - 1.0 / (14.0 - 10.0**2 / 10))


def test_window_stats_of_a_perfect_mean_prediction() -> None:
    y = np.array([[1.0, 0.0], [0.0, 2.0]])
    dist = SharedGaussian(y.copy(), np.eye(2))
    zeros = np.zeros(2)
    stats = window_stats(dist, y, zeros, zeros, np.zeros(2), dist.nll(y))
    stats = dict(zip(COLUMNS, stats.T, strict=True))
    np.testing.assert_allclose(stats["sse"], 0.0)
    np.testing.assert_allclose(stats["sst"], [1.0, 4.0])
    np.testing.assert_allclose(stats["cos"], 1.0)
    np.testing.assert_allclose(stats["nll"], math.log(2 * math.pi))


def test_bootstrap_interval_brackets_the_estimate_and_collapses_for_identical_items() -> None:
    rng = np.random.default_rng(0)
    weights = bootstrap_weights(50, n_boot=400, rng=rng)
    assert weights.sum(axis=1).tolist() == [50.0] * 400

    def metric(s: np.ndarray) -> dict[str, np.ndarray]:
        return {"mean": s[..., 1] / s[..., 0]}

    varied = np.stack([np.ones(50), rng.normal(3.0, 1.0, 50)], axis=1)
    out = summarise(varied, weights, metric)
    lo, hi = out["ci95"]["mean"]
    assert lo < out["mean"] < hi
    assert hi - lo == pytest.approx(2 * 1.96 / math.sqrt(50), rel=0.3)
    same = summarise(np.tile([[1.0, 2.0]], (50, 1)), weights, metric)
    assert same["ci95"]["mean"] == pytest.approx([2.0, 2.0])


def test_cross_group_degradation_known_answer() -> None:
    """Seen items at VR 0.5 and unseen at 0.8 -> 0.3, and homogeneous items give a tight CI."""
    from latentroom.analysis.clusters import ClusterConfig, _degradation
    from latentroom.analysis.metrics import bootstrap_weights

    def sums(n_items: int, ratio: float) -> np.ndarray:
        out = np.zeros((n_items, 3, 3, 6))  # items, lags, slices, columns
        out[..., 1] = 100.0 + np.arange(n_items)[:, None, None]  # total SS varies by item
        out[..., 0] = ratio * out[..., 1]  # within-cluster SS
        out[..., 2:4], out[..., 4:] = out[..., 1:2], 50.0
        return out

    rng = np.random.default_rng(0)
    seen, unseen = sums(20, 0.5), sums(30, 0.8)
    result = _degradation(
        ClusterConfig(),
        seen,
        bootstrap_weights(20, n_boot=200, rng=rng),
        unseen,
        bootstrap_weights(30, n_boot=200, rng=rng),
    )
    assert result["cross_group_degradation"] == pytest.approx({"1": 0.3, "2": 0.3, "4": 0.3})
    for low, high in result["cross_group_degradation_ci95"].values():
        assert low == pytest.approx(0.3) and high == pytest.approx(0.3)


def test_refit_interval_moves_by_the_fitting_bias_and_reports_it() -> None:
    """Refits that all score 0.3 below the main fit: the main fit is taken to be 0.3 low too.

    The basic interval then sits 0.3 above the items-only one (same eval-resample spread), and
    ``refit_bias`` is −0.3.
    """
    rng = np.random.default_rng(0)
    item_sums = np.stack([np.ones(50), rng.normal(2.0, 0.5, 50)], axis=1)  # (n, value)

    def metric(s: np.ndarray) -> dict[str, np.ndarray]:
        return {"mean": s[..., 1] / s[..., 0]}

    weights = bootstrap_weights(50, n_boot=2000, rng=np.random.default_rng(1))
    refits = np.stack([item_sums - [0.0, 0.3]] * 4)  # (B, n, 2): every refit 0.3 lower
    plain = summarise(item_sums, weights, metric)
    refit = summarise_refits(item_sums, weights, refits, metric)
    assert refit["mean"] == plain["mean"]
    assert refit["refit_bias"]["mean"] == pytest.approx(-0.3)
    np.testing.assert_allclose(
        refit["ci95"]["mean"], np.array(plain["ci95"]["mean"]) + 0.3, atol=0.02
    )
