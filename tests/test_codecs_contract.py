"""The codec contract, run over every backend on tiny random-init models built offline.

To add a backend, append one ``pytest.param(factory, id=NAME)`` to ``CODEC_FACTORIES``: the
factory takes no arguments and returns a small, fast ``Codec``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from helpers import TinyConvCodec
from latentroom.audio.types import Audio
from latentroom.codecs import get_codec
from latentroom.codecs.base import Codec
from latentroom.errors import InvalidLatentError
from latentroom.latents.trajectory import LatentTrajectory
from rave_fixture import tiny_rave_codec

pytestmark = pytest.mark.filterwarnings("ignore:.*weight_norm.*:FutureWarning")  # diffusers

# Tiny versions of the published configs: same hop and rate, few channels and layers.
TINY_MIMI = {
    "hidden_size": 32,
    "num_filters": 4,
    "num_hidden_layers": 1,
    "intermediate_size": 32,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "upsample_groups": 32,
    "codebook_size": 16,
    "codebook_dim": 16,
    "vector_quantization_hidden_dimension": 16,
}
TINY_ENCODEC = {"num_filters": 4, "hidden_size": 16, "num_lstm_layers": 1, "codebook_size": 16}
TINY_DAC = {"encoder_hidden_size": 2, "decoder_hidden_size": 16, "codebook_size": 16}
TINY_ACESTEP = {
    "encoder_hidden_size": 8,
    "decoder_channels": 4,
    "decoder_input_channels": 4,
    "channel_multiples": [1, 1, 2, 2, 2],
}


def tiny(name: str, overrides: dict[str, Any], **options: Any) -> Callable[[], Codec]:
    """A factory building registry codec ``name`` with random weights and a tiny config."""
    return lambda: get_codec(name, random_init=True, config_overrides=overrides, **options)


CODEC_FACTORIES = [
    pytest.param(TinyConvCodec, id="tiny-conv"),
    pytest.param(tiny("mimi", TINY_MIMI), id="mimi"),
    pytest.param(tiny("mimi", TINY_MIMI, latent="dequantized"), id="mimi-dequantized"),
    pytest.param(tiny("encodec-24k", TINY_ENCODEC), id="encodec-24k"),
    pytest.param(tiny("encodec-48k", {**TINY_ENCODEC, "chunk_length_s": 0.1}), id="encodec-48k"),
    pytest.param(tiny("dac-16k", TINY_DAC), id="dac-16k"),
    pytest.param(tiny("dac-24k", TINY_DAC), id="dac-24k"),
    pytest.param(tiny("dac-44k", TINY_DAC), id="dac-44k"),
    pytest.param(tiny("acestep-vae", TINY_ACESTEP), id="acestep-vae"),
    pytest.param(tiny_rave_codec, id="rave"),
]


@pytest.fixture(scope="module", params=CODEC_FACTORIES)
def codec(request: pytest.FixtureRequest) -> Codec:
    return request.param()  # type: ignore[no-any-return]


def noise(codec: Codec, n_samples: int, *, sample_rate: int = 0, channels: int = 0) -> Audio:
    """Seeded noise in the codec's format unless another rate / channel count is asked for."""
    rng = np.random.default_rng(0)
    shape = (channels or codec.channels, n_samples)
    return Audio(0.3 * rng.standard_normal(shape), sample_rate or codec.sample_rate)


def test_frame_rate_is_exactly_rate_over_hop(codec: Codec) -> None:
    assert codec.frame_rate == codec.sample_rate / codec.hop_length
    facts = codec.describe()
    assert facts["frame_rate"] == codec.frame_rate
    assert facts["latent_dim"] == codec.latent_dim
    assert codec.parameter_count > 0


