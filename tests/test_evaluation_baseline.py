"""The PCA-of-log-mel + Griffin-Lim baseline: latent budget, reconstruction quality, errors."""

from __future__ import annotations

import numpy as np
import pytest

from latentroom.errors import ConfigError
from latentroom.evaluation.baseline import PCAMelBaseline
from latentroom.evaluation.metrics import log_mel_l1

RATE = 16_000
T = np.arange(RATE) / RATE


def tone(freq: float) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * freq * T)


@pytest.fixture(scope="module")
def fitted() -> PCAMelBaseline:
    tones = [tone(f) for f in (220.0, 330.0, 440.0, 660.0, 880.0)]
    return PCAMelBaseline(8, sample_rate=RATE, hop_length=160).fit(tones)


def test_latents_have_the_codec_budget(fitted: PCAMelBaseline) -> None:
    z = fitted.encode(tone(440.0))
    assert z.shape == (1 + RATE // 160, 8)  # 100 frames/s, 8 dims
    assert fitted.components_.shape == (8, 80)
    np.testing.assert_allclose(fitted.components_ @ fitted.components_.T, np.eye(8), atol=1e-9)


def test_reconstructs_a_tone_with_low_log_mel_error(fitted: PCAMelBaseline) -> None:
    x = tone(440.0)
    y = fitted.reconstruct(x[None])
    assert y.shape == (1, RATE)
    error = log_mel_l1(x, y, RATE)
    assert error < 0.35
    assert error < 0.25 * log_mel_l1(x, np.zeros(RATE), RATE)
    np.testing.assert_array_equal(y, fitted.reconstruct(x[None]))  # seeded phases


def test_budget_beyond_the_mel_bands_is_clipped() -> None:
    baseline = PCAMelBaseline(200, sample_rate=RATE, hop_length=160, n_mels=20)
    baseline.fit([tone(440.0), 0.1 * np.random.default_rng(0).standard_normal(RATE)])
    assert baseline.n_components_ == 20


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"n_components": 0}, "n_components >= 1", id="components"),
        pytest.param({"hop_length": 2}, "hop_length >= 4", id="hop"),
        pytest.param({"n_iter": -1}, "n_iter >= 0", id="iterations"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, int], match: str) -> None:
    values = {"n_components": 8, "sample_rate": RATE, "hop_length": 160, **kwargs}
    with pytest.raises(ConfigError, match=match):
        PCAMelBaseline(**values)


def test_fit_needs_signals() -> None:
    with pytest.raises(ConfigError, match="at least one training signal"):
        PCAMelBaseline(8, sample_rate=RATE, hop_length=160).fit([])
