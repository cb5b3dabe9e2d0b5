"""Corpus access for analyses: item sources, input checks, splits and chunked context windows."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from latentroom.errors import ConfigError, InvalidLatentError

logger = logging.getLogger(__name__)


class ItemSource(Protocol):
    """What the analyses read: a corpus store, a folder of ``.npy`` files, or arrays in memory."""

    @property
    def n_items(self) -> int: ...

    @property
    def frame_rate(self) -> float: ...

    @property
    def items(self) -> list[dict[str, Any]]: ...

    def item(self, i: int) -> np.ndarray: ...


@dataclass
class ArraySource:
    """Trajectories held in memory (tests, synthetic processes, a folder of ``.npy`` files).

    Parameters
    ----------
    arrays : list of np.ndarray [shape=(T_i, D)]
        One trajectory per item.
    frame_rate : float > 0
        Frames per second shared by all items.
    items : list of dict
        Per-item metadata ("source", "group"); defaults to ``{"source": "item_<i>"}``.
    """

    arrays: list[np.ndarray]
    frame_rate: float
    items: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.items:
            self.items = [{"source": f"item_{i}"} for i in range(len(self.arrays))]
        if len(self.items) != len(self.arrays):
            raise ConfigError(
                f"got {len(self.arrays)} arrays but {len(self.items)} metadata entries; "
                "pass one metadata dict per array"
            )

    @property
    def n_items(self) -> int:
        return len(self.arrays)

    @property
    def offsets(self) -> np.ndarray:
        """Item boundaries [shape=(n + 1,)], as in a corpus store."""
        return np.concatenate([[0], np.cumsum([len(a) for a in self.arrays])]).astype(np.int64)

    def item(self, i: int) -> np.ndarray:
        return np.asarray(self.arrays[i], dtype=np.float32)


def open_source(path: str | Path, *, frame_rate: float | None = None) -> ItemSource:
    """Open a corpus store (zarr directory) or a folder of ``.npy`` trajectories.

    Parameters
    ----------
    path : str or Path
        A corpus written by ``latentroom encode`` or a folder of ``NAME.npy`` (+ sidecars).
    frame_rate : float or None
        Frame rate for ``.npy`` files without a sidecar.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidLatentError(f"corpus {path} does not exist; pass a corpus store or a folder")
    npy_files = sorted(path.glob("*.npy")) if path.is_dir() else []
    if path.is_dir() and not npy_files:
        from latentroom.latents.corpus import open_corpus

        return open_corpus(path)
    if not npy_files:
        npy_files = [path]
    from latentroom.latents.files import load_latents

    trajectories = [load_latents(f, frame_rate=frame_rate) for f in npy_files]
    rates = {t.frame_rate for t in trajectories}
    if len(rates) > 1:
        raise InvalidLatentError(
            f"the .npy files in {path} have different frame rates {sorted(rates)}; "
            "analyse one codec's latents at a time"
        )
    metas = [{"source": str(f), "group": ""} for f in npy_files]
    return ArraySource([t.data for t in trajectories], rates.pop(), metas)


@dataclass(frozen=True)
class ItemScan:
    """What one pass over the items found (``scan_items``).

    Attributes
    ----------
    latent_dim : int
        ``D``, shared by every item.
    lengths : np.ndarray [shape=(n_items,)]
        Frames per item.
    usable : np.ndarray [shape=(n_usable,)]
        Indices of items long enough for the windows.
    n_short : int
        Items skipped because they are shorter than ``context + max_offset``.
    n_nonfinite_frames : int
        Frames holding NaN or Inf (their windows are dropped).
    """

    latent_dim: int
    lengths: np.ndarray
    usable: np.ndarray
    n_short: int
    n_nonfinite_frames: int


def item_lengths(source: ItemSource) -> np.ndarray:
    """Frames per item, from the source's ``offsets`` when it has them (no data is read)."""
    offsets = getattr(source, "offsets", None)
    if offsets is not None:
        return np.diff(np.asarray(offsets, dtype=np.int64))
    return np.array([source.item(i).shape[0] for i in range(source.n_items)], dtype=np.int64)


