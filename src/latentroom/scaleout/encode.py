"""Corpus encoding on a cluster: items go to workers, results come back in item order."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from latentroom.errors import ConfigError
from latentroom.scaleout.executor import DaskExecutor
from latentroom.scaleout.worker import CodecRecipe, EncodeSettings, encode_item, unreadable


def check_visible(executor: DaskExecutor, paths: Sequence[str], what: str) -> None:
    """Refuse, before any work, paths that some worker cannot read.

    Workers write nothing, but they read the inputs: on a real cluster those must sit on a file
    system every worker mounts, at the same path.

    Raises
    ------
    ConfigError
        Names a worker, how many paths it cannot read and the first of them.
    """
    for worker, (n_bad, first) in sorted(executor.on_every_worker(unreadable, list(paths)).items()):
        if n_bad:
            raise ConfigError(
                f"{first[0]}: worker {worker} cannot read {n_bad} of the {len(paths)} {what}; "
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

    Workers get absolute paths (their working folder may differ from this one); the item records
    keep the paths as given, as a local encode does.
    """
    absolute = [os.path.abspath(s) for s in sources]
    check_visible(executor, [absolute[i] for i in todo], "audio files")
    args = ((recipe, settings, i, absolute[i], labels[i]) for i in todo)
    for index, (frames, item) in zip(todo, executor.imap(encode_item, args), strict=True):
        yield frames, {**item, "source": sources[index]}
