"""What runs inside a worker process: per-process caches and the encode task.

A worker process keeps the codec it built (one model load per worker, however many items it
encodes) and the corpus stores it opened, in module-level caches keyed by what built them. The
tasks are plain module-level functions, so any engine can pickle them by reference.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from latentroom.codecs.base import Codec
    from latentroom.latents.corpus import Corpus

#: Paths reported per worker when sources are unreadable there (the message quotes the first).
_REPORTED = 5


@dataclass(frozen=True)
class CodecRecipe:
    """How a worker builds its codec: ``get_codec(name, **dict(options))``."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()

    def build(self) -> Codec:
        from latentroom.codecs.registry import get_codec

        return get_codec(self.name, **dict(self.options))


@dataclass(frozen=True)
class EncodeSettings:
    """The per-item encode settings of ``encode_corpus`` (chunking, posterior sampling)."""

    chunk_seconds: float | None
    overlap_seconds: float | None
    sample: bool
    seed: int


_ENCODERS: dict[tuple[CodecRecipe, EncodeSettings], Any] = {}
_STORES: dict[tuple[str, int], Corpus] = {}


def warm_encoder(recipe: CodecRecipe, settings: EncodeSettings) -> Any:
    """This process's item encoder for ``recipe`` and ``settings``, built on first use."""
    from latentroom.latents.corpus import item_encoder

    key = (recipe, settings)
    if key not in _ENCODERS:
        _ENCODERS[key] = item_encoder(
            recipe.build(),
            settings.chunk_seconds,
            settings.overlap_seconds,
            settings.sample,
            settings.seed,
        )
    return _ENCODERS[key]


def encode_item(
    recipe: CodecRecipe, settings: EncodeSettings, index: int, source: str, label: str | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Encode one corpus item on a worker (a worker restarted mid-run builds its codec here)."""
    return warm_encoder(recipe, settings)(index, source, label)


def build_encoder(recipe: CodecRecipe, settings: EncodeSettings) -> None:
    """Build the codec on this worker before any item.

    A codec that cannot load here (a missing extra, missing weights, no GPU) fails the run at
    once, and the load is not part of a task's time.
    """
    warm_encoder(recipe, settings)


def unreadable(paths: list[str]) -> tuple[int, list[str]]:
    """How many of ``paths`` this process cannot read, and the first few of them."""
    bad = [p for p in paths if not os.access(p, os.R_OK)]
    return len(bad), bad[:_REPORTED]


@dataclass(frozen=True)
class StoreRef:
    """A corpus store named by path, opened once per worker process on first use.

    Pickles as its path and item count, so tasks carry no array data; the count pins the
    committed items the client saw (a store being appended to reads the same on every worker).
    Behaves as an ``ItemSource`` (``latentroom.analysis.data``).
    """

    path: str
    n_items: int

    def _open(self) -> Corpus:
        key = (self.path, self.n_items)
        if key not in _STORES:
            from latentroom.latents.corpus import open_corpus

            _STORES[key] = open_corpus(Path(self.path))
        return _STORES[key]

    @property
    def frame_rate(self) -> float:
        return self._open().frame_rate

    @property
    def items(self) -> list[dict[str, Any]]:
        return self._open().items[: self.n_items]

    @property
    def offsets(self) -> np.ndarray:
        return self._open().offsets[: self.n_items + 1]

    def item(self, i: int) -> np.ndarray:
        return self._open().item(i)
