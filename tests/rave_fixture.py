"""A tiny RAVE-style TorchScript export for tests: real convs, a sampled posterior and a PCA crop.

``export_tiny_rave`` builds ``TinyRave`` (seeded weights), scripts it and saves it, the way RAVE's
``scripts/export.py`` does through ``nn_tilde.Module``: exported ``encode``/``decode`` methods,
buffers ``encode_params = [in_ch, 1, latent_size, ratio]``, ``decode_params = [latent_size, ratio,
out_ch, 1]``, ``latent_pca``, ``latent_mean``, ``fidelity``, and the sample rate as the int
attribute ``sr`` (v2) or the buffer ``sampling_rate`` (v1). Encode samples the posterior and
decode pads the cropped dims with noise, both from the global torch RNG, as RAVE does. With
``streaming="cached"`` the first conv reads its left context from a ``CachedPadding1d`` buffer
that carries over between calls, like cached_conv's streaming exports.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn

from latentroom.codecs import get_codec
from latentroom.codecs.rave import RaveCodec

MAX_BATCH_SIZE = 4  # rows of the streaming cache (cached_conv uses 64)


class CachedPadding1d(nn.Module):
    """Left-pad with the last samples of the previous call (state kept in the ``pad`` buffer)."""

    if TYPE_CHECKING:  # buffers, declared for mypy only (TorchScript rejects these annotations)
        pad: Tensor

    def __init__(self, n_channels: int, padding: int) -> None:
        super().__init__()
        self.padding = padding
        self.register_buffer("pad", torch.zeros(MAX_BATCH_SIZE, n_channels, padding))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.pad[: x.shape[0]], x], -1)
        self.pad[: x.shape[0]].copy_(x[..., -self.padding :])
        return x


class StatefulPadding(CachedPadding1d):
    """The same carried-over state under a class name that cached_conv does not use."""


class CenteredPadding1d(nn.Module):
    """Zero-pad both sides (the offline, non-streaming counterpart of ``CachedPadding1d``)."""

    def __init__(self, padding: int) -> None:
        super().__init__()
        self.left = padding // 2
        self.right = padding - padding // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.pad(x, (self.left, self.right))


class TinyRave(nn.Module):
    """Band split, conv encoder to (mean, scale), reparametrise, PCA crop; and back.

    Parameters
    ----------
    sample_rate : int
        Stored as ``sr`` or ``sampling_rate`` (see ``rate_attr``).
    ratio : int
        Samples per latent frame; a multiple of ``n_band``.
    n_channels, target_channels : int
        Input channels of ``encode`` and output channels of ``decode``.
    full_latent_size, latent_size : int
        Posterior dims before and after the PCA crop.
    n_band : int
        Polyphase bands (RAVE's PQMF uses 16).
    streaming : "", "cached" or "stateful"
        Offline zero padding in the first conv, or a padding whose state carries over between
        calls: ``CachedPadding1d`` (cached_conv's name) or ``StatefulPadding`` (another name).
    rate_attr : "sr", "sampling_rate" or None
        How the rate is stored: v2 int attribute, v1 buffer, or not at all.
    encode_params, decode_params : list of int or None
        Override the params buffers (``[]`` leaves one out) to build broken exports.
    """

    if TYPE_CHECKING:  # buffers, declared for mypy only (TorchScript rejects these annotations)
        latent_pca: Tensor
        latent_mean: Tensor

    def __init__(
        self,
        *,
        sample_rate: int = 44_100,
        ratio: int = 2048,
        n_channels: int = 1,
        target_channels: int = 1,
        full_latent_size: int = 8,
        latent_size: int = 4,
        n_band: int = 16,
        hidden: int = 16,
        streaming: Literal["", "cached", "stateful"] = "",
        rate_attr: Literal["sr", "sampling_rate"] | None = "sr",
        encode_params: list[int] | None = None,
        decode_params: list[int] | None = None,
    ) -> None:
        super().__init__()
        stride = ratio // n_band
        self.n_band = n_band
        self.n_channels = n_channels
        self.target_channels = target_channels
        self.full_latent_size = full_latent_size
        self.latent_size = latent_size
        if rate_attr == "sr":
            self.sr = sample_rate
        elif rate_attr == "sampling_rate":
            self.register_buffer("sampling_rate", torch.tensor(sample_rate))
        pads = {"cached": CachedPadding1d, "stateful": StatefulPadding}
        pad: nn.Module = (
            pads[streaming](n_channels * n_band, 2) if streaming else CenteredPadding1d(2)
        )
        self.encoder = nn.Sequential(
            pad,
            nn.Conv1d(n_channels * n_band, hidden, 3),
            nn.LeakyReLU(0.2),
            nn.Conv1d(hidden, 2 * full_latent_size, stride, stride=stride),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose1d(full_latent_size, hidden, stride, stride=stride),
            nn.LeakyReLU(0.2),
            nn.Conv1d(hidden, target_channels * n_band, 3, padding=1),
        )
        pca = torch.linalg.qr(torch.randn(full_latent_size, full_latent_size))[0]
        self.register_buffer("latent_pca", pca)
        self.register_buffer("latent_mean", 0.1 * torch.randn(full_latent_size))
        self.register_buffer("fidelity", torch.linspace(0.5, 1.0, full_latent_size))
        params = {
            "encode_params": encode_params or [n_channels, 1, latent_size, ratio],
            "decode_params": decode_params or [latent_size, ratio, target_channels, 1],
        }
        for name, given in (("encode_params", encode_params), ("decode_params", decode_params)):
            if given != []:
                self.register_buffer(name, torch.tensor(params[name]))

    def split_bands(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, N) -> (B, C * n_band, N / n_band), a polyphase split."""
        b, c, n = x.shape
        x = x.reshape(b, c, n // self.n_band, self.n_band).permute(0, 1, 3, 2)
        return x.reshape(b, c * self.n_band, n // self.n_band)

    def merge_bands(self, y: torch.Tensor) -> torch.Tensor:
        """(B, C * n_band, M) -> (B, C, M * n_band), the inverse of ``split_bands``."""
        b, cm, m = y.shape
        y = y.reshape(b, cm // self.n_band, self.n_band, m).permute(0, 1, 3, 2)
        return y.reshape(b, cm // self.n_band, m * self.n_band)

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_channels, N) -> (B, latent_size, N / ratio); samples the posterior."""
        mean, scale = self.encoder(self.split_bands(x)).chunk(2, 1)
        z = torch.randn_like(mean) * (nn.functional.softplus(scale) + 1e-4) + mean
        z = z - self.latent_mean.unsqueeze(-1)
        z = nn.functional.conv1d(z, self.latent_pca.unsqueeze(-1))
        return z[:, : self.latent_size]

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_size, T) -> (B, target_channels, T * ratio); pads dims with noise."""
        noise = torch.randn(z.shape[0], self.full_latent_size - z.shape[1], z.shape[-1])
        z = torch.cat([z, noise], 1)
        z = nn.functional.conv1d(z, self.latent_pca.T.unsqueeze(-1))
        z = z + self.latent_mean.unsqueeze(-1)
        return self.merge_bands(self.decoder(z))

    @torch.jit.export
    def get_methods(self) -> list[str]:
        """The methods nn~ may call."""
        return ["encode", "decode", "forward"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class PlainModule(nn.Module):
    """A TorchScript module with a ``forward`` only: not a RAVE export."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def export_tiny_rave(path: Path, *, seed: int = 0, plain: bool = False, **config: object) -> Path:
    """Build ``TinyRave(**config)`` (or ``PlainModule``) with seeded weights, script and save it.

    The global torch RNG is restored afterwards, so exporting does not disturb the test.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = PlainModule() if plain else TinyRave(**config)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is what RAVE exports
        torch.jit.script(module.eval()).save(str(path))
    return path


def load_script(path: Path) -> torch.jit.ScriptModule:
    """``torch.jit.load`` on CPU without TorchScript's deprecation warning (for direct calls)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path), map_location="cpu")


def tiny_rave_codec(**config: Any) -> RaveCodec:
    """Export ``TinyRave(**config)`` to a temporary directory and load it as ``rave:PATH``.

    For fixtures that cannot use ``tmp_path`` (module scope, the codec contract test): the model
    is in memory once loaded, so the directory is removed before returning.
    """
    with tempfile.TemporaryDirectory() as folder:
        codec = get_codec(f"rave:{export_tiny_rave(Path(folder) / 'tiny_rave.ts', **config)}")
    assert isinstance(codec, RaveCodec)
    return codec
