"""Learned context key: recovers a predictive state the mean-pool key cannot see (known answer)."""

from __future__ import annotations

import numpy as np
import pytest

from latentroom.analysis.data import ArraySource
from latentroom.analysis.learned_key import LearnedKeyConfig, mean_pool, run_learned_key
from latentroom.analysis.predict import PredictConfig
from latentroom.errors import ConfigError


def rotating_modes(
    n_items: int, n_frames: int, n_dims: int, *, amplitude: float, sigma: float, seed: int
) -> list[np.ndarray]:
    """Two dims turn a quarter circle per frame, clockwise or anticlockwise (the item's mode),
    from a random quarter phase; every dim also carries a random walk with N(0, σ²) steps.

    Over any 4 consecutive frames the circle averages to 0, so the mean-pool key holds nothing
    about mode or phase; the next circle step is one of four vectors fixed by (mode, phase).
    Known answers: variance ratio of the mean-pool key ~ 1; of a key that recovers the state,
    ``D σ² / (D σ² + 2 a²)`` (``E‖a Δcircle‖² = 2 a²``).
    """
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_items):
        omega = np.pi / 2 * (1 if i % 2 else -1)
        theta = rng.integers(4) * np.pi / 2 + omega * np.arange(n_frames)
        x = np.cumsum(sigma * rng.standard_normal((n_frames, n_dims)), axis=0)
        x[:, 0] += amplitude * np.cos(theta)
        x[:, 1] += amplitude * np.sin(theta)
        out.append(x.astype(np.float32))
    return out


def test_learned_key_recovers_the_state_the_mean_pool_key_misses() -> None:
    arrays = rotating_modes(160, 40, 4, amplitude=1.0, sigma=0.5, seed=0)
    predict = PredictConfig(
        context=4, horizons=(1,), predictors=("sequence",), rollout_steps=0, hidden=16,
        n_components=2, max_epochs=6, n_boot=100,
    )  # fmt: skip
    keys = LearnedKeyConfig(
        n_clusters=8, min_cluster_size=20, n_boot=100, learning_rate=1e-2, batch_size=128
    )
    section, prepared, _ = run_learned_key(ArraySource(arrays, 12.5), predict, keys)
    expected = 4 * 0.25 / (4 * 0.25 + 2 * 1.0)  # 1/3
    learned, mean = section["keys"]["learned-vq8"], section["keys"]["mean-vq8"]
    assert mean["variance_ratio"] > 0.97
    assert abs(learned["variance_ratio"] - expected) < 0.04
    assert learned["ci95"]["variance_ratio"][1] < mean["ci95"]["variance_ratio"][0]
    assert 0.97 < learned["random_baseline"] < 1.03
    assert learned["n_eval_set_aside"] == 0
    assert prepared.split.eval.size == 32


def test_mean_pool_key_is_the_context_mean() -> None:
    context = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    np.testing.assert_allclose(mean_pool(context), context.mean(axis=1))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param({"n_clusters": 1}, "n_clusters >= 2", id="one-cluster"),
        pytest.param({"lag": 0}, "lag >= 1", id="lag-zero"),
        pytest.param({"n_boot": 0}, "must be >= 1", id="no-bootstrap"),
        pytest.param({"learning_rate": 0.0}, "learning_rate > 0", id="zero-step"),
        pytest.param({"clusters": 8}, "unknown learned-key settings", id="unknown-key"),
    ],
)
def test_learned_key_config_refuses(values: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LearnedKeyConfig.from_dict(values)
