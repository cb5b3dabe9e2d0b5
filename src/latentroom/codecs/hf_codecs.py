"""transformers backends: Mimi, EnCodec (24 / 48 kHz) and DAC (16 / 24 / 44.1 kHz) as ``Codec``.

Each backend exposes the continuous latent *before* quantization (the encoder output) and
decodes any latent of that shape with the model's own decoder. T-from-N rules (``N`` samples
after conversion to the codec's rate):

- Mimi: ``ceil(N / 1920)`` (causal convs pad the tail; the stride-2 downsample rounds up).
- EnCodec: ``ceil(N / 320)``; the 48 kHz model encodes 1 s chunks of 150 frames each.
- DAC: ``ceil(N / hop)``; the input is zero-padded to a multiple of the hop first.

Every backend decodes ``T`` frames to exactly ``T * hop`` samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from latentroom.codecs.compat import config_errors, config_fields
from latentroom.codecs.hf_models import (
    DacCodec,
    EncodecCodec,
    HubCodec,
    MimiCodec,
    MimiLatent,
    randomise_codebooks,
)
from latentroom.codecs.hub import build_random, load_pretrained, merge_config, require
from latentroom.errors import ConfigError


@dataclass(frozen=True)
class HubSpec:
    """Where a transformers codec comes from and the config its checkpoint was published with."""

    name: str  # registry name
    repo_id: str  # Hugging Face hub id of the weights
    model_class: str  # transformers class, e.g. "MimiModel"
    config_class: str  # its config class, e.g. "MimiConfig"
    published: dict[str, Any] = field(default_factory=dict)  # non-default config fields


MIMI = HubSpec("mimi", "kyutai/mimi", "MimiModel", "MimiConfig")
ENCODEC_24K = HubSpec("encodec-24k", "facebook/encodec_24khz", "EncodecModel", "EncodecConfig")
ENCODEC_48K = HubSpec(
    "encodec-48k",
    "facebook/encodec_48khz",
    "EncodecModel",
    "EncodecConfig",
    {
        "sampling_rate": 48_000,
        "audio_channels": 2,
        "use_causal_conv": False,
        "norm_type": "time_group_norm",
        "normalize": True,
        "chunk_length_s": 1.0,
        "overlap": 0.01,
        "target_bandwidths": [3.0, 6.0, 12.0, 24.0],
    },
)


def _dac(khz: str, sample_rate: int, ratios: list[int], n_codebooks: int) -> HubSpec:
    """A DAC checkpoint (``descriptinc/descript-audio-codec`` ``conf/final``)."""
    published = {
        "sampling_rate": sample_rate,
        "downsampling_ratios": ratios,
        "n_codebooks": n_codebooks,
    }
    return HubSpec(f"dac-{khz}k", f"descript/dac_{khz}khz", "DacModel", "DacConfig", published)


# DacConfig() defaults are the 44.1 kHz architecture: the 16 / 24 kHz checkpoints use other ratios.
DAC_16K = _dac("16", 16_000, [2, 4, 5, 8], n_codebooks=12)
DAC_24K = _dac("24", 24_000, [2, 4, 5, 8], n_codebooks=32)
DAC_44K = _dac("44", 44_100, [2, 4, 8, 8], n_codebooks=9)


def load_model(
    spec: HubSpec,
    *,
    random_init: bool,
    seed: int,
    config_overrides: dict[str, Any] | None,
    device: str,
    dtype: str = "float32",
    weights: str | None = None,
) -> Any:
    """Pretrained weights for ``spec`` (``weights`` folder, cache, or hub), or random init.

    ``config_overrides`` (random init only) shrink the published config for fast tests.
    """
    transformers = require("transformers", "transformers")

    model_class = getattr(transformers, spec.model_class)
    config_class = getattr(transformers, spec.config_class)
    allowed = config_fields(config_class)
    values = merge_config(
        spec.published, config_overrides, random_init=random_init, allowed=allowed
    )
    if weights is not None and random_init:
        raise ConfigError(f"{spec.name}:{weights} loads trained weights; leave out --random-init")
    if not random_init:
        return load_pretrained(
            model_class.from_pretrained,
            spec.repo_id,
            codec=spec.name,
            device=device,
            dtype=dtype,
            folder=weights,
        )
    try:
        config = config_class(**values)
    except config_errors() as err:
        raise ConfigError(f"config_overrides for {spec.name} are invalid: {err}") from err
    return build_random(lambda: model_class(config), seed=seed, device=device, dtype=dtype)


def make_mimi(
    *,
    random_init: bool = False,
    seed: int = 0,
    config_overrides: dict[str, Any] | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    latent: MimiLatent = "raw",
    num_quantizers: int = 8,
    weights: str | None = None,
) -> MimiCodec:
    """Kyutai Mimi (``kyutai/mimi``): 24 kHz mono, 512-d at 12.5 Hz.

    Parameters
    ----------
    random_init : bool
        Build the published architecture with random weights drawn from ``seed``.
    seed : int
        Seed of the random weights (random init only).
    config_overrides : dict or None
        ``MimiConfig`` fields replacing the published ones (random init only; tests).
    device : str
        Torch device; "meta" builds a weightless model (parameter counts).
    dtype : {"float32", "bfloat16", "float16"}
        Model precision; latents and audio come back as float32 either way.
    latent : {"raw", "projected", "dequantized"}
        The continuous view to expose (see ``MimiCodec``).
    num_quantizers : int
        Codebooks used by ``latent="dequantized"``; 8 is Moshi's setting (the config has 32).
    weights : str or None
        A local folder with the weights (``mimi:FOLDER``) instead of the Hugging Face cache.
    """
    model = load_model(
        MIMI, random_init=random_init, seed=seed, config_overrides=config_overrides,
        device=device, dtype=dtype, weights=weights,
    )  # fmt: skip
    if random_init and device != "meta":
        randomise_codebooks(model, seed)
    return MimiCodec(
        model, latent=latent, num_quantizers=num_quantizers, device=device, dtype=dtype
    )


def _factory(spec: HubSpec, codec_class: type[HubCodec], summary: str) -> Callable[..., HubCodec]:
    """A registry factory building ``codec_class`` around ``spec``'s model."""

    def make(
        *,
        random_init: bool = False,
        seed: int = 0,
        config_overrides: dict[str, Any] | None = None,
        device: str = "cpu",
        dtype: str = "float32",
        weights: str | None = None,
    ) -> HubCodec:
        model = load_model(
            spec,
            random_init=random_init,
            seed=seed,
            config_overrides=config_overrides,
            device=device,
            dtype=dtype,
            weights=weights,
        )
        return codec_class(spec.name, model, device=device, dtype=dtype)

    make.__doc__ = (
        f"{summary}\n\nOptions as for ``make_mimi`` (``config_overrides`` are "
        f"``{spec.config_class}`` fields)."
    )
    return make


make_encodec_24k = _factory(
    ENCODEC_24K,
    EncodecCodec,
    "Meta EnCodec 24 kHz (``facebook/encodec_24khz``): mono, 128-d at 75 Hz.",
)
make_encodec_48k = _factory(
    ENCODEC_48K,
    EncodecCodec,
    "Meta EnCodec 48 kHz (``facebook/encodec_48khz``): stereo, 128-d at 150 Hz, 1 s chunks.",
)
make_dac_16k = _factory(
    DAC_16K, DacCodec, "Descript DAC 16 kHz (``descript/dac_16khz``): 1024-d at 50 Hz (hop 320)."
)
make_dac_24k = _factory(
    DAC_24K, DacCodec, "Descript DAC 24 kHz (``descript/dac_24khz``): 1024-d at 75 Hz (hop 320)."
)
make_dac_44k = _factory(
    DAC_44K,
    DacCodec,
    "Descript DAC 44.1 kHz (``descript/dac_44khz``): 1024-d at 86.13 Hz (hop 512).",
)
