"""Quantities without data say so; failed fits are flagged; partial intervals are marked."""

from __future__ import annotations

import numpy as np
import pytest

from latentroom.analysis.availability import flag_predictors, has_partial_intervals, problems
from latentroom.analysis.clusters import auto_min_cluster_size, variance_ratios
from latentroom.analysis.metrics import bootstrap_weights, summarise


@pytest.mark.parametrize(
    ("n_windows", "n_clusters", "expected"),
    [
        pytest.param(1_000_000, 256, 100, id="big-corpus-keeps-the-seeds-100"),
        pytest.param(20_000, 256, 19, id="medium"),
        pytest.param(1_628, 256, 5, id="nineteen-files-floor"),
    ],
)
def test_auto_min_cluster_size(n_windows: int, n_clusters: int, expected: int) -> None:
    assert auto_min_cluster_size(n_windows, n_clusters) == expected


def test_resamples_without_kept_windows_are_marked_not_zero() -> None:
    # Item 0 holds every kept window: resamples that miss it have no defined ratio, so the
    # interval once read "1.117 [0, 1.117]".
    sums = np.zeros((10, 6))
    sums[0] = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0]
    sums[1:, 2:] = [4.0, 4.0, 0.0, 5.0]
    weights = bootstrap_weights(10, n_boot=400, rng=np.random.default_rng(0))
    out = summarise(sums, weights, variance_ratios)
    assert out["variance_ratio"] == pytest.approx(0.5)
    assert out["ci95"]["variance_ratio"] == [pytest.approx(0.5), pytest.approx(0.5)]
    share = out["ci95_undefined_share"]["variance_ratio"]
    assert share == pytest.approx(0.9**10, abs=0.06)  # P(item 0 not drawn)
    assert "random_baseline" not in out["ci95_undefined_share"]
    assert has_partial_intervals({"a": {"b": out}}) and not has_partial_intervals({"a": 1})


def test_flagged_predictors() -> None:
    def entry(ig: float) -> dict:
        return {"ig_nats_per_frame": ig}

    phase1 = {
        "marginal_diag": {"1": entry(0.0)},
        "linear": {"1": entry(-2.0), "4": entry(-1.0)},  # a little worse: overfitting, kept
        "mdn": {"1": entry(-7.169e5), "4": entry(3.0)},
        "sequence": {"1": entry(1.0)},
    }
    flagged = flag_predictors(phase1, ["sequence"], latent_dim=16)
    assert set(flagged) == {"mdn", "sequence"}
    assert "IG -7.169e+05 nats/frame at k=1" in flagged["mdn"]
    assert "non-finite loss" in flagged["sequence"]


def test_problems_name_each_quantity_once() -> None:
    reason = {"variance_ratio": "all 3 eval windows were set aside"}
    tree = {
        "phase0": {"k": {"unavailable": reason, "lags": {"1": {"all": {"unavailable": reason}}}}},
        "phase1_info": {"flagged": {"mdn": "diverged"}},
    }
    assert problems(tree) == [
        "phase0/k/lags/1/all variance_ratio: not available (all 3 eval windows were set aside)",
        "phase1_info mdn: left out of headlines (diverged)",
    ]
