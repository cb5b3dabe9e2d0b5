"""transformers backends: published shapes, Mimi latents, EnCodec-48k scales, DAC, weights."""

from __future__ import annotations

import copy
import logging
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from latentroom.audio.types import Audio
from latentroom.codecs import get_codec
from latentroom.codecs.base import Codec
from latentroom.codecs.hf_models import EncodecCodec, MimiCodec
from latentroom.codecs.hub import weights_cached
from latentroom.errors import BackendUnavailableError, ConfigError
from test_codecs_contract import TINY_DAC, TINY_ENCODEC, TINY_MIMI


def tiny(name: str, overrides: dict[str, Any] | None = None, **options: Any) -> Codec:
    defaults = {"mimi": TINY_MIMI, "encodec-24k": TINY_ENCODEC, "encodec-48k": TINY_ENCODEC}
    config = {**defaults.get(name, TINY_DAC), **(overrides or {})}
    return get_codec(name, random_init=True, config_overrides=config, **options)


def noise(codec: Codec, n_samples: int, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio(0.3 * rng.standard_normal((codec.channels, n_samples)), codec.sample_rate)


@pytest.mark.parametrize(
    ("name", "sample_rate", "channels", "hop", "latent_dim", "millions"),
    [
        pytest.param("mimi", 24_000, 1, 1920, 512, 79.3, id="mimi"),
        pytest.param("encodec-24k", 24_000, 1, 320, 128, 14.9, id="encodec-24k"),
        pytest.param("encodec-48k", 48_000, 2, 320, 128, None, id="encodec-48k"),
        pytest.param("dac-16k", 16_000, 1, 320, 1024, None, id="dac-16k"),
        pytest.param("dac-24k", 24_000, 1, 320, 1024, None, id="dac-24k"),
        pytest.param("dac-44k", 44_100, 1, 512, 1024, 76.6, id="dac-44k"),
    ],
)
def test_published_architecture(
    name: str, sample_rate: int, channels: int, hop: int, latent_dim: int, millions: float | None
) -> None:
    codec = get_codec(name, random_init=True, device="meta")  # full size, no memory
    assert (codec.sample_rate, codec.channels, codec.hop_length) == (sample_rate, channels, hop)
    assert codec.latent_dim == latent_dim
    assert codec.frame_rate == sample_rate / hop  # 86.1328125 for DAC-44k, never 87
    if millions is not None:
        assert codec.parameter_count / 1e6 == pytest.approx(millions, abs=0.05)


@pytest.mark.parametrize(
    ("name", "frames"),
    [
        pytest.param("mimi", 13, id="mimi-12.5Hz"),
        pytest.param("encodec-24k", 75, id="encodec-24k-75Hz"),
        pytest.param("encodec-48k", 150, id="encodec-48k-150Hz"),
        pytest.param("dac-16k", 50, id="dac-16k-50Hz"),
        pytest.param("dac-44k", 87, id="dac-44k-86.13Hz"),
    ],
)
def test_one_second_gives_ceil_of_the_frame_rate(name: str, frames: int) -> None:
    codec = tiny(name)
    trajectory = codec.encode(noise(codec, codec.sample_rate))
    assert trajectory.n_frames == frames == math.ceil(codec.frame_rate)


def test_mimi_projected_is_both_branches_bypassed() -> None:
    # Without projections (quantizer width = latent width) each branch passes z through: 2 z.
    codec = tiny("mimi", {"vector_quantization_hidden_dimension": 32, "codebook_dim": 32})
    audio = noise(codec, 4 * codec.hop_length)
    raw = codec.encode(audio).data
    projected = tiny(
        "mimi",
        {"vector_quantization_hidden_dimension": 32, "codebook_dim": 32},
        latent="projected",
    ).encode(audio)
    np.testing.assert_allclose(projected.data, 2 * raw, rtol=1e-6)
    assert projected.meta["latent_kind"] == "quantizer-projections"


def test_mimi_dequantized_frames_come_from_the_codebooks() -> None:
    codec = tiny("mimi", latent="dequantized", num_quantizers=1)  # the semantic codebook only
    trajectory = codec.encode(noise(codec, 40 * codec.hop_length))
    assert len(np.unique(trajectory.data.round(5), axis=0)) <= TINY_MIMI["codebook_size"]
    assert trajectory.meta["latent_kind"] == "dequantized-1q"
    raw = tiny("mimi").encode(noise(codec, 40 * codec.hop_length))
    assert not np.allclose(trajectory.data, raw.data)


def test_mimi_defaults_to_raw_latent_and_eight_quantizers() -> None:
    codec = tiny("mimi")
    assert isinstance(codec, MimiCodec)
    assert (codec.latent, codec.num_quantizers, codec.latent_kind) == ("raw", 8, "pre-quantizer")


def test_mimi_rejects_unknown_latent() -> None:
    with pytest.raises(ConfigError, match="choose one of"):
        tiny("mimi", latent="codes")


@pytest.mark.parametrize("count", [pytest.param(0, id="zero"), pytest.param(33, id="too-many")])
def test_mimi_rejects_quantizer_counts_outside_the_config(count: int) -> None:
    with pytest.raises(ConfigError, match=f"num_quantizers={count} is outside 1..32"):
        tiny("mimi", latent="dequantized", num_quantizers=count)


def tiny_48k() -> EncodecCodec:
    codec = tiny("encodec-48k", {"chunk_length_s": 0.1})  # 4800-sample chunks, 15 frames
    assert isinstance(codec, EncodecCodec)
    return codec


def three_loudness_chunks() -> Audio:
    """100 Hz stereo sine, 0.1 s each at amplitudes 0.5, 0.05, 0.2 (whole periods per chunk)."""
    t = np.arange(4800) / 48_000
    wave = np.sin(2 * np.pi * 100 * t)
    mono = np.concatenate([0.5 * wave, 0.05 * wave, 0.2 * wave])
    return Audio(np.stack([mono, mono]), 48_000)


def test_encodec_48k_stores_the_rms_of_each_chunk() -> None:
    trajectory = tiny_48k().encode(three_loudness_chunks())
    assert trajectory.meta["chunk_frames"] == 15
    expected = np.array([0.5, 0.05, 0.2]) / np.sqrt(2)
    np.testing.assert_allclose(trajectory.meta["chunk_scales"], expected, rtol=1e-4)


def test_encodec_48k_decode_multiplies_each_chunk_by_its_scale() -> None:
    codec = tiny_48k()
    trajectory = codec.encode(three_loudness_chunks())
    scaled = codec.decode(trajectory).samples
    unit = trajectory.with_data(trajectory.data, chunk_scales=[1.0, 1.0, 1.0])
    plain = codec.decode(unit).samples
    overlap = codec.overlap_frames * codec.hop_length  # cross-fade at the start of chunks 2, 3
    for k, scale in enumerate(trajectory.meta["chunk_scales"]):
        start = k * 4800 + (overlap if k else 0)
        inner = slice(start, (k + 1) * 4800)
        np.testing.assert_allclose(scaled[:, inner], scale * plain[:, inner], rtol=1e-4, atol=1e-7)


def test_encodec_48k_without_scales_decodes_at_unit_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    codec = tiny_48k()
    trajectory = codec.encode(three_loudness_chunks())
    bare = trajectory.with_data(trajectory.data, chunk_scales=None)
    unit = trajectory.with_data(trajectory.data, chunk_scales=[1.0, 1.0, 1.0])
    with caplog.at_level(logging.WARNING, logger="latentroom.codecs.hf_models"):
        assert codec.decode(bare) == codec.decode(unit)
    assert "normalised level" in caplog.text


def test_encodec_24k_is_one_chunk_without_scales() -> None:
    trajectory = tiny("encodec-24k").encode(noise(tiny("encodec-24k"), 24_000))
    assert "chunk_scales" not in trajectory.meta


def test_dac_16k_decoder_is_eight_samples_short_and_padded_at_the_end() -> None:
    codec = tiny("dac-16k")
    trajectory = codec.encode(noise(codec, 5 * codec.hop_length))
    z = torch.from_numpy(np.array(trajectory.data)).T[None]
    with torch.inference_mode():
        raw = codec.model.decoder(z)  # type: ignore[attr-defined]
    assert raw.shape[-1] == 5 * 320 - 8
    audio = codec.decode(trajectory)
    assert audio.n_samples == 5 * 320
    np.testing.assert_array_equal(audio.samples[0, :-8], raw[0, 0].numpy())
    assert not audio.samples[0, -8:].any()


def test_random_init_is_seeded_and_leaves_the_global_rng_alone() -> None:
    before = torch.random.get_rng_state()
    audio = noise(tiny("dac-24k"), 3 * 320)
    first = tiny("dac-24k", seed=1).encode(audio)
    again = tiny("dac-24k", seed=1).encode(audio)
    other = tiny("dac-24k", seed=2).encode(audio)
    assert np.array_equal(first.data, again.data)
    assert not np.array_equal(first.data, other.data)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_config_overrides_need_random_init() -> None:
    with pytest.raises(ConfigError, match="only apply to random_init=True"):
        get_codec("dac-16k", config_overrides=TINY_DAC)


def test_unknown_config_override_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"keys \['hidden_sise'\] are not config fields"):
        tiny("encodec-24k", {"hidden_sise": 8})


