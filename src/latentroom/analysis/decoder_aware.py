"""Decoder-aware predictability: weigh latent dims by how much the decoder hears them.

Some latent dims vary a lot yet barely change the decoded sound ("latent junk"); raw-latent
variance ratios and R² count them fully. Two remedies, reported beside the raw numbers:

(a) **Sensitivity weighting.** For the decoder ``g: z (D, T) -> y (C, N)`` with Jacobian ``J``, the
    sensitivity of dim ``d`` is the mean over frames ``t`` of ``‖J e_{d,t}‖²``, the squared norm of
    the Jacobian-vector product along one latent coordinate: the audio energy a unit step of that
    dim at one frame produces. All ``D·T`` of them come from random output probes
    ``u ~ N(0, I)``: ``E[(Jᵀu)²] = diag(JᵀJ) = ‖J e_i‖²`` (Hutchinson's diagonal estimator in its
    vector-Jacobian form: one backward pass per probe, no forward-mode AD, so LSTM decoders
    work too). Latents scaled by ``sqrt(sensitivity)`` have ``‖Δx̃‖² ≈ ‖J Δx‖²`` (diagonal part).
(b) **Decoded features.** Log-mel frames of the decoded audio at the common frame rate, analysed
    like latents (Phase 1 on their deltas).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from latentroom.analysis.align import pool_to_rate
from latentroom.errors import ConfigError

if TYPE_CHECKING:
    from latentroom.audio.types import Audio
    from latentroom.codecs.base import Codec

logger = logging.getLogger(__name__)

N_MELS = 32  # log-mel bands of the decoded-feature analysis


@dataclass(frozen=True)
class Sensitivity:
    """Per-dim decoder sensitivity (``decoder_sensitivity``).

    Attributes
    ----------
    per_dim : np.ndarray [shape=(D,)]
        Mean over probed frames of ``‖J e_{d,t}‖²`` (audio energy per unit latent step).
    stderr : np.ndarray [shape=(D,)]
        Standard error of ``per_dim`` over probes and frames.
    n_frames : int
        Latent frames probed.
    n_probes : int
        Random output probes per segment.
    """

    per_dim: np.ndarray
    stderr: np.ndarray
    n_frames: int
    n_probes: int

    @property
    def effective_dims(self) -> float:
        """Participation ratio ``(Σ s)² / Σ s²``: D if all dims count equally, 1 if one does."""
        s = self.per_dim
        return float(s.sum() ** 2 / max(float((s**2).sum()), 1e-300))

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_dim": self.per_dim.tolist(),
            "stderr": self.stderr.tolist(),
            "n_frames": self.n_frames,
            "n_probes": self.n_probes,
            "effective_dims": self.effective_dims,
        }


def decoder_sensitivity(
    codec: Codec,
    trajectories: Iterable[np.ndarray],
    *,
    n_probes: int = 4,
    segment_frames: int = 64,
    max_frames: int = 512,
    seed: int = 0,
) -> Sensitivity:
    """Estimate each latent dim's decoder sensitivity at real latent points.

    Parameters
    ----------
    codec : Codec
        Its decoder is differentiated (``codec._decode``, the tensor-level hook every backend has).
    trajectories : iterable of np.ndarray [shape=(T_i, D)]
        Native-rate latents, read lazily in order; segments of ``segment_frames`` are cut from
        them until ``max_frames`` frames are probed.
    n_probes : int >= 1
        Random output probes per segment.
    segment_frames, max_frames : int >= 1
        Frames per decoder call, total frames probed (bounds time and memory).
    seed : int
        Seeds the probes (a torch generator; the global torch state is untouched).
    """
    import torch

    if min(n_probes, segment_frames, max_frames) < 1:
        raise ConfigError("n_probes, segment_frames and max_frames must be >= 1")
    generator = torch.Generator().manual_seed(seed)
    squares: list[np.ndarray] = []  # per segment: (n_probes, D) sums over frames of (Jᵀu)²
    n_frames = 0
    for segment in _segments(trajectories, segment_frames, max_frames):
        z = torch.from_numpy(np.ascontiguousarray(segment.T))[None].requires_grad_(True)
        y = codec._decode(z, generator=torch.Generator().manual_seed(seed))
        per_probe = []
        for p in range(n_probes):
            # Probes come from a CPU generator: the same on every device.
            u = torch.randn(y.shape, generator=generator, dtype=y.dtype).to(y.device)
            (grad,) = torch.autograd.grad(y, z, grad_outputs=u, retain_graph=p < n_probes - 1)
            per_probe.append((grad[0].double() ** 2).numpy())  # (D, T)
        squares.append(np.stack(per_probe))  # (n_probes, D, T)
        n_frames += segment.shape[0]
    if not squares:
        raise ConfigError("no latent frames to probe; give at least one non-empty trajectory")
    samples = np.concatenate([s.transpose(0, 2, 1).reshape(-1, s.shape[1]) for s in squares])
    per_dim = samples.mean(axis=0)
    stderr = samples.std(axis=0) / np.sqrt(samples.shape[0])
    return Sensitivity(per_dim, stderr, n_frames, n_probes)


def _segments(trajectories: Iterable[np.ndarray], length: int, budget: int) -> list[np.ndarray]:
    """Consecutive segments of at most ``length`` frames, ``budget`` frames in all."""
    out: list[np.ndarray] = []
    for x in trajectories:
        if budget <= 0:
            break
        for start in range(0, x.shape[0], length):
            if budget <= 0:
                return out
            part = np.asarray(x[start : start + min(length, budget)], dtype=np.float32)
            out.append(part)
            budget -= part.shape[0]
    return out


def weight_by_sensitivity(
    arrays: Sequence[np.ndarray], sensitivity: Sensitivity, *, min_relative: float = 1e-6
) -> tuple[list[np.ndarray], np.ndarray]:
    """Scale each dim by ``sqrt(sensitivity)``; drop dims the decoder ignores.

    Parameters
    ----------
    arrays : sequence of np.ndarray [shape=(T_i, D)]
    sensitivity : Sensitivity
    min_relative : float >= 0
        Dims with sensitivity below ``min_relative * max`` are dropped (a zero-variance dim would
        only add a constant to every NLL).

    Returns
    -------
    weighted : list of np.ndarray [shape=(T_i, D_kept), dtype=float32]
    kept : np.ndarray [shape=(D,), dtype=bool]
    """
    kept = kept_dims(sensitivity, min_relative=min_relative)
    scale = np.sqrt(sensitivity.per_dim[kept])
    return [(np.asarray(x)[:, kept] * scale).astype(np.float32) for x in arrays], kept


def kept_dims(sensitivity: Sensitivity, *, min_relative: float = 1e-6) -> np.ndarray:
    """Dims the decoder hears: sensitivity at least ``min_relative`` of the largest, ``(D,)``."""
    s = sensitivity.per_dim
    return np.asarray(s > min_relative * float(s.max()))


def log_mel_frames(audio: Audio, frame_rate: float, *, n_mels: int = N_MELS) -> np.ndarray:
    """Log-mel frames of ``audio`` (mixed to mono) area-averaged to ``frame_rate``.

    The log-mel (``latentroom.evaluation.spectral.log_mel``, window ``mel_n_fft(sample_rate)``)
    is taken at a hop of a quarter window, then pooled to ``frame_rate`` with ``pool_to_rate``.

    Returns
    -------
    np.ndarray [shape=(T, n_mels), dtype=float32]
    """
    from latentroom.evaluation.metrics import mel_n_fft
    from latentroom.evaluation.spectral import log_mel, mel_filterbank

    n_fft = mel_n_fft(audio.sample_rate)
    hop = n_fft // 4
    fine_rate = audio.sample_rate / hop
    if frame_rate > fine_rate:
        raise ConfigError(
            f"log-mel frames at {frame_rate:g} Hz need a hop below {hop} samples; "
            f"use a common rate at or below {fine_rate:g} Hz"
        )
    mono = np.asarray(audio.samples, dtype=np.float64).mean(axis=0)
    fine = log_mel(mono, mel_filterbank(audio.sample_rate, n_fft, n_mels), n_fft, hop)
    return pool_to_rate(fine, fine_rate, frame_rate)


def decoded_features(
    codec: Codec, corpus: Any, frame_rate: float, *, n_mels: int = N_MELS, seed: int = 0
) -> list[np.ndarray]:
    """Decode every item of a corpus store and return its log-mel frames at ``frame_rate``.

    Parameters
    ----------
    codec : Codec
        The codec that made the corpus.
    corpus : latentroom.latents.corpus.Corpus
    seed : int
        Seeds decoders that draw noise (one generator per item, seeded ``(seed, item)``).
    """
    import torch

    out = []
    for i in range(corpus.n_items):
        generator = torch.Generator().manual_seed(seed * 100_003 + i)
        audio = codec.decode(corpus.trajectory(i), generator=generator)
        out.append(log_mel_frames(audio, frame_rate, n_mels=n_mels))
    return out


def input_features(
    paths: Sequence[Any], frame_rate: float, *, n_mels: int = N_MELS
) -> list[np.ndarray]:
    """Log-mel frames of the original audio files (the reference: what the sound itself holds)."""
    from latentroom.audio.io import load_audio

    return [log_mel_frames(load_audio(p), frame_rate, n_mels=n_mels) for p in paths]
