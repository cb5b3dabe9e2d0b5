"""ACE-Step 1.5's VAE (diffusers ``AutoencoderOobleck``) as a ``Codec``: 48 kHz stereo, 64-d, 25 Hz.

T-from-N rule: the input is zero-padded to a multiple of the hop (1920), so ``T = ceil(N / 1920)``;
``T`` frames decode to ``T * 1920`` samples. Long inputs are encoded and decoded in overlapping
tiles (ACE-Step's own sizes: 30 s encode tiles with 2 s overlap, 512-frame decode tiles with
64 frames overlap) so memory stays bounded; tile edges are frame-aligned.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from latentroom.codecs.hf_models import HubCodec, fit_length, pad_to_hop
from latentroom.codecs.hub import build_random, load_pretrained, merge_config, require
from latentroom.errors import ConfigError

if TYPE_CHECKING:
    import torch

REPO_ID = "ACE-Step/Ace-Step1.5"
SUBFOLDER = "vae"

#: ``vae/config.json`` of ACE-Step/Ace-Step1.5 (hop 2*4*4*6*10 = 1920).
PUBLISHED_CONFIG: dict[str, Any] = {
    "sampling_rate": 48_000,
    "audio_channels": 2,
    "encoder_hidden_size": 128,  # encoder output: 64 means + 64 scales
    "decoder_channels": 128,
    "decoder_input_channels": 64,  # the latent dim
    "channel_multiples": [1, 2, 4, 8, 16],
    "downsampling_ratios": [2, 4, 4, 6, 10],
}


class AceStepVae(HubCodec):
    """The VAE posterior: mean by default, a sample under a generator (or ``sample=True``).

    Parameters
    ----------
    model : diffusers.AutoencoderOobleck
        Loaded or random-init model.
    device : str
        Torch device the model lives on.
    encode_tile_frames, encode_overlap_frames : int > 0
        Encode tiles of this many frames (times the hop in samples), overlapping by this many
        frames on each side; inputs up to one tile are encoded whole.
    decode_tile_frames, decode_overlap_frames : int > 0
        The same for decoding, in latent frames.
    """

    latent_kind = "posterior-mean"
    stochastic = True

    def __init__(
        self,
        model: Any,
        *,
        device: str = "cpu",
        dtype: str = "float32",
        encode_tile_frames: int = 750,
        encode_overlap_frames: int = 50,
        decode_tile_frames: int = 512,
        decode_overlap_frames: int = 64,
    ) -> None:
        _check_tiles("encode", encode_tile_frames, encode_overlap_frames)
        _check_tiles("decode", decode_tile_frames, decode_overlap_frames)
        super().__init__("acestep-vae", model, device=device, dtype=dtype)
        config = model.config
        self.sample_rate = int(config.sampling_rate)
        self.channels = int(config.audio_channels)
        self.hop_length = int(model.hop_length)
        self.latent_dim = int(config.decoder_input_channels)
        self.encode_tiles = (encode_tile_frames, encode_overlap_frames)
        self.decode_tiles = (decode_tile_frames, decode_overlap_frames)

    def _encode(
        self, x: torch.Tensor, *, sample: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        from diffusers.models.autoencoders.autoencoder_oobleck import (
            OobleckDiagonalGaussianDistribution,
        )

        x = pad_to_hop(self.place(x), self.hop_length)
        h = tiled(self.model.encoder, x, *self.encode_tiles, unit=self.hop_length)
        posterior = OobleckDiagonalGaussianDistribution(h)
        if sample:
            return posterior.sample(generator=generator)
        return posterior.mean

    def _decode(self, z: torch.Tensor, *, generator: torch.Generator | None) -> torch.Tensor:
        y = tiled(self.model.decoder, self.place(z), *self.decode_tiles, unit=1)
        return fit_length(y, z.shape[-1] * self.hop_length)


def tiled(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    tile: int,
    overlap: int,
    *,
    unit: int,
) -> torch.Tensor:
    """``fn`` over overlapping windows of the last axis of ``x``, each cut back to its core.

    ``x`` [shape=(B, C, n * unit)] holds ``n`` units (frames) of ``unit`` samples. Up to ``tile``
    units go through ``fn`` whole; longer inputs go in cores of ``tile - 2 * overlap`` units, each
    with ``overlap`` units of context either side, and ``fn``'s output is cut back to the core in
    proportion. This is diffusers' ``AutoencoderOobleck`` tiling (0.38+); it lives here so that
    diffusers 0.37, which has none, computes the same thing.
    """
    import torch

    n = x.shape[-1] // unit
    if n <= tile:
        return fn(x)
    stride = tile - 2 * overlap
    cores = []
    for core_start in range(0, n, stride):
        core_end = min(core_start + stride, n)
        start, end = max(0, core_start - overlap), min(n, core_end + overlap)
        y = fn(x[..., start * unit : end * unit])
        per_unit = y.shape[-1] / (end - start)
        cores.append(
            y[..., round((core_start - start) * per_unit) : round((core_end - start) * per_unit)]
        )
    return torch.cat(cores, dim=-1)


def _check_tiles(which: str, tile_frames: int, overlap_frames: int) -> None:
    if overlap_frames < 1 or tile_frames <= 2 * overlap_frames:
        raise ConfigError(
            f"{which}_tile_frames={tile_frames} must exceed twice {which}_overlap_frames="
            f"{overlap_frames} (>= 1); e.g. 750 and 50"
        )


def make_acestep_vae(
    *,
    random_init: bool = False,
    seed: int = 0,
    config_overrides: dict[str, Any] | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    encode_tile_frames: int = 750,
    encode_overlap_frames: int = 50,
    decode_tile_frames: int = 512,
    decode_overlap_frames: int = 64,
    weights: str | None = None,
) -> AceStepVae:
    """ACE-Step 1.5 VAE from ``ACE-Step/Ace-Step1.5`` (folder ``vae``), or random init.

    Parameters
    ----------
    random_init : bool
        Build the published architecture with random weights drawn from ``seed``.
    seed : int
        Seed of the random weights (random init only).
    config_overrides : dict or None
        ``AutoencoderOobleck`` arguments replacing the published ones (random init only).
    device : str
        Torch device; "meta" builds a weightless model (parameter counts).
    dtype : {"float32", "bfloat16", "float16"}
        Model precision; latents and audio come back as float32 either way.
    encode_tile_frames, encode_overlap_frames, decode_tile_frames, decode_overlap_frames : int
        Tiling (see ``AceStepVae``); the defaults are ACE-Step's.
    weights : str or None
        A local folder holding the VAE (e.g. ``checkpoints/vae`` of an ACE-Step install:
        ``acestep-vae:FOLDER``) instead of the Hugging Face cache.
    """
    diffusers = require("diffusers", "vae")
    model_class = diffusers.AutoencoderOobleck
    allowed = set(inspect.signature(model_class.__init__).parameters) - {"self"}
    values = merge_config(
        PUBLISHED_CONFIG, config_overrides, random_init=random_init, allowed=allowed
    )
    if weights is not None and random_init:
        raise ConfigError(f"acestep-vae:{weights} loads trained weights; leave out --random-init")
    if random_init:
        model = build_random(lambda: model_class(**values), seed=seed, device=device, dtype=dtype)
    else:
        model = load_pretrained(
            model_class.from_pretrained,
            REPO_ID,
            codec="acestep-vae",
            device=device,
            dtype=dtype,
            subfolder=SUBFOLDER,
            folder=weights,
        )
    return AceStepVae(
        model,
        device=device,
        dtype=dtype,
        encode_tile_frames=encode_tile_frames,
        encode_overlap_frames=encode_overlap_frames,
        decode_tile_frames=decode_tile_frames,
        decode_overlap_frames=decode_overlap_frames,
    )
