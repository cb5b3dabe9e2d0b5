"""Statistics of latents and the stats file: known values, robust stats, AR fit, strict loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentroom.compose.stats import compute_stats, fit_ar
from latentroom.compose.stats_file import load_stats, save_stats, stats_to_dict
from latentroom.errors import ConfigError, InvalidLatentError
from latentroom.latents.trajectory import LatentTrajectory

X = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0]], dtype=np.float32)


def _traj(data: np.ndarray, rate: float = 21.5) -> LatentTrajectory:
    return LatentTrajectory(data, rate, "tiny")


def ar1_series(n_frames: int, phi: list[float], seed: int) -> np.ndarray:
    """Independent AR(1) processes, one per dim, started in their stationary state."""
    rng = np.random.default_rng(seed)
    phi_arr = np.array(phi)
    out = np.empty((n_frames, len(phi)))
    out[0] = rng.standard_normal(len(phi)) / np.sqrt(1 - phi_arr**2)
    for t in range(1, n_frames):
        out[t] = phi_arr * out[t - 1] + rng.standard_normal(len(phi))
    return out.astype(np.float32)


def test_classic_and_robust_stats_hand_computed() -> None:
    stats = compute_stats([_traj(X)])
    np.testing.assert_allclose(stats["mean"], [2.5, 0.0])
    np.testing.assert_allclose(stats["std"], [np.sqrt(1.25), 0.0])
    np.testing.assert_allclose(stats["q1"], [1.75, 0.0])
    np.testing.assert_allclose(stats["q3"], [3.25, 0.0])
    np.testing.assert_allclose(stats["midhinge"], [2.5, 0.0])
    np.testing.assert_allclose(stats["iqr_std"], [1.5 / 1.35, 0.0])
    np.testing.assert_allclose(stats["lower_fence"], [-0.5, 0.0])
    np.testing.assert_allclose(stats["upper_fence"], [5.5, 0.0])
    np.testing.assert_allclose(stats["covariance"], [[1.25, 0.0], [0.0, 0.0]])
    # the constant dim has no defined correlation: 0 off the diagonal, 1 on it
    np.testing.assert_allclose(stats["correlation"], [[1.0, 0.0], [0.0, 1.0]])
    assert (stats.n_frames, stats.latent_dim, stats.codec) == (4, 2, "tiny")


def test_stats_pool_all_frames_of_all_inputs() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(50, 3)).astype(np.float32)
    whole = compute_stats([_traj(data)])
    split = compute_stats([_traj(data[:20]), _traj(data[20:])])
    for name in ("mean", "std", "q1", "q3", "covariance", "correlation"):
        np.testing.assert_allclose(split[name], whole[name], rtol=1e-10)
    np.testing.assert_allclose(whole["correlation"], np.corrcoef(data.T), atol=1e-6)


def test_ar_fit_recovers_known_coefficients() -> None:
    data = ar1_series(5000, [0.8, -0.5], seed=1)
    model = fit_ar([data], order=1)
    assert model is not None
    np.testing.assert_allclose(model.coefficients[:, 0], [0.8, -0.5], atol=0.04)
    np.testing.assert_allclose(np.diag(model.innovation_cov), [1.0, 1.0], atol=0.08)


def test_ar_fit_needs_enough_frames(caplog: pytest.LogCaptureFixture) -> None:
    assert fit_ar([X[:2]], order=2) is None
    assert "too few for an AR(2) fit" in caplog.text


def test_stats_file_round_trip(tmp_path: Path) -> None:
    stats = compute_stats([_traj(ar1_series(200, [0.5, 0.2], seed=2))], sources=["a.npy"])
    loaded = load_stats(save_stats(tmp_path / "s.json", stats))
    assert stats_to_dict(loaded) == stats_to_dict(stats)
    assert loaded.sources == ["a.npy"] and loaded.ar is not None


def _write_stats(tmp_path: Path, **changes: object) -> Path:
    raw = stats_to_dict(compute_stats([_traj(X)]))
    raw.update(changes)
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(raw))
    return path


def test_nan_in_stats_file_refused(tmp_path: Path) -> None:
    path = _write_stats(tmp_path, mean=[float("nan"), 0.0])
    with pytest.raises(ConfigError, match="mean holds NaN or Inf"):
        load_stats(path)


def test_unknown_field_in_stats_file_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown fields \['median'\]"):
        load_stats(_write_stats(tmp_path, median=[1.0, 2.0]))


def test_wrong_shape_in_stats_file_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"covariance has shape \(2,\); expected \(2, 2\)"):
        load_stats(_write_stats(tmp_path, covariance=[1.0, 2.0]))


def test_missing_stats_file_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such stats file"):
        load_stats(tmp_path / "nope.json")


def test_no_inputs_refused() -> None:
    with pytest.raises(InvalidLatentError, match="no latents given"):
        compute_stats([])


def test_empty_input_refused() -> None:
    with pytest.raises(InvalidLatentError, match="latents have no frames"):
        compute_stats([_traj(np.zeros((0, 2)))])


def test_mixed_dims_refused() -> None:
    with pytest.raises(InvalidLatentError, match="3-d latents, but the first input is 2-d"):
        compute_stats([_traj(X), _traj(np.zeros((4, 3)))])


def test_mixed_frame_rates_refused() -> None:
    with pytest.raises(InvalidLatentError, match=r"frame rate 25\.0 Hz differs"):
        compute_stats([_traj(X), _traj(X, rate=25.0)])


def test_nan_latents_refused() -> None:
    with pytest.raises(InvalidLatentError, match="NaN or Inf"):
        compute_stats([_traj(np.array([[np.nan, 1.0]]))])
