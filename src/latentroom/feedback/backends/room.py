"""``room:CODEC``: a codec as Lucier's room (encode, mix with noise in latent space, decode)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from latentroom.feedback.backends.base import Backend, Params, fit_length, reject_options
from latentroom.feedback.metrics import latent_scale

if TYPE_CHECKING:
    from latentroom.audio.types import Audio
    from latentroom.codecs.base import Codec


class RoomBackend(Backend):
    """One pass through a codec's latent space, variance-preserving noise at ``strength``.

    1. encode the input to latents ``z`` [shape=(T, D)] (the posterior mean: deterministic);
    2. ``sigma`` [shape=(D,)] = the latent scale of ``z``: per-dim std over frames, floored at
       1e-3 of its mean (``latent_scale``);
    3. ``z' = gain * (sqrt(1 - s) * z + sqrt(s) * sigma * eps)``, ``eps ~ N(0, 1)`` drawn from a
       ``torch.Generator`` seeded with the pass seed, ``s`` the strength: a zero-mean ``z`` keeps
       its per-dim variance at gain 1. The codec's ``measured_dims`` (the builtin's level
       channels) pass unchanged: mixed towards 0, a log10 level of about -2 would rise towards
       full scale pass after pass;
    4. decode ``z'`` (same generator for any decoder noise) and cut or zero-pad the result to
       the input's duration at the codec's rate.

    ``strength`` here is the share of latent variance replaced by noise (0: the codec's plain
    reconstruction, 1: decoded noise of the input's scale). Prompt, guidance and steps mean
    nothing to a codec: the engine warns about them.
    """

    honoured = frozenset({"strength", "gain"})
    defaults: ClassVar[Params] = {"strength": 0.5, "gain": 1.0}

    def __init__(self, codec: Codec, *, name: str | None = None) -> None:
        self.codec = codec
        self.name = name or f"room:{codec.name}"

    def process(self, audio: Audio, params: Params, *, seed: int) -> Audio:
        import torch

        used = self.used_params(params)
        strength, gain = float(used["strength"]), float(used["gain"])
        assert self.codec is not None  # set in __init__
        generator = torch.Generator().manual_seed(seed)
        trajectory = self.codec.encode(audio)
        z = trajectory.data.astype(np.float64)
        eps = torch.randn(z.shape, generator=generator, dtype=torch.float64).numpy()
        mixed = gain * (math.sqrt(1.0 - strength) * z + math.sqrt(strength) * latent_scale(z) * eps)
        measured = list(self.codec.measured_dims)
        mixed[:, measured] = z[:, measured]
        decoded = self.codec.decode(
            trajectory.with_data(mixed.astype(np.float32)), generator=generator
        )
        n_samples = round(audio.n_samples * self.codec.sample_rate / audio.sample_rate)
        return decoded.with_samples(fit_length(decoded.samples, n_samples))

    def describe(self) -> dict[str, Any]:
        assert self.codec is not None
        return {**super().describe(), "codec": self.codec.describe()}


def make_room(
    codec_name: str, *, device: str = "cpu", dtype: str = "float32", **options: Any
) -> RoomBackend:
    """Registry factory for ``room:CODEC``: builds ``get_codec(codec_name)`` on ``device``.

    Raises
    ------
    ConfigError
        Other options given (the room takes only device and dtype) or an unknown codec.
    DeviceError
        A device that is not here, or one / a dtype the codec cannot run in.
    BackendUnavailableError, CheckpointError
        The codec cannot be loaded here.
    """
    reject_options(f"room:{codec_name}", options, ("device", "dtype"))
    from latentroom.codecs.registry import get_codec

    return RoomBackend(get_codec(codec_name, device=device, dtype=dtype))
