"""The transformers codec models wrapped as ``Codec``: Mimi, EnCodec and DAC (see ``hf_codecs``)."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any, Literal

from latentroom.codecs.base import Codec
from latentroom.codecs.compat import (
    encodec_hop_length,
    mimi_decode,
    mimi_encode,
    mimi_frame_size,
)
from latentroom.errors import ConfigError

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

MimiLatent = Literal["raw", "projected", "dequantized"]
MIMI_LATENTS = ("raw", "projected", "dequantized")


def pad_to_hop(x: torch.Tensor, hop_length: int) -> torch.Tensor:
    """Zero-pad the last axis of ``x`` [shape=(B, C, N)] up to a multiple of ``hop_length``."""
    import torch.nn.functional as F

    return F.pad(x, (0, (-x.shape[-1]) % hop_length))


def fit_length(y: torch.Tensor, n_samples: int) -> torch.Tensor:
    """Trim or zero-pad the last axis of ``y`` to ``n_samples``."""
    import torch.nn.functional as F

    return F.pad(y, (0, n_samples - y.shape[-1])) if y.shape[-1] < n_samples else y[..., :n_samples]


class HubCodec(Codec):
    """Shared parts of the hub-loaded backends: the model, its device, parameter counting."""

    def __init__(self, name: str, model: Any, *, device: str, dtype: str = "float32") -> None:
        from latentroom.devices import check_dtype, resolve_device

        self.name = name
        self.model = model
        self.device = device if device == "meta" else resolve_device(device)
        self.dtype = check_dtype(dtype)

    def modules_for_count(self) -> torch.nn.Module:
        return self.model


class MimiCodec(HubCodec):
    """Kyutai Mimi: SEANet + transformer encoder, stride-2 downsample to 12.5 Hz, 512-d.

    ``latent`` picks the continuous view: ``raw`` (the downsample output, what the quantizer
    sees), ``projected`` (the sum of both quantizer branches' ``output_proj(input_proj(z))``,
    i.e. the quantizer with its codebooks bypassed) or ``dequantized`` (``num_quantizers``
    residual codebooks applied and summed back to 512-d).
    """

    stochastic = False

    def __init__(
        self,
        model: Any,
        *,
        latent: MimiLatent,
        num_quantizers: int,
        device: str,
        dtype: str = "float32",
    ) -> None:
        super().__init__("mimi", model, device=device, dtype=dtype)
        config = model.config
        if latent not in MIMI_LATENTS:
            raise ConfigError(f"mimi latent {latent!r} is unknown; choose one of {MIMI_LATENTS}")
        lowest, highest = config.num_semantic_quantizers, config.num_quantizers
        if not lowest <= num_quantizers <= highest:
            raise ConfigError(
                f"mimi num_quantizers={num_quantizers} is outside {lowest}..{highest}; "
                "the published setting is 8"
            )
        self.sample_rate = int(config.sampling_rate)
        self.channels = int(config.audio_channels)
        self.hop_length = mimi_frame_size(config)
        self.latent_dim = int(config.hidden_size)
        self.latent = latent
        self.num_quantizers = num_quantizers
        self.latent_kind = {
            "raw": "pre-quantizer",
            "projected": "quantizer-projections",
            "dequantized": f"dequantized-{num_quantizers}q",
        }[latent]

    def _encode(
        self, x: torch.Tensor, *, sample: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        z = mimi_encode(self.model, self.place(x))
        quantizer = self.model.quantizer
        if self.latent == "projected":
            semantic = _project(quantizer.semantic_residual_vector_quantizer, z)
            return semantic + _project(quantizer.acoustic_residual_vector_quantizer, z)
        if self.latent == "dequantized":
            codes = quantizer.encode(z, self.num_quantizers).transpose(0, 1)  # [B, K, T]
            return quantizer.decode(codes)
        return z

    def _decode(self, z: torch.Tensor, *, generator: torch.Generator | None) -> torch.Tensor:
        y = mimi_decode(self.model, self.place(z))
        return fit_length(y, z.shape[-1] * self.hop_length)


def _project(branch: Any, z: torch.Tensor) -> torch.Tensor:
    """``output_proj(input_proj(z))`` of one residual quantizer (identity when it has none)."""
    if branch.input_proj is None:
        return z
    return branch.output_proj(branch.input_proj(z))


class EncodecCodec(HubCodec):
    """Meta EnCodec: SEANet encoder output (128-d), before the residual quantizer.

    Models whose config sets ``chunk_length_s`` and ``normalize`` (the 48 kHz one) encode
    frame-aligned chunks of ``chunk_length_s`` separately, each divided by its RMS as the model
    does; the scales go into ``meta["chunk_scales"]`` and decoding multiplies them back, chunk by
    chunk, cross-fading over the configured overlap. Latents without scales (synthesised ones)
    decode at the normalised level.
    """

    latent_kind = "pre-quantizer"

    def __init__(self, name: str, model: Any, *, device: str, dtype: str = "float32") -> None:
        super().__init__(name, model, device=device, dtype=dtype)
        config = model.config
        self.sample_rate = int(config.sampling_rate)
        self.channels = int(config.audio_channels)
        self.hop_length = encodec_hop_length(config)
        self.latent_dim = int(config.hidden_size)
        self.normalize = bool(config.normalize)
        self.chunk_frames = self._chunk_frames(config)
        overlap = float(config.overlap or 0.0) * self.chunk_frames
        self.overlap_frames = math.ceil(overlap) if self.chunk_frames else 0
        if self.normalize:
            self.latent_kind = "pre-quantizer (per-chunk RMS-normalised input)"

    def _chunk_frames(self, config: Any) -> int:
        """Frames per chunk (0: the whole input is one chunk)."""
        if config.chunk_length is None:
            return 0
        if config.chunk_length % self.hop_length:
            raise ConfigError(
                f"{self.name}: chunk length {config.chunk_length} samples is not a multiple of the "
                f"hop {self.hop_length}; pick chunk_length_s so that it is"
            )
        return int(config.chunk_length // self.hop_length)

    def _encode(
        self, x: torch.Tensor, *, sample: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        return self._encode_with_meta(x, sample=sample, generator=generator)[0]

    def _encode_with_meta(
        self, x: torch.Tensor, *, sample: bool, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        import torch

        x = self.place(x)
        step = self.chunk_frames * self.hop_length or x.shape[-1]
        latents, scales = [], []
        for start in range(0, x.shape[-1], step):
            chunk = x[..., start : start + step]
            scale = self._rms(chunk) if self.normalize else 1.0
            latents.append(self.model.encoder(chunk / scale))
            scales.append(scale)
        extra: dict[str, Any] = {}
        if self.normalize:
            extra = {"chunk_frames": self.chunk_frames, "chunk_scales": scales}
        return torch.cat(latents, dim=-1), extra

    @staticmethod
    def _rms(chunk: torch.Tensor) -> float:
        """RMS of the channel mix, plus 1e-8 (EnCodec's normalisation; batch of one)."""
        mono = chunk.mean(dim=1)
        return float(mono.pow(2).mean().sqrt()) + 1e-8

    def _decode(self, z: torch.Tensor, *, generator: torch.Generator | None) -> torch.Tensor:
        return self._decode_with_meta(z, {}, generator=generator)

    def _decode_with_meta(
        self, z: torch.Tensor, meta: dict[str, Any], *, generator: torch.Generator | None
    ) -> torch.Tensor:
        z = self.place(z)
        if not self.chunk_frames:
            return self.model.decoder(z)
        step = self.chunk_frames
        starts = range(0, z.shape[-1], step)
        scales = self._scales_for(meta, len(starts))
        pieces = [
            self.model.decoder(z[..., start : start + step + self.overlap_frames]) * scale
            for start, scale in zip(starts, scales, strict=True)
        ]
        y = self.model._linear_overlap_add(pieces, step * self.hop_length)
        return fit_length(y, z.shape[-1] * self.hop_length)

    def _scales_for(self, meta: dict[str, Any], n_chunks: int) -> list[float]:
        """Per-chunk scales stored at encode time, or 1.0 each when they do not fit."""
        scales = meta.get("chunk_scales")
        if (
            self.normalize
            and isinstance(scales, list)
            and len(scales) == n_chunks
            and meta.get("chunk_frames") == self.chunk_frames
        ):
            return [float(s) for s in scales]
        if self.normalize:
            logger.warning(
                "%s: latents carry no matching chunk_scales; decoding at the normalised level",
                self.name,
            )
        return [1.0] * n_chunks


class DacCodec(HubCodec):
    """Descript DAC: encoder output (1024-d) before the residual quantizer's projections.

    The 16 / 24 kHz decoders (a stride-5 layer) return ``T * hop - 8`` samples; the missing
    samples are the last ones, so the output is zero-padded at the end to ``T * hop``.
    """

    latent_kind = "pre-quantizer"

    def __init__(self, name: str, model: Any, *, device: str, dtype: str = "float32") -> None:
        super().__init__(name, model, device=device, dtype=dtype)
        config = model.config
        self.sample_rate = int(config.sampling_rate)
        self.channels = 1
        self.hop_length = int(config.hop_length)
        self.latent_dim = int(config.hidden_size)

    def _encode(
        self, x: torch.Tensor, *, sample: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        return self.model.encoder(pad_to_hop(self.place(x), self.hop_length))

    def _decode(self, z: torch.Tensor, *, generator: torch.Generator | None) -> torch.Tensor:
        y = self.model.decoder(self.place(z))
        return fit_length(y, z.shape[-1] * self.hop_length)


def randomise_codebooks(model: Any, seed: int) -> None:
    """Draw random-init codebook centroids from N(0, 1).

    transformers initialises them to zero, which would make every dequantized latent zero.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "embed_sum") and hasattr(module, "cluster_usage"):
                shape = module.embed_sum.shape
                module.embed_sum.copy_(torch.randn(shape, generator=generator))
                module.cluster_usage.fill_(1.0)
                module._embed = None  # drop the cached centroids
