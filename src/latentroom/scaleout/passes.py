"""The Phase 0 / Phase 1 chunk passes on a cluster: blocks of the same streams, sums added up.

Each pass the analyses make over the corpus is cut into blocks of consecutive items (or of whole
chunks of windows), one task per block; a task runs the library's own pass over its block and
returns partial sums, which are added here. The estimators are not touched: what they consume
(moments, cluster sums, per-item metric sums) is the same up to float rounding of the order of
the additions. Where a pass draws random numbers or picks windows per chunk, the blocks start on
the local run's chunk boundaries and the random stream is advanced to the block's first draw, so
the draws are the local run's too.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from latentroom.analysis.clusters import LabelSums, label_pass, shuffled_pass
from latentroom.analysis.data import (
    ItemSource,
    check_scan,
    item_lengths,
    iter_windows,
    scan_items,
    valid_ends,
)
from latentroom.analysis.keys import FrameMoments
from latentroom.analysis.predictors import LinearGaussian, Moments, step_features, target_sums
from latentroom.analysis.splits import Prepared, split_for
from latentroom.scaleout.encode import check_visible
from latentroom.scaleout.executor import DaskExecutor
from latentroom.scaleout.worker import StoreRef

if TYPE_CHECKING:
    from latentroom.analysis.clusters import ClusterConfig, _Fit
    from latentroom.analysis.predict import PredictConfig

#: Blocks per worker: enough to even out uneven blocks, few enough that a block's fixed cost
#: (a task, a broadcast lookup, a partial result) stays small.
BLOCKS_PER_WORKER = 4


def _scan_block(
    source: ItemSource, items: np.ndarray, context: int, max_offset: int, train: frozenset[int]
) -> tuple[list[tuple[tuple[int, ...], int]], np.ndarray, FrameMoments]:
    """Per item: shape and non-finite frames, valid windows; frame moments of train items."""
    facts, counts, moments = [], np.zeros(items.size, dtype=np.int64), FrameMoments()
    for j, i in enumerate(items):
        x = source.item(int(i))
        facts.append((x.shape, int((~np.isfinite(x).all(axis=1)).sum())))
        if x.ndim == 2:
            counts[j] = valid_ends(x, context=context, max_offset=max_offset).size
            if int(i) in train:
                moments.add(x)
    return facts, counts, moments


def _score_block(
    prepared: Prepared, config: ClusterConfig, fit: _Fit, items: np.ndarray, skip: int
) -> dict[str, np.ndarray]:
    from latentroom.analysis.clusters import _score

    rng = np.random.default_rng(config.seed + 2)
    rng.bit_generator.advance(skip)  # type: ignore[attr-defined]  # one step per double drawn
    return _score(prepared, config, fit, items, rng)


def _target_block(
    prepared: Prepared, config: PredictConfig, items: np.ndarray
) -> tuple[int, np.ndarray, np.ndarray]:
    chunks = iter_windows(
        prepared.source,
        items,
        context=config.context,
        max_offset=config.max_offset,
        chunk_windows=config.chunk_windows,
        with_context=False,
    )
    return target_sums(chunks, config.horizons)


def _moments_block(
    prepared: Prepared, config: PredictConfig, rows: list[int], part: _Range
) -> Moments:
    moments = Moments()
    for chunk in _range_windows(prepared, config, part):
        moments.add(step_features(chunk.context), chunk.targets[rows])
    return moments


def _evaluate_block(
    prepared: Prepared, config: PredictConfig, fitted: dict[str, Any], part: _Range
) -> dict[str, np.ndarray]:
    from latentroom.analysis.predict import evaluate

    return evaluate(prepared, config, fitted, items=part.items, first=part.first, stop=part.stop)


@dataclasses.dataclass(frozen=True)
class _Range:
    """Windows ``first:stop`` of the stream over ``items`` (in that order)."""

    items: np.ndarray
    first: int
    stop: int


def _range_windows(prepared: Prepared, config: PredictConfig, part: _Range) -> Any:
    return iter_windows(
        prepared.source,
        part.items,
        context=config.context,
        max_offset=config.max_offset,
        chunk_windows=config.chunk_windows,
        first=part.first,
        stop=part.stop,
    )


def window_ranges(
    order: np.ndarray, counts: np.ndarray, total: int, step: int, n_blocks: int
) -> list[_Range]:
    """Cut the first ``total`` windows of the stream over ``order`` into ranges.

    ``counts`` are the windows of each item of ``order``. Every range starts on a multiple of
    ``step`` (a chunk boundary) and holds only the items it touches.
    """
    chunks = math.ceil(total / step) if total else 0
    per = max(1, math.ceil(chunks / max(n_blocks, 1)))
    starts = np.concatenate([[0], np.cumsum(counts)])
    out = []
    for low in range(0, chunks, per):
        first, stop = low * step, min((low + per) * step, total)
        a = int(np.searchsorted(starts, first, side="right") - 1)
        b = int(np.searchsorted(starts, stop, side="left"))
        out.append(_Range(order[a:b], first - int(starts[a]), stop - int(starts[a])))
    return out


class ScaleOut:
    """The analyses' chunk passes on a ``DaskExecutor``'s workers.

    One object serves one analysis run: ``prepare`` records the window counts that later
    passes cut their blocks by.
    """

    def __init__(self, executor: DaskExecutor) -> None:
        self.executor = executor
        self._counts: np.ndarray = np.zeros(0, dtype=np.int64)
        self._source: ItemSource | None = None
        self._prepared: dict[int, tuple[Prepared, Any]] = {}

    def _blocks(self) -> int:
        return BLOCKS_PER_WORKER * self.executor.n_workers

    def _remote(self, prepared: Prepared) -> Any:
        """``prepared`` as the workers hold it (their source), broadcast once per run."""
        key = id(prepared)
        if key not in self._prepared:
            shipped = dataclasses.replace(prepared, source=self._source or prepared.source)
            self._prepared[key] = (prepared, self.executor.broadcast(shipped))
        return self._prepared[key][1]

    def remote_source(self, source: ItemSource) -> ItemSource:
        """What workers read: a corpus store by path (checked readable on each), else ``source``.

        Arrays held in memory (``ArraySource``, a folder of ``.npy`` files) travel with the
        tasks; a corpus store never does.
        """
        from latentroom.latents.corpus import Corpus

        if not isinstance(source, Corpus):
            return source
        path = source.path.resolve()
        check_visible(self.executor, [str(path / "zarr.json")], "corpus store files")
        return StoreRef(str(path), source.n_items)

    def prepare(
        self,
        source: ItemSource,
        *,
        context: int,
        min_length: int,
        group_regex: str | None = None,
        drop_nonfinite: bool = False,
        seed: int = 0,
        frame_moments: FrameMoments | None = None,
    ) -> Prepared:
        """``latentroom.analysis.splits.prepare`` with the checking pass on the workers.

        The split comes from the item lengths, as locally; ``frame_moments`` (given: PCA keys)
        receives the train frames' sums.
        """
        split, labels = split_for(source, min_length=min_length, group_regex=group_regex, seed=seed)
        remote = self._source = self.remote_source(source)
        lengths = item_lengths(source)
        usable = np.flatnonzero(lengths >= min_length)
        train = frozenset(split.train.tolist()) if frame_moments is not None else frozenset()
        items = np.arange(source.n_items)
        blocks = [b for b in np.array_split(items, min(self._blocks(), items.size)) if b.size]
        facts: list[tuple[tuple[int, ...], int]] = []
        counts: list[np.ndarray] = []
        if usable.size:
            args = [(remote, b, context, min_length - context, train) for b in blocks]
            for block_facts, block_counts, moments in self.executor.map(_scan_block, args):
                facts.extend(block_facts)
                counts.append(block_counts)
                if frame_moments is not None:
                    frame_moments.merge(moments)
        if not usable.size:  # the local refusal, word for word (it reads nothing)
            scan_items(source, min_length=min_length)
        scan = check_scan(source, lengths, usable, facts, drop_nonfinite=drop_nonfinite)
        self._counts = np.concatenate(counts)
        return Prepared(source, scan, split, labels)

    # Phase 0 -------------------------------------------------------------------------------

    def label_pass(self, prepared: Prepared, config: ClusterConfig, fit: _Fit) -> LabelSums:
        train = prepared.split.train
        remote, shared_fit = self._remote(prepared), self.executor.broadcast(fit)
        args = [(remote, config, shared_fit, b) for b in self._item_blocks(train)]
        parts = self.executor.map(label_pass, args)
        found = parts[0]
        for part in parts[1:]:
            found.merge(part)
        return found

    def shuffled_pass(
        self,
        prepared: Prepared,
        config: ClusterConfig,
        fit: _Fit,
        shuffled: dict[str, np.ndarray],
    ) -> dict[str, Any]:
        remote, shared_fit = self._remote(prepared), self.executor.broadcast(fit)
        args, start = [], 0
        for block in self._item_blocks(prepared.split.train):
            stop = start + int(self._counts[block].sum())
            part = {name: labels[start:stop] for name, labels in shuffled.items()}
            args.append((remote, config, shared_fit, block, part))
            start = stop
        total: dict[str, Any] = {}
        for sums in self.executor.map(shuffled_pass, args):
            total = {k: total.get(k, 0.0) + v for k, v in sums.items()}
        return total

    def score(
        self, prepared: Prepared, config: ClusterConfig, fit: _Fit, items: np.ndarray
    ) -> dict[str, np.ndarray]:
        """``_score`` on blocks of whole chunks, each with the random stream at its first draw."""
        drawing = sum(bool((fit.counts[s.name] >= fit.min_size[s.name]).any()) for s in fit.specs)
        counts = self._counts[items]
        ends = _chunk_ends(counts, config.chunk_windows)  # item index after each chunk
        per = max(1, math.ceil(len(ends) / self._blocks()))
        remote, shared_fit = self._remote(prepared), self.executor.broadcast(fit)
        args, low = [], 0
        for k in range(per - 1, len(ends) + per - 1, per):
            high = ends[min(k, len(ends) - 1)]
            skip = int(counts[:low].sum()) * drawing
            args.append((remote, config, shared_fit, items[low:high], skip))
            low = high
        parts = self.executor.map(_score_block, args)
        return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}

    def _item_blocks(self, items: np.ndarray) -> list[np.ndarray]:
        return [b for b in np.array_split(items, min(self._blocks(), items.size)) if b.size]

    # Phase 1 -------------------------------------------------------------------------------

    def target_sums(
        self, prepared: Prepared, config: PredictConfig
    ) -> tuple[int, np.ndarray, np.ndarray]:
        remote = self._remote(prepared)
        args = [(remote, config, b) for b in self._item_blocks(prepared.split.train)]
        parts = [p for p in self.executor.map(_target_block, args) if p[0]]
        return (
            sum(p[0] for p in parts),
            np.sum([p[1] for p in parts], axis=0),
            np.sum([p[2] for p in parts], axis=0),
        )

    def ridge_moments(
        self, prepared: Prepared, config: PredictConfig, model: LinearGaussian
    ) -> tuple[Moments, Moments | None]:
        """The windows ``LinearGaussian.fit`` would gather: the same items, order and budget."""
        rng = np.random.default_rng(model.random_state)
        rows = [k - 1 for k in model.horizons]
        parts = [(prepared.split.train, model.max_windows)]
        if prepared.split.val.size:
            parts.append((prepared.split.val, model.max_val_windows))
        found: list[Moments] = []
        for items, budget in parts:
            order = rng.permutation(items)
            rng.spawn(1)  # as iter_windows does, so the next permutation is the local one
            counts = self._counts[order]
            step = config.chunk_windows
            take = min(int(counts.sum()), math.ceil(budget / step) * step)
            ranges = window_ranges(order, counts, take, step, self._blocks())
            args = [(self._remote(prepared), config, rows, r) for r in ranges]
            moments = Moments()
            for part in self.executor.map(_moments_block, args):
                moments.merge(part)
            found.append(moments)
        return found[0], (found[1] if len(found) > 1 else None)

    def evaluate(
        self, prepared: Prepared, config: PredictConfig, fitted: dict[str, Any]
    ) -> dict[str, np.ndarray]:
        items = prepared.split.eval
        counts = self._counts[items]
        ranges = window_ranges(
            items, counts, int(counts.sum()), config.chunk_windows, self._blocks()
        )
        shared = self.executor.broadcast(fitted)
        args = [(self._remote(prepared), config, shared, r) for r in ranges]
        parts = self.executor.map(_evaluate_block, args)
        out = dict(parts[0])
        for part in parts[1:]:
            for key in ("sums", "per_dim", "n_per_dim", "roll"):
                out[key] = out[key] + part[key]
        return out


def _chunk_ends(counts: Sequence[int] | np.ndarray, chunk_windows: int) -> list[int]:
    """Where ``iter_key_chunks`` closes its chunks: the item index after each chunk."""
    ends, buffered = [], 0
    for j, n in enumerate(counts):
        buffered += int(n)
        if buffered >= chunk_windows:
            ends.append(j + 1)
            buffered = 0
    if not ends or ends[-1] != len(counts):
        ends.append(len(counts))
    return ends
