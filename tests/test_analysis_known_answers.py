"""The analyses reproduce analytic answers on processes whose predictability is known."""

from __future__ import annotations

import numpy as np
import pytest

from latentroom.analysis import synthetic
from latentroom.analysis.clusters import ClusterConfig, run_phase0
from latentroom.analysis.data import ArraySource
from latentroom.analysis.predict import PredictConfig, run_phase1
from latentroom.errors import ConfigError


def _phase1(arrays: list[np.ndarray], **options: object) -> dict:
    config = PredictConfig.from_dict({"n_boot": 300, "rollout_steps": 0, **options})
    phase1, _, _ = run_phase1(ArraySource(arrays, 12.5), config)
    return phase1


def test_white_noise_has_no_information_gain_and_unit_variance_ratio() -> None:
    arrays = synthetic.white_noise_walk(200, 80, 4, rng=np.random.default_rng(1))
    phase1 = _phase1(arrays, horizons=(1, 2), predictors=("linear",), context=4)
    for k in ("1", "2"):
        for name in ("marginal_full", "linear"):
            lo, hi = phase1[name][k]["ci95"]["ig_nats_per_frame"]
            assert lo <= 0.0 <= hi, (name, k, lo, hi)
            assert abs(phase1[name][k]["r2"]) < 0.01
    config = ClusterConfig(keys=("mean-vq8", "pca2-vq8"), context=4, n_boot=200)
    phase0, _, _ = run_phase0(ArraySource(arrays, 12.5), config)
    for entry in phase0.values():
        assert entry["variance_ratio"] == pytest.approx(1.0, abs=0.01)
        assert entry["random_baseline"] == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(
    ("a", "horizons"),
    [pytest.param(0.5, (1, 2), id="a=0.5"), pytest.param(0.9, (1, 2, 4), id="a=0.9")],
)
def test_ar1_velocity_linear_gain_matches_analytic(a: float, horizons: tuple[int, ...]) -> None:
    dim = 8
    arrays = synthetic.ar1_velocity(1000, 200, dim, a=a, rng=np.random.default_rng(2))
    phase1 = _phase1(arrays, horizons=horizons, predictors=("linear",), context=2)
    for k in horizons:
        expected = synthetic.ar1_information_gain(a, k, dim)
        measured = phase1["linear"][str(k)]["ig_beyond_full_nats_per_frame"]
        assert measured == pytest.approx(expected, rel=0.05), (k, measured, expected)


def test_switching_process_variance_ratio_matches_analytic() -> None:
    drifts = np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, -0.5], [1.0, 1.0, 0.0], [-1.0, -1.0, 0.0]])
    arrays = synthetic.switching_process(
        2000, 30, drifts=drifts, sigma=1.0, rng=np.random.default_rng(3)
    )
    config = ClusterConfig(keys=("mean-vq4",), context=4, lags=(1,), n_boot=200)
    phase0, _, _ = run_phase0(ArraySource(arrays, 12.5), config)
    expected = synthetic.switching_variance_ratio(drifts, 1.0)
    assert phase0["mean-vq4"]["variance_ratio"] == pytest.approx(expected, abs=0.02)
    assert phase0["mean-vq4"]["random_baseline"] == pytest.approx(1.0, abs=0.01)


@pytest.mark.slow
def test_bimodal_steps_mdn_gains_information_without_r2() -> None:
    # In the principal axes the two modes lie along one axis only: the mixture leaves the
    # symmetric (one-mode) start after about 200 Adam steps, hence 300 items and 10 epochs.
    arrays = synthetic.bimodal_steps(300, 60, 2, rng=np.random.default_rng(4))
    phase1 = _phase1(
        arrays, horizons=(1,), predictors=("linear", "mdn"), context=2, hidden=32, max_epochs=10
    )
    mdn, linear = phase1["mdn"]["1"], phase1["linear"]["1"]
    # The sign is shared by both dims: a full-covariance Gaussian sees the correlation, only a
    # mixture sees the two narrow modes (analytic gain beyond marginal_full: 0.5 ln 73 - ln 2).
    assert mdn["ci95"]["ig_beyond_full_nats_per_frame"][0] > 0.7
    assert abs(mdn["r2"]) < 0.02
    assert abs(linear["ig_beyond_full_nats_per_frame"]) < 0.02