def scan_items(
    source: ItemSource,
    *,
    min_length: int,
    drop_nonfinite: bool = False,
    visit: Callable[[int, np.ndarray], None] | None = None,
) -> ItemScan:
    """Check every item once: consistent dims, finite values, length; refuse bad input.

    Parameters
    ----------
    visit : callable or None
        Called as ``visit(i, x)`` with every item read, so a caller can accumulate statistics
        in the same pass.

    Raises
    ------
    InvalidLatentError
        No usable item (checked first, without reading), inconsistent dims, or non-finite frames
        (unless ``drop_nonfinite``).
    """
    lengths = item_lengths(source)
    usable = np.flatnonzero(lengths >= min_length)
    if usable.size == 0:
        raise InvalidLatentError(
            f"no item has the {min_length} frames needed (context + largest horizon); "
            "use a shorter --context or smaller horizons"
        )

    def facts() -> Iterator[tuple[tuple[int, ...], int]]:
        for i in range(source.n_items):
            x = source.item(i)
            yield x.shape, int((~np.isfinite(x).all(axis=1)).sum())
            if visit is not None:  # after the shape was checked
                visit(i, x)

    return check_scan(source, lengths, usable, facts(), drop_nonfinite=drop_nonfinite)


def check_scan(
    source: ItemSource,
    lengths: np.ndarray,
    usable: np.ndarray,
    facts: Iterable[tuple[tuple[int, ...], int]],
    *,
    drop_nonfinite: bool,
) -> ItemScan:
    """The ``ItemScan`` of the per-item ``(shape, non-finite frames)`` facts, in item order.

    Refuses inconsistent dims at the first item that breaks them (``facts`` may be a lazy
    stream), and non-finite frames at the end unless ``drop_nonfinite``.
    """
    dims: int | None = None
    bad: list[tuple[str, int]] = []
    for i, (shape, n_bad) in enumerate(facts):
        name = str(source.items[i].get("source", f"item {i}"))
        if len(shape) != 2 or (dims is not None and shape[1] != dims):
            raise InvalidLatentError(
                f"item {i} ({name}) has shape {tuple(shape)} but earlier items have {dims} dims; "
                "analyse trajectories of one latent space (same codec) at a time"
            )
        dims = int(shape[1])
        if n_bad:
            bad.append((name, n_bad))
    if bad and not drop_nonfinite:
        listed = ", ".join(f"{name} ({n} frames)" for name, n in bad[:5])
        raise InvalidLatentError(
            f"{sum(n for _, n in bad)} non-finite frames in {len(bad)} items: {listed}; "
            "fix the corpus or pass --drop-nonfinite to drop the windows that touch them"
        )
    n_nonfinite = sum(n for _, n in bad)
    if bad:
        logger.warning("dropping the windows around %d non-finite frames", n_nonfinite)
    assert dims is not None  # usable.size > 0, so at least one item was read
    return ItemScan(dims, lengths, usable, int(source.n_items - usable.size), n_nonfinite)


@dataclass(frozen=True)
class WindowChunk:
    """Context windows and their targets from one or more items (``iter_windows``).

    Attributes
    ----------
    context : np.ndarray [shape=(B, L, D), dtype=float32]
        Frames ``x_{e-L+1} .. x_e`` for each window end ``e``.
    targets : np.ndarray [shape=(M, B, D), dtype=float32]
        ``targets[k-1] = x_{e+k} - x_{e+k-1}`` for offsets k = 1..M.
    item : np.ndarray [shape=(B,)]
        Item index of each window.
    """

    context: np.ndarray
    targets: np.ndarray
    item: np.ndarray

    @property
    def size(self) -> int:
        return int(self.context.shape[0])


