"""The abstract ``Codec``: one encode/decode interface over every neural audio model.

Modelled on moshi's ``CompressionModel``. Subclasses implement the tensor-level ``_encode`` and
``_decode``; this base class converts input audio to the codec's format (and records the
conversion), validates latents, seeds stochastic steps and wraps results in ``Audio`` /
``LatentTrajectory``.
"""

from __future__ import annotations

import abc
import functools
import hashlib
import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from latentroom.audio.checks import check_audio
from latentroom.audio.convert import convert
from latentroom.audio.types import Audio
from latentroom.errors import InvalidLatentError
from latentroom.latents.trajectory import LatentTrajectory

if TYPE_CHECKING:
    import torch


class Codec(abc.ABC):
    """A neural audio codec seen as a map between audio and a continuous latent trajectory.

    Attributes
    ----------
    name : str
        Registry name (``mimi``, ``builtin``, ``rave:/path.ts``, ...).
    sample_rate : int
        Rate the model runs at; input is resampled to it.
    channels : int
        Channel count the model takes and returns; input is remixed to it.
    hop_length : int
        Samples per latent frame.
    latent_dim : int
        Latent dims ``D``.
    latent_kind : str
        What the latent is ("posterior-mean", "pre-quantizer", ...), stored in file sidecars.
    stochastic : bool
        True when encode can sample (VAE posterior) or decode draws noise.
    measured_dims : tuple of int
        Latent dims that are measurements of the signal, not learned (the builtin's level
        channels: each frame's log10 RMS and peak); the feedback room leaves them out of its
        noise. Empty for most codecs.
    """

    name: str
    sample_rate: int
    channels: int
    hop_length: int
    latent_dim: int
    latent_kind: str = "continuous"  # backends with a latent option set it per instance
    stochastic: ClassVar[bool] = False
    device: str = "cpu"  # torch device the model lives on (backends built with device= set it)
    dtype: str = "float32"  # model precision, one of latentroom.devices.DTYPES
    random_init_seed: int | None = None  # seed of random weights (get_codec sets it); None: trained
    measured_dims: tuple[int, ...] = ()  # dims measured, not learned (the builtin's levels)

    @property
    def frame_rate(self) -> float:
        """Exact latent frames per second, ``sample_rate / hop_length``."""
        return self.sample_rate / self.hop_length

    def n_frames(self, n_samples: int) -> int:
        """Frames produced for ``n_samples`` input samples at the codec's rate.

        The default rule pads the input up to a multiple of the hop: ``ceil(N / hop)``.
        Backends with another rule override this and document it.
        """
        return math.ceil(n_samples / self.hop_length)

    @property
    def parameter_count(self) -> int:
        """Number of model parameters (weights only, not buffers)."""
        return sum(int(p.numel()) for p in self.modules_for_count().parameters())

    @abc.abstractmethod
    def modules_for_count(self) -> torch.nn.Module:
        """The module whose parameters make up the codec."""

    @functools.cached_property
    def weights_fingerprint(self) -> str:
        """SHA-256 (hex) of the model's state dict: names, dtypes, shapes and bytes, in order.

        Equal fingerprints mean equal weights, whatever file or hub id they came from (a
        random-init model gives its seed's weights). Corpus stores record it, so resuming an
        encode with retrained or other weights is refused instead of mixing latents.
        """
        import torch

        digest = hashlib.sha256()
        for key, tensor in self.modules_for_count().state_dict().items():
            flat = tensor.detach().cpu().contiguous().reshape(-1)
            digest.update(f"{key}:{flat.dtype}:{tuple(tensor.shape)};".encode())
            digest.update(flat.view(torch.uint8).numpy())  # raw bytes, any dtype (bf16 too)
        return digest.hexdigest()

    def place(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` on the model's device, floating point in the model's dtype."""
        from latentroom.devices import torch_dtype

        return x.to(device=self.device, dtype=torch_dtype(self.dtype))

    @abc.abstractmethod
    def _encode(
        self, x: torch.Tensor, *, sample: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Map audio ``x`` [shape=(B, C, N)] at the codec's rate to latents [shape=(B, D, T)]."""

    def _encode_with_meta(
        self, x: torch.Tensor, *, sample: bool, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """``_encode`` plus JSON facts for ``meta`` (e.g. per-chunk scales); most add none."""
        return self._encode(x, sample=sample, generator=generator), {}

    @abc.abstractmethod
    def _decode(self, z: torch.Tensor, *, generator: torch.Generator | None) -> torch.Tensor:
        """Map latents ``z`` [shape=(B, D, T)] to audio [shape=(B, C, N)]."""

    def _decode_with_meta(
        self, z: torch.Tensor, meta: dict[str, Any], *, generator: torch.Generator | None
    ) -> torch.Tensor:
        """``_decode`` given the trajectory's ``meta`` too (facts ``_encode_with_meta`` stored)."""
        return self._decode(z, generator=generator)

    def prepare(self, audio: Audio) -> tuple[Audio, dict[str, Any]]:
        """Convert audio to the codec's format; return it with a record of what changed."""
        check_audio(audio, max_channels=None)
        converted = convert(audio, sample_rate=self.sample_rate, channels=self.channels)
        record = {
            "input_sample_rate": audio.sample_rate,
            "input_channels": audio.channels,
            "resampled": audio.sample_rate != self.sample_rate,
            "remixed": audio.channels != self.channels,
        }
        return converted, record

    def encode(
        self,
        audio: Audio,
        *,
        generator: torch.Generator | None = None,
        sample: bool = False,
    ) -> LatentTrajectory:
        """Encode audio to a latent trajectory.

        Parameters
        ----------
        audio : Audio
            Any rate and channel count; converted to the codec's format first.
        generator : torch.Generator or None
            Seeds the posterior sample. Giving one implies ``sample=True`` for stochastic codecs.
        sample : bool
            Sample the posterior instead of taking its mean (stochastic codecs only).

        Returns
        -------
        LatentTrajectory
            ``data`` of shape ``(self.n_frames(N'), latent_dim)`` where ``N'`` is the length
            after conversion.
        """
        import torch

        converted, record = self.prepare(audio)
        x = torch.from_numpy(np.array(converted.samples))[None]
        sample = sample or generator is not None
        with torch.inference_mode():
            z, extra = self._encode_with_meta(
                self.place(x), sample=sample and self.stochastic, generator=generator
            )
        data = z[0].transpose(0, 1).float().cpu().numpy()
        meta = {
            "hop_length": self.hop_length,
            "sample_rate": self.sample_rate,
            "latent_kind": self.latent_kind,
            "sampled": bool(sample and self.stochastic),
            "n_samples": converted.n_samples,
            "device": self.device,
            "dtype": self.dtype,
            **self.weights_meta(),
            **record,
            **extra,
        }
        return LatentTrajectory(data, self.frame_rate, self.name, meta)

    def weights_meta(self) -> dict[str, Any]:
        """``{"random_init": True, "random_init_seed": s}`` for random weights, else ``{}``.

        Written into every latent sidecar, so ``decode`` rebuilds the same random weights
        instead of looking for trained ones (and, for hub codecs, for a download).
        """
        if self.random_init_seed is None:
            return {}
        return {"random_init": True, "random_init_seed": self.random_init_seed}

    def decode(
        self, trajectory: LatentTrajectory, *, generator: torch.Generator | None = None
    ) -> Audio:
        """Decode a latent trajectory to audio at the codec's rate and channels.

        Parameters
        ----------
        trajectory : LatentTrajectory
            ``data`` of shape ``(T, latent_dim)``, all finite.
        generator : torch.Generator or None
            Seeds any noise the decoder draws, so decoding is reproducible.

        Returns
        -------
        Audio
            Shape ``(channels, N)``; ``N`` follows the backend's length rule (``T * hop`` for
            most).
        """
        import torch

        self.check_latent(trajectory)
        z = torch.from_numpy(np.array(trajectory.data)).transpose(0, 1)[None]
        with torch.inference_mode():
            y = self._decode_with_meta(self.place(z), trajectory.meta, generator=generator)
        return Audio(y[0].float().cpu().numpy(), self.sample_rate)

    def check_latent(self, trajectory: LatentTrajectory) -> None:
        """Refuse latents this codec cannot decode: wrong dim, no frames, NaN or Inf."""
        if trajectory.latent_dim != self.latent_dim:
            raise InvalidLatentError(
                f"codec {self.name!r} decodes {self.latent_dim}-d latents; got "
                f"{trajectory.latent_dim}-d (from codec {trajectory.codec or 'unknown'!r}); "
                "decode with the codec that made them"
            )
        if trajectory.n_frames == 0:
            raise InvalidLatentError("latent trajectory has no frames; nothing to decode")
        finite = np.isfinite(trajectory.data)
        if not finite.all():
            rows = np.flatnonzero(~finite.all(axis=1))
            raise InvalidLatentError(
                f"latents hold {int((~finite).sum())} NaN/Inf values (first at frame {rows[0]}); "
                "fix them before decoding"
            )

    def describe(self) -> dict[str, Any]:
        """Facts for tables and manifests."""
        return {
            "name": self.name,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "hop_length": self.hop_length,
            "frame_rate": self.frame_rate,
            "latent_dim": self.latent_dim,
            "latent_kind": self.latent_kind,
            "stochastic": self.stochastic,
            "device": self.device,
            "dtype": self.dtype,
            "measured_dims": list(self.measured_dims),
        }
