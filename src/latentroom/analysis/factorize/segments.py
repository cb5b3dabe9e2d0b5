"""Items held in memory as one frame array, cut into fixed-length segments for training and eval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentroom.analysis.data import ItemSource


@dataclass(frozen=True)
class Frames:
    """The frames of some items, concatenated.

    Attributes
    ----------
    frames : np.ndarray [shape=(N, D), dtype=float32]
    offsets : np.ndarray [shape=(n + 1,)]
        Item ``j`` (of ``items``) is ``frames[offsets[j]:offsets[j + 1]]``.
    items : np.ndarray [shape=(n,)]
        Indices of the items in the source.
    """

    frames: np.ndarray
    offsets: np.ndarray
    items: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def item(self, j: int) -> np.ndarray:
        return self.frames[self.offsets[j] : self.offsets[j + 1]]

    def segments(
        self, length: int, stride: int, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Start rows and item rows of the segments of ``length`` frames, ``stride`` apart.

        With ``rng`` each item's first start is drawn in ``[0, stride)`` (a fresh tiling every
        epoch) and the segments are shuffled; without, they start at 0 in order.
        """
        starts, rows = [], []
        for j, n in enumerate(self.lengths):
            phase = int(rng.integers(stride)) if rng is not None else 0
            local = np.arange(phase, n - length + 1, stride)
            if local.size == 0 and n >= length:
                local = np.zeros(1, dtype=np.int64)
            starts.append(self.offsets[j] + local)
            rows.append(np.full(local.size, j))
        start, row = np.concatenate(starts).astype(np.int64), np.concatenate(rows)
        if rng is not None:
            order = rng.permutation(start.size)
            start, row = start[order], row[order]
        return start, row

    def gather(self, starts: np.ndarray, length: int) -> np.ndarray:
        """Segments ``(B, length, D)`` beginning at rows ``starts``."""
        return np.take(self.frames, starts[:, None] + np.arange(length)[None, :], axis=0)


def load_frames(source: ItemSource, items: np.ndarray) -> Frames:
    """Read ``items`` of ``source`` into one float32 array."""
    arrays = [np.asarray(source.item(int(i)), dtype=np.float32) for i in items]
    offsets = np.concatenate([[0], np.cumsum([a.shape[0] for a in arrays])]).astype(np.int64)
    frames = np.concatenate(arrays) if arrays else np.zeros((0, 0), np.float32)
    return Frames(frames, offsets, np.asarray(items))