def valid_ends(x: np.ndarray, *, context: int, max_offset: int) -> np.ndarray:
    """Window ends ``e`` of one item whose frames ``e-L+1 .. e+M`` are all finite.

    Parameters
    ----------
    x : np.ndarray [shape=(T, D)]
    context : int > 0
        ``L``, frames in the context.
    max_offset : int > 0
        ``M``, the largest target offset (horizon, lag or rollout step).
    """
    ends = np.arange(context - 1, x.shape[0] - max_offset)
    bad = np.concatenate([[0], np.cumsum(~np.isfinite(x).all(axis=1))])
    return ends[bad[ends + max_offset + 1] - bad[ends - context + 1] == 0]


def iter_windows(
    source: ItemSource,
    items: np.ndarray,
    *,
    context: int,
    max_offset: int,
    chunk_windows: int = 4096,
    rng: np.random.Generator | None = None,
    with_context: bool = True,
    first: int = 0,
    stop: int | None = None,
) -> Iterator[WindowChunk]:
    """Stream context windows over ``items`` in chunks of at most ``chunk_windows`` windows.

    Only one chunk (plus one item) is in memory at a time. With ``rng`` the item order and the
    windows inside each chunk are shuffled (training); without it the order is fixed. The
    shuffles inside chunks draw from a generator spawned from ``rng`` once, so how far a
    consumer reads never changes what ``rng`` gives afterwards.
    ``with_context=False`` yields empty contexts ``(B, 0, D)`` for consumers of targets only.
    ``first`` and ``stop`` keep only the windows at those positions of the (ordered) stream, so
    a range of whole chunks can be streamed on its own (``latentroom.scaleout``).
    """
    order = rng.permutation(items) if rng is not None else items
    shuffle = rng.spawn(1)[0] if rng is not None else None
    parts: list[tuple[np.ndarray, np.ndarray, int]] = []
    n_buffered, position = 0, 0
    for i in order:
        if stop is not None and position >= stop:
            break
        x = source.item(int(i)).astype(np.float32, copy=False)
        all_ends = valid_ends(x, context=context, max_offset=max_offset)
        low = max(first - position, 0)
        high = all_ends.size if stop is None else max(min(stop - position, all_ends.size), low)
        position += all_ends.size
        all_ends = all_ends[low:high]
        start = 0
        while start < all_ends.size:
            ends = all_ends[start : start + chunk_windows - n_buffered]
            start += ends.size
            parts.append((x, ends, int(i)))
            n_buffered += ends.size
            if n_buffered >= chunk_windows:
                yield _gather(parts, context, max_offset, shuffle, with_context)
                parts, n_buffered = [], 0
    if parts:
        yield _gather(parts, context, max_offset, shuffle, with_context)


def _gather(
    parts: list[tuple[np.ndarray, np.ndarray, int]],
    context: int,
    max_offset: int,
    rng: np.random.Generator | None,
    with_context: bool,
) -> WindowChunk:
    """One chunk from ``(item frames, window ends, item index)`` parts, in (shuffled) order.

    The frames the parts need are stacked first (a frame is D floats, a window (L + M) * D), so
    each window is then copied exactly once, straight into the chunk in its final position: at
    D = 512 a window is 32 KiB, and extra copies dominated a pass over 10^6 frames.
    """
    blocks, starts, items, offset = [], [], [], 0
    for x, ends, i in parts:
        low, high = int(ends[0]) - context + 1, int(ends[-1]) + max_offset + 1
        blocks.append(x[low:high])
        starts.append(ends - low + offset)
        items.append(np.full(ends.size, i))
        offset += high - low
    frames = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    ends, item = np.concatenate(starts), np.concatenate(items)
    if rng is not None:
        perm = rng.permutation(item.size)
        ends, item = ends[perm], item[perm]
    # Targets: dx[e + k - 1] = x[e + k] - x[e + k - 1]; no index crosses a block boundary.
    dx = np.diff(frames, axis=0)
    targets = np.take(dx, ends[:, None] + np.arange(max_offset)[None, :], axis=0)
    if with_context:
        ctx = np.take(frames, ends[:, None] + np.arange(-context + 1, 1)[None, :], axis=0)
    else:
        ctx = np.empty((item.size, 0, frames.shape[1]), dtype=np.float32)
    return WindowChunk(ctx, targets.transpose(1, 0, 2), item)