@pytest.mark.parametrize(
    ("hops", "offset"),
    [
        pytest.param(0, 1, id="one-sample"),
        pytest.param(3, -1, id="3hop-1"),
        pytest.param(3, 0, id="3hop"),
        pytest.param(3, 1, id="3hop+1"),
    ],
)
def test_shape_follows_the_t_from_n_rule(codec: Codec, hops: int, offset: int) -> None:
    n_samples = hops * codec.hop_length + offset
    trajectory = codec.encode(noise(codec, n_samples))
    assert trajectory.data.shape == (codec.n_frames(n_samples), codec.latent_dim)
    assert trajectory.data.dtype == np.float32
    assert np.isfinite(trajectory.data).all()
    assert trajectory.frame_rate == codec.frame_rate
    assert trajectory.codec == codec.name
    assert trajectory.meta["hop_length"] == codec.hop_length
    assert trajectory.meta["n_samples"] == n_samples


def test_decode_gives_t_times_hop_samples(codec: Codec) -> None:
    trajectory = codec.encode(noise(codec, 2 * codec.hop_length + 5))
    audio = codec.decode(trajectory)
    assert audio.sample_rate == codec.sample_rate
    assert audio.samples.shape == (codec.channels, trajectory.n_frames * codec.hop_length)
    assert audio.samples.dtype == np.float32


def test_encode_is_deterministic_by_default(codec: Codec) -> None:
    audio = noise(codec, 2 * codec.hop_length)
    first, second = codec.encode(audio), codec.encode(audio)
    assert np.array_equal(first.data, second.data)
    assert first.meta["sampled"] is False


def test_same_generator_seed_gives_identical_latents(codec: Codec) -> None:
    audio = noise(codec, 2 * codec.hop_length)
    first = codec.encode(audio, generator=torch.Generator().manual_seed(7))
    second = codec.encode(audio, generator=torch.Generator().manual_seed(7))
    assert np.array_equal(first.data, second.data)
    assert first.meta["sampled"] is codec.stochastic
    if codec.stochastic:
        other = codec.encode(audio, generator=torch.Generator().manual_seed(8))
        assert not np.array_equal(first.data, other.data)
        assert not np.array_equal(first.data, codec.encode(audio).data)


def test_decoding_is_reproducible(codec: Codec) -> None:
    trajectory = codec.encode(noise(codec, 2 * codec.hop_length))
    first = codec.decode(trajectory, generator=torch.Generator().manual_seed(3))
    second = codec.decode(trajectory, generator=torch.Generator().manual_seed(3))
    assert first == second


def test_mismatched_input_is_converted_and_recorded(codec: Codec) -> None:
    in_rate = 32_000 if codec.sample_rate != 32_000 else 16_000
    in_channels = 3
    n_in = in_rate // 5
    trajectory = codec.encode(noise(codec, n_in, sample_rate=in_rate, channels=in_channels))
    n_converted = round(n_in * codec.sample_rate / in_rate)
    assert trajectory.data.shape == (codec.n_frames(n_converted), codec.latent_dim)
    assert trajectory.meta["input_sample_rate"] == in_rate
    assert trajectory.meta["input_channels"] == in_channels
    assert trajectory.meta["resampled"] is True
    assert trajectory.meta["remixed"] is True
    assert trajectory.meta["n_samples"] == n_converted


def test_matching_input_is_recorded_as_unconverted(codec: Codec) -> None:
    trajectory = codec.encode(noise(codec, codec.hop_length))
    assert trajectory.meta["resampled"] is False
    assert trajectory.meta["remixed"] is False


def test_wrong_latent_dim_is_refused(codec: Codec) -> None:
    bad = LatentTrajectory(np.zeros((4, codec.latent_dim + 1)), codec.frame_rate, "other")
    with pytest.raises(InvalidLatentError, match=f"decodes {codec.latent_dim}-d latents"):
        codec.decode(bad)


def test_nan_latents_are_refused(codec: Codec) -> None:
    data = np.zeros((4, codec.latent_dim), dtype=np.float32)
    data[2, 0] = np.nan
    bad = LatentTrajectory(data, codec.frame_rate, codec.name)
    with pytest.raises(InvalidLatentError, match="first at frame 2"):
        codec.decode(bad)


def test_empty_latents_are_refused(codec: Codec) -> None:
    bad = LatentTrajectory(np.zeros((0, codec.latent_dim)), codec.frame_rate, codec.name)
    with pytest.raises(InvalidLatentError, match="no frames"):
        codec.decode(bad)
