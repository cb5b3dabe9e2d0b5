"""The frozen ``LatentTrajectory`` value: T frames of D latent dims at an exact frame rate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentroom.errors import InvalidLatentError


@dataclass(frozen=True, eq=False)
class LatentTrajectory:
    """A latent sequence as a codec produced it (or as something synthesised it).

    Parameters
    ----------
    data : np.ndarray [shape=(T, D), dtype=float32]
        One row per latent frame. Stored read-only.
    frame_rate : float > 0
        Frames per second, exactly ``sample_rate / hop_length`` of the codec (never rounded).
    codec : str
        Registry name of the codec whose latent space this is ("" when unknown).
    meta : dict
        JSON-serialisable facts: ``hop_length``, ``sample_rate``, ``latent_kind``, ``source``,
        the input conversion the codec applied, ...
    """

    data: np.ndarray
    frame_rate: float
    codec: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = np.asarray(self.data, dtype=np.float32)
        if data.ndim != 2:
            raise InvalidLatentError(
                f"latent data must have shape (frames, dims); got shape {data.shape}"
            )
        rate = float(self.frame_rate)
        if not np.isfinite(rate) or rate <= 0:
            raise InvalidLatentError(f"frame rate must be a positive number; got {self.frame_rate}")
        if data is self.data or np.shares_memory(data, self.data):
            data = data.copy()
        data.setflags(write=False)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "frame_rate", rate)
        object.__setattr__(self, "meta", dict(self.meta))

    @property
    def n_frames(self) -> int:
        """Number of frames ``T``."""
        return int(self.data.shape[0])

    @property
    def latent_dim(self) -> int:
        """Number of latent dims ``D``."""
        return int(self.data.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds, ``T / frame_rate``."""
        return self.n_frames / self.frame_rate

    def with_data(self, data: np.ndarray, **meta: Any) -> LatentTrajectory:
        """Return a trajectory in the same space with other frames (and extra meta entries)."""
        return LatentTrajectory(data, self.frame_rate, self.codec, {**self.meta, **meta})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatentTrajectory):
            return NotImplemented
        return (
            self.frame_rate == other.frame_rate
            and self.codec == other.codec
            and self.meta == other.meta
            and np.array_equal(self.data, other.data)
        )

    __hash__ = None  # type: ignore[assignment]  # equal by value, but holds an array
