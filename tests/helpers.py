"""Small real models and signals for tests (no weights, no network)."""

from __future__ import annotations

import numpy as np
import torch

from latentroom.audio.types import Audio
from latentroom.codecs.base import Codec


class TinyConvCodec(Codec):
    """A real (if untrained) convolutional codec: strided conv encoder, transposed-conv decoder.

    Seeded weights, so every instance with the same arguments is the same model. Use it where a
    test needs *a* codec and the built-in one would be slower or is not the point.
    """

    latent_kind = "conv"

    def __init__(
        self,
        *,
        sample_rate: int = 16_000,
        channels: int = 1,
        hop_length: int = 160,
        latent_dim: int = 8,
        seed: int = 0,
        name: str = "tiny",
    ) -> None:
        self.name = name
        self.sample_rate = sample_rate
        self.channels = channels
        self.hop_length = hop_length
        self.latent_dim = latent_dim
        torch.manual_seed(seed)
        self.encoder = torch.nn.Conv1d(channels, latent_dim, hop_length, stride=hop_length)
        self.decoder = torch.nn.ConvTranspose1d(latent_dim, channels, hop_length, stride=hop_length)
        self._modules = torch.nn.ModuleList([self.encoder, self.decoder]).eval()

    def modules_for_count(self) -> torch.nn.Module:
        return self._modules

    def _encode(
        self, x: torch.Tensor, *, sample: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        pad = (-x.shape[-1]) % self.hop_length
        return self.encoder(torch.nn.functional.pad(x, (0, pad)))

    def _decode(self, z: torch.Tensor, *, generator: torch.Generator | None) -> torch.Tensor:
        return self.decoder(z)


def sine(
    freq: float = 440.0,
    seconds: float = 1.0,
    sample_rate: int = 16_000,
    channels: int = 1,
    amplitude: float = 0.5,
) -> Audio:
    """A pure tone, ``(channels, round(seconds * sample_rate))``."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    wave = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return Audio(np.tile(wave, (channels, 1)), sample_rate)


def make_tiny(random_init: bool = True, **options: object) -> TinyConvCodec:
    """Registry factory for ``TinyConvCodec``, registered as "tiny" by a conftest fixture."""
    return TinyConvCodec(**options)  # type: ignore[arg-type]


def metric_row(index: int, **metrics: float) -> dict[str, float]:
    """A loop's metric row for pass ``index``: unremarkable values, ``metrics`` overriding."""
    base = {
        "persistence": 1.0,
        "onset_deviation_ms": 0.0,
        "pulse_offset_ms": 1.0,
        "pulse_crest_db": 30.0,
        "gap_to_pulse_db": -80.0,
        "dust_per_s": 0.0,
        "flatness": 0.5,
        "entropy": 0.8,
        "centroid_hz": 3000.0,
        "hf_share": 0.1,
        "rms_dbfs": -20.0,
        "peak_dbfs": -3.0,
        "lufs": -20.0,
        "speech_share": 0.0,
        "room_gain_db": 0.0,
    }
    return {"pass": index, **base, **metrics}
