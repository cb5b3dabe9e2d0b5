"""Frame-rate alignment, normalisation, decoder sensitivity and decoded log-mel features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import TinyConvCodec, sine
from latentroom.analysis.align import common_rate, fit_normaliser, parse_normalise, pool_to_rate
from latentroom.analysis.clusters import ClusterConfig, run_phase0
from latentroom.analysis.data import ArraySource
from latentroom.analysis.decoder_aware import (
    decoder_sensitivity,
    log_mel_frames,
    weight_by_sensitivity,
)
from latentroom.analysis.synthetic import switching_process, switching_variance_ratio
from latentroom.errors import ConfigError


def test_pool_integer_ratio_is_mean_pooling() -> None:
    x = np.arange(26, dtype=np.float32).reshape(13, 2)
    pooled = pool_to_rate(x, 75.0, 12.5)  # 6 frames per output frame, the 13th is dropped
    np.testing.assert_allclose(pooled, [x[:6].mean(axis=0), x[6:12].mean(axis=0)], rtol=1e-6)


def test_pool_fractional_ratio_is_box_average() -> None:
    x = np.array([[0.0], [3.0], [6.0], [9.0]], dtype=np.float32)
    pooled = pool_to_rate(x, 3.0, 2.0)  # each output frame covers 1.5 input frames
    np.testing.assert_allclose(pooled[:, 0], [(0 + 1.5) / 1.5, (1.5 + 6) / 1.5], rtol=1e-6)


def test_pool_keeps_a_constant_and_equal_rates() -> None:
    x = np.full((100, 3), 2.5, dtype=np.float32)
    np.testing.assert_allclose(pool_to_rate(x, 86.1328125, 12.5), 2.5, rtol=1e-6)
    assert pool_to_rate(x, 12.5, 12.5).shape == (100, 3)
    assert pool_to_rate(x, 86.1328125, 12.5).shape == (14, 3)


def test_common_rate_choices_and_refusals() -> None:
    assert common_rate([75.0, 12.5, 50.0]) == 12.5
    assert common_rate([75.0, 50.0], 25.0) == 25.0
    with pytest.raises(ConfigError, match="can only be pooled down"):
        common_rate([75.0, 12.5], 25.0)
    with pytest.raises(ConfigError, match="'lowest' or a number"):
        common_rate([75.0], "highest")
    with pytest.raises(ConfigError, match=r"pool 12\.5 Hz latents up"):
        pool_to_rate(np.zeros((4, 1)), 12.5, 25.0)


def test_normalisers_standardise_and_whiten() -> None:
    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((4, 4))
    train = [rng.standard_normal((500, 4)) @ mixing * 3 + 7 for _ in range(4)]
    frames = np.concatenate(train)
    std = fit_normaliser(train, "standardise").apply(frames)
    np.testing.assert_allclose(std.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(std.std(axis=0), 1, atol=1e-4)
    white = fit_normaliser(train, "pca-whiten:2")
    out = white.apply(frames)
    assert out.shape == (2000, 2) and 0 < white.explained <= 1
    np.testing.assert_allclose(np.cov(out.T, bias=True), np.eye(2), atol=1e-3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("zscore", "unknown normalisation", id="unknown"),
        pytest.param("pca-whiten:0", "unknown normalisation", id="zero-dims"),
    ],
)
def test_parse_normalise_refuses(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_normalise(text)


def test_pca_keeps_at_most_the_latent_dims_and_plain_pca_keeps_distances() -> None:
    train = [np.random.default_rng(0).standard_normal((50, 3)) * [1.0, 2.0, 3.0]]
    assert fit_normaliser(train, "pca-whiten:5").output_dim == 3
    rotated = fit_normaliser(train, "pca:3").apply(train[0])
    centred = train[0] - train[0].mean(axis=0)
    np.testing.assert_allclose(np.linalg.norm(rotated, axis=1), np.linalg.norm(centred, axis=1),
                               rtol=1e-5)  # fmt: skip


def test_sensitivity_matches_the_exact_jacobian_column_norms() -> None:
    codec = TinyConvCodec(latent_dim=6, hop_length=32, seed=1)
    with torch.no_grad():
        codec.decoder.weight[3:] *= 0.1  # dims 3-5 are heard 100x less in energy
    # Non-overlapping transposed conv: ‖J e_{d,t}‖² = Σ_{c,k} W[d, c, k]², the same at every t.
    exact = (codec.decoder.weight.detach().double() ** 2).sum(dim=(1, 2)).numpy()
    latents = [np.random.default_rng(0).standard_normal((300, 6)).astype(np.float32)]
    result = decoder_sensitivity(codec, latents, n_probes=8, max_frames=256)
    assert result.n_frames == 256
    np.testing.assert_allclose(result.per_dim, exact, rtol=0.15)
    assert np.all(result.stderr < 0.1 * result.per_dim)
    assert 2.9 < result.effective_dims < 3.4  # three loud dims (plus 3 % from the quiet ones)


def test_decoder_aware_variance_ratio_discounts_ignored_dims() -> None:
    """Junk dims: big random steps the decoder ignores. Raw VR ~ 1; weighted VR = analytic."""
    rng = np.random.default_rng(3)
    drifts = np.array([[1.0, -1.0], [-1.0, 1.0]])
    informative = switching_process(200, 40, drifts=drifts, sigma=0.5, rng=rng)
    junk = [np.cumsum(8.0 * rng.standard_normal((40, 3)), axis=0) for _ in informative]
    latents = [
        np.concatenate([a, j], axis=1).astype(np.float32)
        for a, j in zip(informative, junk, strict=True)
    ]
    codec = TinyConvCodec(latent_dim=7, hop_length=16, seed=0)
    with torch.no_grad():
        weight = codec.decoder.weight
        weight /= weight.pow(2).sum(dim=(1, 2), keepdim=True).sqrt()  # equal loudness ...
        weight[4:] = 0.0  # ... except the junk dims, which the decoder ignores
    sensitivity = decoder_sensitivity(codec, latents, n_probes=4, max_frames=256)
    weighted, kept = weight_by_sensitivity(latents, sensitivity)
    assert kept.tolist() == [True] * 4 + [False] * 3
    config = ClusterConfig(context=4, keys=("mean-vq4",), lags=(1,), min_cluster_size=10, n_boot=50)
    raw, _, _ = run_phase0(ArraySource(latents, 12.5), config)
    aware, _, _ = run_phase0(ArraySource(weighted, 12.5), config)
    expected = switching_variance_ratio(drifts, 0.5)  # 0.2: the mode explains 80 %
    assert raw["mean-vq4"]["variance_ratio"] > 0.95
    assert abs(aware["mean-vq4"]["variance_ratio"] - expected) < 0.03


def test_log_mel_frames_rate_and_content() -> None:
    tone = sine(1000.0, seconds=2.0, sample_rate=16_000)
    frames = log_mel_frames(tone, 12.5, n_mels=16)
    assert frames.shape == (25, 16)
    loudest = frames[5:20].mean(axis=0).argmax()
    quiet = sine(1000.0, seconds=2.0, sample_rate=16_000, amplitude=0.05)
    # A 20 dB quieter tone: the loudest band drops by ln(10) in log amplitude.
    drop = (
        frames[5:20, loudest].mean() - log_mel_frames(quiet, 12.5, n_mels=16)[5:20, loudest].mean()
    )
    assert drop == pytest.approx(np.log(10.0), rel=1e-3)
    with pytest.raises(ConfigError, match="need a hop below"):
        log_mel_frames(tone, 200.0)
