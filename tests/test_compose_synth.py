"""Synthetic latents: moments of each distribution, PSD repair, AR autocorrelation, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from latentroom.compose.stats import LatentStats, compute_stats
from latentroom.compose.synth import DISTRIBUTIONS, nearest_psd, psd_factor, synthesize
from latentroom.errors import ConfigError
from latentroom.latents.trajectory import LatentTrajectory
from test_compose_stats import ar1_series


def _stats(data: np.ndarray, ar_order: int = 2) -> LatentStats:
    return compute_stats([LatentTrajectory(data, 21.5, "tiny")], ar_order=ar_order)


def _lag1(data: np.ndarray) -> np.ndarray:
    centred = data - data.mean(axis=0)
    return (centred[1:] * centred[:-1]).mean(axis=0) / centred.var(axis=0)


@pytest.fixture(scope="module")
def correlated_stats() -> LatentStats:
    rng = np.random.default_rng(5)
    cov = np.array([[2.0, 1.2, 0.0], [1.2, 1.5, -0.6], [0.0, -0.6, 1.0]])
    data = rng.multivariate_normal([1.0, -2.0, 0.5], cov, size=4000)
    return _stats(data.astype(np.float32))


def test_normal_matches_mean_and_std(correlated_stats: LatentStats) -> None:
    out = synthesize(correlated_stats, distribution="normal", n_frames=20_000, rng=0)
    np.testing.assert_allclose(out.mean(axis=0), correlated_stats["mean"], atol=0.05)
    np.testing.assert_allclose(out.std(axis=0), correlated_stats["std"], rtol=0.03)
    assert abs(np.corrcoef(out.T)[0, 1]) < 0.05  # independent dims


def test_uniform_spans_three_std(correlated_stats: LatentStats) -> None:
    out = synthesize(correlated_stats, distribution="uniform", n_frames=20_000, rng=0)
    mean, std = correlated_stats["mean"], correlated_stats["std"]
    assert np.all(out >= mean - 3 * std - 1e-5) and np.all(out <= mean + 3 * std + 1e-5)
    np.testing.assert_allclose(out.std(axis=0), np.sqrt(3.0) * std, rtol=0.03)  # (6 std)^2 / 12


def test_iqr_uniform_stays_inside_the_fences(correlated_stats: LatentStats) -> None:
    out = synthesize(correlated_stats, distribution="iqr-uniform", n_frames=5000, rng=0)
    lower, upper = correlated_stats["lower_fence"], correlated_stats["upper_fence"]
    assert np.all(out >= lower - 1e-5) and np.all(out <= upper + 1e-5)
    np.testing.assert_allclose(out.mean(axis=0), (lower + upper) / 2, atol=0.1)


def test_correlated_reproduces_the_covariance(correlated_stats: LatentStats) -> None:
    out = synthesize(correlated_stats, distribution="correlated", n_frames=40_000, rng=1)
    np.testing.assert_allclose(np.cov(out.T), correlated_stats["covariance"], atol=0.06)
    np.testing.assert_allclose(out.mean(axis=0), correlated_stats["mean"], atol=0.03)


def test_ar_reproduces_lag1_autocorrelation() -> None:
    source = ar1_series(4000, [0.9, 0.3, -0.6], seed=3)
    stats = _stats(source)
    out = synthesize(stats, distribution="ar", n_frames=20_000, rng=2)
    np.testing.assert_allclose(_lag1(out), _lag1(source), atol=0.03)
    np.testing.assert_allclose(out.std(axis=0), stats["std"], rtol=0.06)
    normal = synthesize(stats, distribution="normal", n_frames=20_000, rng=2)
    assert np.all(np.abs(_lag1(normal)) < 0.03)  # the contrast: no memory without AR


def test_nearest_psd_hand_computed() -> None:
    repaired, changed = nearest_psd(np.array([[1.0, 2.0], [2.0, 1.0]]))  # eigenvalues 3, -1
    np.testing.assert_allclose(repaired, [[1.5, 1.5], [1.5, 1.5]], atol=1e-12)
    assert changed
    _, unchanged = nearest_psd(np.eye(2))
    assert not unchanged


def test_correlated_repairs_indefinite_covariance_with_warning(
    correlated_stats: LatentStats, caplog: pytest.LogCaptureFixture
) -> None:
    bad = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    factor = psd_factor(bad)
    np.testing.assert_allclose(factor @ factor.T, nearest_psd(bad)[0], atol=1e-12)
    assert "not positive semi-definite" in caplog.text


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_same_seed_same_latents(correlated_stats: LatentStats, distribution: str) -> None:
    first = synthesize(correlated_stats, distribution=distribution, n_frames=64, rng=9)
    again = synthesize(correlated_stats, distribution=distribution, n_frames=64, rng=9)
    other = synthesize(correlated_stats, distribution=distribution, n_frames=64, rng=10)
    assert first.shape == (64, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("frames", [0, -3])
def test_frames_must_be_positive(correlated_stats: LatentStats, frames: int) -> None:
    with pytest.raises(ConfigError, match=f"frames must be in 1..10000000; got {frames}"):
        synthesize(correlated_stats, distribution="normal", n_frames=frames)


def test_unknown_distribution_refused(correlated_stats: LatentStats) -> None:
    with pytest.raises(ConfigError, match="unknown distribution 'gauss'; choose one of normal"):
        synthesize(correlated_stats, distribution="gauss", n_frames=4)


def test_ar_without_model_refused() -> None:
    stats = _stats(np.ones((2, 2), np.float32), ar_order=2)
    with pytest.raises(ConfigError, match="hold no AR model"):
        synthesize(stats, distribution="ar", n_frames=4)
