"""Export the built-in codec as an nn~ TorchScript file (Pure Data / Max), RAVE-style.

nn~ loads a scripted module and, for each name in ``get_methods()``, reads the buffer
``<name>_params = [in_channels, in_ratio, out_channels, out_ratio]``; it feeds the method
``(B, in_channels, n / in_ratio)`` tensors and expects ``(B, out_channels, n / out_ratio)``.
The conventions follow acids-ircam/nn_tilde's ``Module`` and RAVE's exporter (``sr``,
``encode_params``, ``decode_params``); this is our own module with no dependency on them.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from latentroom.codecs.builtin_config import BuiltinConfig
from latentroom.codecs.builtin_model import BuiltinVAE
from latentroom.fileio import atomic_path


class NnTildeCodec(torch.nn.Module):
    """The built-in VAE behind nn~'s method interface: ``encode``, ``decode``, ``forward``.

    ``encode`` returns the posterior mean (deterministic, unlike RAVE's sampled encode), so a
    patch plays the same way every time.
    """

    def __init__(self, model: BuiltinVAE, config: BuiltinConfig) -> None:
        super().__init__()
        dims, hop = config.code_dim, config.hop_length
        self.encoder = model.encoder
        self.decoder = model.decoder
        self.sr = config.sample_rate  # nn~ / RAVE v2 name for the model rate
        self.latent_size = dims
        self.full_latent_size = dims
        self.n_channels = 1
        self.register_buffer("encode_params", torch.tensor([1, 1, dims, hop]))
        self.register_buffer("decode_params", torch.tensor([dims, hop, 1, 1]))
        self.register_buffer("forward_params", torch.tensor([1, 1, 1, 1]))
        self.encode_input_labels = ["(signal) audio in"]
        self.encode_output_labels = [f"(signal) latent {i}" for i in range(dims)]
        self.decode_input_labels = [f"(signal) latent {i}" for i in range(dims)]
        self.decode_output_labels = ["(signal) audio out"]
        self.forward_input_labels = ["(signal) audio in"]
        self.forward_output_labels = ["(signal) audio out"]
        self._methods = ["encode", "decode", "forward"]
        self.host_sr = config.sample_rate  # the host rate nn~ reports (the model keeps ``sr``)

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Audio [shape=(B, 1, n)] -> posterior-mean latents [shape=(B, D, ceil(n / hop))]."""
        mu, _ = self.encoder(x)
        return mu

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents [shape=(B, D, T)] -> audio [shape=(B, 1, T * hop)]."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Audio [shape=(B, 1, n)] -> reconstruction [shape=(B, 1, n)] for n a multiple of hop."""
        return self.decode(self.encode(x))[..., : x.shape[-1]]

    @torch.jit.export
    def get_methods(self) -> list[str]:
        """Method names nn~ may call."""
        return self._methods

    @torch.jit.export
    def get_attributes(self) -> list[str]:
        """Settable attributes (none)."""
        names: list[str] = []
        return names

    @torch.jit.export
    def get_buffer_attributes(self) -> list[str]:
        """Attributes backed by host buffers (none)."""
        names: list[str] = []
        return names

    @torch.jit.export
    def get_sample_rate(self) -> int:
        """The rate the model runs at."""
        return self.sr

    @torch.jit.export
    def set_sample_rate(self, sample_rate: int) -> None:
        """Record the host rate nn~ reports on load; the model keeps running at ``sr``."""
        self.host_sr = sample_rate


def check_runs_on(scripted: torch.jit.ScriptModule, config: BuiltinConfig, device: str) -> None:
    """Encode and decode two hops of silence with ``scripted`` on ``device``; refuse a mismatch."""
    from latentroom.devices import resolve_device
    from latentroom.errors import CheckpointError

    scripted.to(resolve_device(device))
    x = torch.zeros(1, 1, 2 * config.hop_length, device=resolve_device(device))
    with torch.inference_mode():
        y = scripted.forward(x)
    if tuple(y.shape) != tuple(x.shape) or not bool(torch.isfinite(y).all()):
        raise CheckpointError(
            f"the scripted model returned shape {tuple(y.shape)} (or non-finite audio) for "
            f"{tuple(x.shape)} on {device}; re-train or re-load the weights"
        )


def script_codec(model: BuiltinVAE, config: BuiltinConfig) -> torch.jit.ScriptModule:
    """The scripted nn~ module for ``model`` (in eval mode)."""
    return torch.jit.script(NnTildeCodec(model, config).eval())


def export_nn_tilde(
    path: str | os.PathLike[str], model: BuiltinVAE, config: BuiltinConfig, *, device: str = "cpu"
) -> Path:
    """Script ``model`` for nn~ and save it atomically to ``path`` (a ``.ts`` file).

    The scripted module is first run once on ``device`` (a check that it works there); the file
    holds CPU weights, which every host can load (nn~ moves the model to its GPU itself).
    """
    scripted = script_codec(model, config)
    check_runs_on(scripted, config, device)
    scripted.to("cpu")
    target = Path(path)
    with atomic_path(target) as tmp:
        scripted.save(str(tmp))
    return target