def test_invalid_config_override_is_refused() -> None:
    with pytest.raises(ConfigError, match="config_overrides for mimi are invalid"):
        tiny("mimi", {"num_quantizers": 1})  # must exceed num_semantic_quantizers


def test_missing_extra_names_the_pip_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install 'latentroom\[transformers\]'"):
        tiny("encodec-24k")


def test_missing_weights_say_which_id_to_fetch(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(
        BackendUnavailableError, match="huggingface-cli download descript/dac_16khz"
    ):
        get_codec("dac-16k")


def fake_cache(root: Path, repo_id: str, codec: Codec, dtype: torch.dtype = torch.float32) -> None:
    """Lay out a Hugging Face cache entry for ``repo_id`` holding ``codec``'s model."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    commit = "0" * 40
    model = copy.deepcopy(codec.model).to(dtype)  # type: ignore[attr-defined]
    model.save_pretrained(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)


def test_cached_weights_load_without_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import huggingface_hub.constants

    saved = tiny("dac-16k", seed=5)
    fake_cache(tmp_path, "descript/dac_16khz", saved)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    assert weights_cached("descript/dac_16khz")
    loaded = get_codec("dac-16k")
    audio = noise(saved, 3 * 320)
    assert loaded.latent_dim == TINY_DAC["encoder_hidden_size"] * 16
    assert np.array_equal(loaded.encode(audio).data, saved.encode(audio).data)


def test_half_precision_checkpoints_load_as_float32(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import huggingface_hub.constants

    saved = tiny("dac-16k", seed=5)
    fake_cache(tmp_path, "descript/dac_16khz", saved, dtype=torch.float16)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    loaded = get_codec("dac-16k")
    assert {p.dtype for p in loaded.modules_for_count().parameters()} == {torch.float32}
    trajectory = loaded.encode(noise(saved, 3 * 320))
    assert trajectory.data.dtype == np.float32
    assert np.isfinite(trajectory.data).all()


def test_unknown_option_names_the_known_ones() -> None:
    expected = r"'mimi' has no options \['latnet'\]; it takes .*'latent'"
    with pytest.raises(ConfigError, match=expected):
        get_codec("mimi", random_init=True, latnet="raw")


def test_mimi_dequantized_round_trip_equals_the_models_own_codes_path() -> None:
    codec = tiny("mimi", latent="dequantized")  # 8 codebooks
    audio = noise(codec, 6 * codec.hop_length)
    ours = codec.decode(codec.encode(audio)).samples
    x = torch.from_numpy(np.array(audio.samples))[None]
    with torch.inference_mode():
        reference = codec.model(x, num_quantizers=8).audio_values  # type: ignore[attr-defined]
    np.testing.assert_allclose(ours, reference[0].numpy(), atol=1e-5)


def test_missing_weights_fail_at_once_without_touching_the_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Once: 5 retried requests and a failure after 30 s. Now nothing is asked of the network.
    import socket
    import time

    import huggingface_hub.constants

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("latentroom touched the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("LATENTROOM_DOWNLOAD", raising=False)
    import transformers

    transformers.DacModel  # noqa: B018  (importing the model code, ~3 s, is not what is timed)

    started = time.perf_counter()
    with pytest.raises(BackendUnavailableError) as caught:
        get_codec("dac-16k")
    assert time.perf_counter() - started < 1.0
    assert "give a local copy as dac-16k:FOLDER" in str(caught.value)
    assert "set LATENTROOM_DOWNLOAD=1 to let latentroom download them" in str(caught.value)


def test_a_local_weights_folder_loads_as_name_colon_path(tmp_path: Path) -> None:
    saved = tiny("dac-16k", seed=5)
    saved.model.save_pretrained(tmp_path / "dac")  # type: ignore[attr-defined]
    loaded = get_codec(f"DAC-16k:{tmp_path / 'dac'}")
    audio = noise(saved, 3 * 320)
    assert np.array_equal(loaded.encode(audio).data, saved.encode(audio).data)
    with pytest.raises(BackendUnavailableError, match="no such folder for the weights"):
        get_codec(f"dac-16k:{tmp_path / 'missing'}")
    with pytest.raises(BackendUnavailableError, match="holds no loadable weights"):
        get_codec(f"dac-16k:{tmp_path}")
    with pytest.raises(ConfigError, match="loads trained weights; leave out --random-init"):
        get_codec(f"dac-16k:{tmp_path / 'dac'}", random_init=True)
