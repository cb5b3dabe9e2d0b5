"""``codecs.compat``: each version difference takes the branch the installed release needs.

``make test`` runs this file in two environments (transformers 5.x with diffusers >= 0.38, and
transformers 4.57 with diffusers 0.37), so every branch is exercised by one of them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from packaging.version import Version

from latentroom.codecs import get_codec, hf_models
from latentroom.codecs.acestep_vae import AceStepVae, tiled
from latentroom.codecs.compat import (
    config_errors,
    config_fields,
    hub_cache,
    mimi_decode,
    mimi_encode,
    mimi_layout,
)
from test_codecs_contract import TINY_ACESTEP, TINY_MIMI

pytestmark = pytest.mark.filterwarnings("ignore:.*weight_norm.*:FutureWarning")


def transformers_at_least(version: str) -> bool:
    return Version(transformers.__version__) >= Version(version)


def tiny_mimi() -> hf_models.MimiCodec:
    codec = get_codec("mimi", random_init=True, config_overrides=TINY_MIMI)
    assert isinstance(codec, hf_models.MimiCodec)
    return codec


@pytest.mark.parametrize("name", ["MimiConfig", "EncodecConfig", "DacConfig"])
def test_configs_are_dataclasses_from_transformers_5_4(name: str) -> None:
    config_class = getattr(transformers, name)
    assert dataclasses.is_dataclass(config_class) == transformers_at_least("5.4")
    fields = config_fields(config_class)
    assert {"sampling_rate", "codebook_size"} <= fields
    assert not {"self", "kwargs"} & fields


def test_plain_config_fields_are_the_named_init_arguments() -> None:
    class Plain:  # a transformers 4.x config in miniature
        def __init__(self, a: int = 1, *args: int, b: int = 2, **kwargs: int) -> None:
            pass

    assert config_fields(Plain) == {"a", "b"}


def test_bad_config_values_raise_one_of_config_errors() -> None:
    # MimiConfig validates num_semantic_quantizers < num_quantizers in every version
    with pytest.raises(config_errors()):
        transformers.MimiConfig(num_quantizers=1)


def test_mimi_layout_is_split_from_transformers_5_21() -> None:
    model = tiny_mimi().model
    expected = "split" if transformers_at_least("5.21") else "flat"
    assert mimi_layout(model) == expected


def test_mimi_encode_and_decode_match_the_models_own_codes_path() -> None:
    model = tiny_mimi().model
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 1, 5 * 1920)).astype("f4"))
    with torch.inference_mode():
        z = mimi_encode(model, x)
        codes = model.encode(x, num_quantizers=8).audio_codes  # [B, K, T]
        assert torch.equal(model.quantizer.encode(z, 8).transpose(0, 1), codes)
        y = mimi_decode(model, model.quantizer.decode(codes))
        reference = model.decode(codes).audio_values
    assert z.shape == (1, TINY_MIMI["hidden_size"], 5)
    torch.testing.assert_close(y[..., : reference.shape[-1]], reference)


def test_hub_cache_follows_the_hub_setting_at_call_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    assert hub_cache() == str(tmp_path)


def test_tiled_joins_the_cores_of_overlapping_windows() -> None:
    windows: list[tuple[int, int]] = []

    def double(t: torch.Tensor) -> torch.Tensor:  # 3 output samples per 2-sample unit
        windows.append((int(t[0, 0, 0]), t.shape[-1]))
        return t.repeat_interleave(3, dim=-1)[..., ::2]

    x = torch.arange(20.0).reshape(1, 1, 20)  # 10 units of 2 samples
    y = tiled(double, x, 4, 1, unit=2)
    assert windows == [(0, 6), (2, 8), (6, 8), (10, 8), (14, 6)]  # (first sample, length)
    torch.testing.assert_close(y, double(x))
    windows.clear()
    tiled(double, x, 10, 1, unit=2)
    assert windows == [(0, 20)]  # up to one tile: whole


def test_vae_tiling_equals_diffusers_own_where_diffusers_has_it() -> None:
    import diffusers

    codec = get_codec(
        "acestep-vae",
        random_init=True,
        config_overrides=TINY_ACESTEP,
        encode_tile_frames=20,
        encode_overlap_frames=8,
        decode_tile_frames=20,
        decode_overlap_frames=8,
    )
    assert isinstance(codec, AceStepVae)
    native = hasattr(codec.model, "_tiled_encode")
    assert native == (Version(diffusers.__version__) >= Version("0.38"))
    if not native:
        return  # diffusers 0.37: ours is the only tiling; test_codecs_acestep checks it
    model = codec.model
    model.use_tiling = True
    model.tile_sample_min_length, model.tile_sample_overlap = 20 * 1920, 8 * 1920
    model.tile_latent_min_length, model.tile_latent_overlap = 20, 8
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 2, 60 * 1920)).astype("f4"))
    with torch.inference_mode():
        z = tiled(model.encoder, x, 20, 8, unit=1920)
        assert torch.equal(z, model._tiled_encode(x))
        mean = z[:, : TINY_ACESTEP["decoder_input_channels"]]  # z holds means, then scales
        assert torch.equal(tiled(model.decoder, mean, 20, 8, unit=1), model._tiled_decode(mean))


def test_frame_sizes_come_from_the_config_or_are_derived_before_4_57() -> None:
    from types import SimpleNamespace

    import transformers

    from latentroom.codecs.compat import encodec_hop_length, mimi_frame_size

    old_mimi = SimpleNamespace(sampling_rate=24_000, frame_rate=12.5)  # 4.51-4.56: no frame_size
    old_encodec = SimpleNamespace(upsampling_ratios=[8, 5, 4, 2])  # ... and no hop_length
    assert mimi_frame_size(old_mimi) == 1920 and encodec_hop_length(old_encodec) == 320
    # The installed version, whichever branch it takes, gives the published sizes.
    assert mimi_frame_size(transformers.MimiConfig()) == 1920
    assert encodec_hop_length(transformers.EncodecConfig()) == 320
