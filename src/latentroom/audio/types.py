"""The frozen ``Audio`` value: samples with the sample rate that belongs to them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentroom.errors import InvalidAudioError

MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 384_000


@dataclass(frozen=True, eq=False)
class Audio:
    """Multichannel audio; the rate always travels with the samples.

    Parameters
    ----------
    samples : np.ndarray [shape=(C, N), dtype=float32]
        Channels first. A 1-D array is taken as mono ``(1, N)``. Stored read-only.
    sample_rate : int in [1000, 384000]
        Samples per second.
    """

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float32)
        if samples.ndim == 1:
            samples = samples[np.newaxis, :]
        if samples.ndim != 2:
            raise InvalidAudioError(
                f"audio samples must have shape (channels, samples); got shape {samples.shape}"
            )
        rate = int(self.sample_rate)
        if rate != self.sample_rate or not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise InvalidAudioError(
                f"sample rate {self.sample_rate} Hz is outside "
                f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz"
            )
        if samples is self.samples or np.shares_memory(samples, self.samples):
            samples = samples.copy()
        samples.setflags(write=False)
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "sample_rate", rate)

    @property
    def channels(self) -> int:
        """Number of channels ``C``."""
        return int(self.samples.shape[0])

    @property
    def n_samples(self) -> int:
        """Number of samples per channel ``N``."""
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.sample_rate

    def with_samples(self, samples: np.ndarray) -> Audio:
        """Return new audio with other samples at the same rate."""
        return Audio(samples, self.sample_rate)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Audio):
            return NotImplemented
        return self.sample_rate == other.sample_rate and np.array_equal(self.samples, other.samples)

    __hash__ = None  # type: ignore[assignment]  # equal by value, but holds an array