def test_correlated_iid_steps_cost_the_mdn_nothing_beyond_marginal_full() -> None:
    """I.i.d. Gaussian steps with strongly correlated dims (2.1 nats of correlation, D = 4).

    Nothing beyond the correlation is predictable, so the MDN's gain beyond ``marginal_full`` is 0
    up to its fitting cost (a few thousandths of a nat here, like the ridge's). Components
    diagonal in the latent's own axes scored about −1.2 nats on this corpus.
    """
    rng = np.random.default_rng(5)
    mixing = rng.standard_normal((4, 4))
    chol = np.linalg.cholesky(mixing @ mixing.T + 0.05 * np.eye(4))
    arrays = [
        np.cumsum(rng.standard_normal((40, 4)) @ chol.T, axis=0).astype(np.float32)
        for _ in range(200)
    ]
    phase1 = _phase1(
        arrays, horizons=(1,), predictors=("mdn",), context=2, hidden=16, max_epochs=3,
        n_components=2,
    )  # fmt: skip
    assert phase1["marginal_full"]["1"]["ig_nats_per_frame"] > 2.0
    beyond = phase1["mdn"]["1"]["ig_beyond_full_nats_per_frame"]
    lo, hi = phase1["mdn"]["1"]["ci95"]["ig_beyond_full_nats_per_frame"]
    assert abs(beyond) < 0.02 and lo > -0.03 and hi > -0.01, (beyond, lo, hi)


def test_refit_intervals_carry_the_fitting_bias_on_ar1() -> None:
    """AR(1) velocity on a small corpus (≈ 2600 train windows for 33 ridge coefficients per dim).

    The fitted ridge scores below the analytic IG out of sample; ``--ci refit`` estimates that
    bias (negative) and its interval covers the analytic value. benchmarks/ci_coverage.py
    measures the coverage of both interval methods over 20 corpora (docs/analysis.md).
    """
    arrays = synthetic.ar1_velocity(40, 100, 8, a=0.9, rng=np.random.default_rng(1003))
    options = {"horizons": (4,), "predictors": ("linear",), "context": 4, "n_boot": 1000}
    refit = _phase1(arrays, **options, ci="refit", n_refits=8)["linear"]["4"]
    items = _phase1(arrays, **options)["linear"]["4"]
    truth = synthetic.ar1_information_gain(0.9, 4, 8)
    metric = "ig_beyond_full_nats_per_frame"
    assert refit[metric] == items[metric]
    assert refit["refit_bias"][metric] < -0.02
    lo, hi = refit["ci95"][metric]
    assert lo <= truth <= hi, (lo, truth, hi)
    assert hi > items["ci95"][metric][1]


def test_refit_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="ci must be one of"):
        PredictConfig(ci="jackknife")
    with pytest.raises(ConfigError, match="n_refits must be >= 2"):
        PredictConfig(ci="refit", n_refits=1)


def test_random_baseline_sits_above_one_by_the_cost_of_estimating_the_means() -> None:
    """Out of sample, K shuffled-label means fitted on N train windows cost about K/N.

    Each mean carries the noise of its ~N/K windows into the eval error, the global mean that of
    N: VR_random ≈ (1 + K/N) / (1 + 1/N) ≈ 1 + (K − 1)/N (here 1.0115), never below 1 as an
    in-sample baseline would be.
    """
    arrays = synthetic.white_noise_walk(300, 30, 8, rng=np.random.default_rng(0))
    config = ClusterConfig(
        keys=("mean-vq64",), context=4, lags=(1,), n_boot=200, min_cluster_size=1
    )
    phase0, _, prepared = run_phase0(ArraySource(arrays, 12.5), config)
    n_train = int((prepared.scan.lengths[prepared.split.train] - 4).sum())  # windows per item
    expected = 1 + (64 - 1) / n_train
    assert phase0["mean-vq64"]["random_baseline"] == pytest.approx(expected, abs=0.003)
