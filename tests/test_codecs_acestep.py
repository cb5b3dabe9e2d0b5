"""ACE-Step 1.5 VAE: published architecture, posterior mean vs samples, tiling, weights."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from latentroom.audio.types import Audio
from latentroom.codecs import get_codec
from latentroom.codecs.acestep_vae import AceStepVae
from latentroom.errors import BackendUnavailableError, ConfigError
from test_codecs_contract import TINY_ACESTEP

pytestmark = pytest.mark.filterwarnings("ignore:.*weight_norm.*:FutureWarning")


def tiny(**options: Any) -> AceStepVae:
    codec = get_codec("acestep-vae", random_init=True, config_overrides=TINY_ACESTEP, **options)
    assert isinstance(codec, AceStepVae)
    return codec


def noise(n_samples: int, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio(0.1 * rng.standard_normal((2, n_samples)), 48_000)


def test_published_architecture() -> None:
    codec = get_codec("acestep-vae", random_init=True, device="meta")
    assert (codec.sample_rate, codec.channels, codec.hop_length) == (48_000, 2, 1920)
    assert (codec.latent_dim, codec.frame_rate) == (64, 25.0)
    assert codec.stochastic


@pytest.mark.parametrize("n_samples", [1, 1920, 1921, 48_000])
def test_frames_are_ceil_of_samples_over_1920(n_samples: int) -> None:
    trajectory = tiny().encode(noise(n_samples))
    assert trajectory.n_frames == math.ceil(n_samples / 1920)


def test_default_is_the_posterior_mean_and_a_generator_samples() -> None:
    codec = tiny()
    audio = noise(10 * 1920)
    mean = codec.encode(audio)
    drawn = codec.encode(audio, generator=torch.Generator().manual_seed(0))
    redrawn = codec.encode(audio, generator=torch.Generator().manual_seed(0))
    assert (mean.meta["sampled"], drawn.meta["sampled"]) == (False, True)
    assert np.array_equal(drawn.data, redrawn.data)
    # softplus(scale) + 1e-4 > 0: every sampled value moves off the mean
    assert (drawn.data != mean.data).all()
    assert mean == codec.encode(audio)


def test_sample_true_without_generator_samples_too() -> None:
    codec = tiny()
    audio = noise(4 * 1920)
    assert codec.encode(audio, sample=True).meta["sampled"] is True


def test_tiled_encode_and_decode_match_whole_processing() -> None:
    audio = noise(60 * 1920)  # 60 frames
    whole = tiny()
    tiled = tiny(
        encode_tile_frames=20,
        encode_overlap_frames=8,
        decode_tile_frames=20,
        decode_overlap_frames=8,
    )
    z_whole, z_tiled = whole.encode(audio), tiled.encode(audio)
    np.testing.assert_allclose(z_tiled.data, z_whole.data, atol=1e-5)
    y_whole, y_tiled = whole.decode(z_whole), tiled.decode(z_whole)
    assert y_tiled.n_samples == 60 * 1920
    np.testing.assert_allclose(y_tiled.samples, y_whole.samples, atol=1e-5)


@pytest.mark.parametrize(
    ("options", "which"),
    [
        pytest.param({"encode_tile_frames": 100, "encode_overlap_frames": 50}, "encode", id="enc"),
        pytest.param({"decode_tile_frames": 64, "decode_overlap_frames": 0}, "decode", id="dec"),
    ],
)
def test_bad_tiles_are_refused(options: dict[str, int], which: str) -> None:
    with pytest.raises(ConfigError, match=f"{which}_tile_frames=.* must exceed twice"):
        tiny(**options)


def test_unknown_config_override_is_refused() -> None:
    with pytest.raises(ConfigError, match="not config fields"):
        get_codec("acestep-vae", random_init=True, config_overrides={"latent_dim": 8})


def test_missing_weights_name_the_vae_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(
        BackendUnavailableError,
        match=r"huggingface-cli download ACE-Step/Ace-Step1.5 --include 'vae/\*'",
    ):
        get_codec("acestep-vae")
