"""Corpus encoding on a cluster: items go to workers, results come back in item order."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from latentroom.errors import ConfigError
from latentroom.scaleout.executor import DaskExecutor
from latentroom.scaleout.worker import (
    CodecRecipe,
    EncodeSettings,
    build_encoder,
    encode_item,
    unreadable,
)

#: Paths each worker checks at most: what the check is for is a file system a worker does not
#: mount, which any spread-out sample shows (this process already checked every file).
_CHECKED = 1000


def check_visible(executor: DaskExecutor, paths: Sequence[str], what: str) -> None:
    """Refuse, before any work, paths that some worker cannot read.

    Workers write nothing, but they read the inputs: on a real cluster those must sit on a file
    system every worker mounts, at the same path. Each worker checks up to ``_CHECKED`` paths
    spread evenly over ``paths``.

    Raises
    ------
    ConfigError
        Names a worker, how many paths it cannot read and the first of them.
    """
    sample = list(paths[:: max(1, len(paths) // _CHECKED)])
    for worker, (n_bad, first) in sorted(executor.on_every_worker(unreadable, sample).items()):
        if n_bad:
            raise ConfigError(
                f"{first[0]}: worker {worker} cannot read {n_bad} of the {len(sample)} {what} "
                "it checked; "
                "put them on a file system every worker mounts, at the same path "
                "(docs/scale-out.md)"
            )


def encode_on(
    executor: DaskExecutor,
    recipe: CodecRecipe,
    settings: EncodeSettings,
    sources: Sequence[str],
    labels: Sequence[str | None],
    todo: range,
) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
    """Encode items ``todo`` on the workers; yield ``(frames, item)`` in item order.

    Every worker builds its codec first (``build_encoder``), so a codec that cannot load on a
    worker stops the run before any item is encoded.

    Workers get absolute paths (their working folder may differ from this one); the item records
    keep the paths as given, as a local encode does.
    """
    absolute = [os.path.abspath(s) for s in sources]
    check_visible(executor, [absolute[i] for i in todo], "audio files")
    executor.on_every_worker(build_encoder, recipe, settings)
    args = ((recipe, settings, i, absolute[i], labels[i]) for i in todo)
    for index, (frames, item) in zip(todo, executor.imap(encode_item, args), strict=True):
        yield frames, {**item, "source": sources[index]}
