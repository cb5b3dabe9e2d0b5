"""Phase 0 keys against direct computations on materialised windows."""

from __future__ import annotations

import numpy as np
import pytest

from latentroom.analysis.data import ArraySource, iter_windows
from latentroom.analysis.keys import FrameMoments, item_keys, parse_key
from latentroom.errors import ConfigError


def test_keys_and_targets_match_the_windows() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5)).cumsum(axis=0).astype(np.float32)
    source = ArraySource([x], 10.0)
    moments = FrameMoments(chunk_frames=7)
    moments.add(x)
    projector = moments.projector(2)
    specs = [parse_key("mean-vq4"), parse_key("pca2-vq4")]
    keys, targets, energy, medial = item_keys(x, specs, projector, 6, (1, 3))
    (chunk,) = iter_windows(source, np.array([0]), context=6, max_offset=3)
    np.testing.assert_allclose(keys["mean-vq4"], chunk.context.mean(axis=1), rtol=1e-5, atol=1e-5)
    projected = (chunk.context - projector.mean) @ projector.components.T
    np.testing.assert_allclose(keys["pca2-vq4"], projected.reshape(chunk.size, -1), atol=1e-4)
    np.testing.assert_array_equal(targets, chunk.targets[[0, 2]])
    frames = chunk.context[:, -1] + np.cumsum(chunk.targets, axis=0)[[0, 2]]
    np.testing.assert_allclose(energy, (frames**2).mean(axis=2), rtol=1e-4)
    # window ends e = 5..36, target e + lag; medial means 17-83 % of 39 frames, i.e. 6.63..32.37
    assert medial[0].tolist() == [7 <= e + 1 <= 32 for e in range(5, 37)]


def test_projector_finds_the_dominant_axis() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2000, 1)) * [[3.0, 0.0, 4.0]] + rng.normal(0, 0.01, (2000, 3))
    moments = FrameMoments()
    moments.add(x.astype(np.float32))
    projector = moments.projector(1)
    assert abs(projector.components[0] @ [0.6, 0.0, 0.8]) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("kmeans64", "unknown key", id="syntax"),
        pytest.param("mean-vq1", "K >= 2", id="one-cluster"),
        pytest.param("pca0-vq8", "P >= 1", id="no-components"),
    ],
)
def test_parse_key_rejects_bad_specs(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_key(text)
