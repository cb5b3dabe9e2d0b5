"""Where transformers 4.57 and 5.x differ for the hub codecs, bridged in one place.

latentroom runs on two stacks (see docs/install.md): transformers 5.x (the main environment) and
transformers 4.51–4.57 with diffusers 0.37 (what ACE-Step 1.5 pins). The codec adapters call these
functions instead of the version-specific APIs; each names the versions on either side (found by
reading each release's source). diffusers needs nothing here: ``acestep_vae`` calls only the
``AutoencoderOobleck`` parts that 0.37 and 0.42 share and tiles long inputs itself.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch

MimiLayout = Literal["split", "flat"]


def config_fields(config_class: type) -> frozenset[str]:
    """The field names a transformers config class accepts.

    From transformers 5.4 configs are (strict) dataclasses; before (4.x, 5.0-5.3) they are plain
    classes whose fields are the named ``__init__`` arguments (``dataclasses.fields`` raises
    ``TypeError`` on them).
    """
    if dataclasses.is_dataclass(config_class):
        return frozenset(f.name for f in dataclasses.fields(config_class))
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    parameters = inspect.signature(config_class).parameters.values()
    return frozenset(p.name for p in parameters if p.kind not in variadic)


def config_errors() -> tuple[type[Exception], ...]:
    """What building a config with bad values raises.

    Dataclass configs (transformers >= 5.4) validate in huggingface-hub's strict dataclasses
    (``StrictDataclassError``); older ones raise ``ValueError`` / ``TypeError`` from ``__init__``.
    """
    from huggingface_hub.errors import StrictDataclassError  # hub >= 0.34 has it, 4.57's floor

    return (TypeError, ValueError, StrictDataclassError)


def mimi_frame_size(config: Any) -> int:
    """Samples per Mimi frame: ``config.frame_size`` from transformers 4.57 on; before it, the
    rate over the frame rate (1920 for the published 24 kHz / 12.5 Hz)."""
    size = getattr(config, "frame_size", None)
    return int(size) if size else round(config.sampling_rate / config.frame_rate)


def encodec_hop_length(config: Any) -> int:
    """Samples per EnCodec frame: ``config.hop_length`` from transformers 4.57 on; before it, the
    product of the encoder's ratios (320 for both published models)."""
    import math

    hop = getattr(config, "hop_length", None)
    return int(hop) if hop else math.prod(config.upsampling_ratios)


def mimi_layout(model: Any) -> MimiLayout:
    """How a ``MimiModel`` groups its encoder and decoder.

    ``"split"`` (transformers >= 5.21): ``model.encoder`` is a ``MimiEncoderModel`` (SEANet,
    encoder transformer and downsample; returns ``.latents``) and ``model.decoder`` its mirror
    (returns ``.audio_values``). ``"flat"`` (4.x up to 5.20): ``model.encoder`` / ``.decoder`` are
    the SEANet stacks only, beside ``encoder_transformer``, ``downsample``, ``upsample`` and
    ``decoder_transformer``.
    """
    return "split" if hasattr(model.encoder, "encoder_transformer") else "flat"


def mimi_encode(model: Any, x: torch.Tensor) -> torch.Tensor:
    """The pre-quantizer latent [shape=(B, hidden_size, T)] of audio ``x`` [shape=(B, 1, N)].

    The flat path is the first half of 4.57's ``MimiModel._encode_frame`` (no streaming cache).
    """
    if mimi_layout(model) == "split":
        return model.encoder(x).latents
    h = model.encoder(x)
    h = model.encoder_transformer(h.transpose(1, 2), use_cache=False, return_dict=False)[0]
    return model.downsample(h.transpose(1, 2))


def mimi_decode(model: Any, z: torch.Tensor) -> torch.Tensor:
    """Audio [shape=(B, 1, N)] from the latent ``z`` [shape=(B, hidden_size, T)].

    The flat path is 4.57's ``MimiModel._decode_frame`` after dequantization.
    """
    if mimi_layout(model) == "split":
        return model.decoder(z).audio_values
    h = model.upsample(z)
    h = model.decoder_transformer(h.transpose(1, 2), use_cache=False, return_dict=False)[0]
    return model.decoder(h.transpose(1, 2))


def hub_cache() -> str:
    """The Hugging Face cache folder that ``weights_cached`` looks in, for ``from_pretrained``.

    transformers 4.x copies huggingface-hub's cache path when it is imported; 5.x and diffusers
    read it at each call. Passing it explicitly makes every version load from the folder that was
    checked.
    """
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)
