"""Train / validation / eval splits by item or by group, and the shared input preparation."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from latentroom.analysis.data import ItemScan, ItemSource, item_lengths, scan_items
from latentroom.errors import ConfigError


@dataclass(frozen=True)
class Split:
    """Item indices of the train, validation and eval parts (disjoint)."""

    train: np.ndarray
    val: np.ndarray
    eval: np.ndarray
    by_group: bool = False


def split_items(
    items: np.ndarray, *, fractions: Sequence[float] = (0.7, 0.1, 0.2), seed: int = 0
) -> Split:
    """Split item indices at random into train / validation / eval (each part non-empty).

    Parameters
    ----------
    items : np.ndarray [shape=(n,)]
        Usable item indices (n >= 3).
    fractions : three floats summing to 1
        Shares of train, validation, eval.
    """
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError(
            f"split fractions must be three positive numbers summing to 1; got {fractions}"
        )
    if items.size < 3:
        raise ConfigError(
            f"a train/validation/eval split needs at least 3 usable items; got {items.size}"
        )
    order = np.random.default_rng(seed).permutation(items)
    n_val = max(1, round(fractions[1] * items.size))
    n_eval = max(1, round(fractions[2] * items.size))
    n_train = max(1, items.size - n_val - n_eval)
    return Split(
        np.sort(order[:n_train]),
        np.sort(order[n_train : n_train + n_val]),
        np.sort(order[n_train + n_val :]),
    )


def group_labels(source: ItemSource, pattern: str) -> list[str]:
    """Group label of each item: the first capture group (or whole match) of ``pattern``.

    The pattern is searched in the item's "group" metadata when set, else in its "source".
    """
    try:
        regex = re.compile(pattern)
    except re.error as err:
        raise ConfigError(f"--group-regex {pattern!r} is not a valid regex: {err}") from err
    labels = []
    for i, meta in enumerate(source.items):
        text = str(meta.get("group") or meta.get("source", ""))
        match = regex.search(text)
        if match is None:
            raise ConfigError(
                f"--group-regex {pattern!r} does not match item {i} ({text!r}); "
                "use a pattern that matches every item's source path or group"
            )
        labels.append(match.group(1) if regex.groups else match.group(0))
    return labels


def split_by_group(
    items: np.ndarray, labels: Sequence[str], *, eval_fraction: float = 0.2, seed: int = 0
) -> Split:
    """Group-disjoint split: eval items come from groups never seen in train or validation.

    About ``eval_fraction`` of the groups go to eval; the rest are split by item, 7:1, into train
    and validation, so validation measures held-out items of *seen* groups.
    """
    names = sorted({labels[i] for i in items})
    if len(names) < 2:
        raise ConfigError(
            f"a group split needs at least two groups; the group regex found {len(names)} "
            f"({names}); use a pattern that separates speakers/groups or drop --group-regex"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    n_eval_groups = min(len(names) - 1, max(1, round(eval_fraction * len(names))))
    eval_groups = {names[j] for j in order[:n_eval_groups]}
    is_eval = np.array([labels[i] in eval_groups for i in items])
    seen = rng.permutation(items[~is_eval])
    n_val = max(1, round(seen.size / 8)) if seen.size >= 2 else 0
    if seen.size - n_val < 1:
        raise ConfigError("the training groups hold fewer than 2 usable items; add data")
    return Split(np.sort(seen[n_val:]), np.sort(seen[:n_val]), np.sort(items[is_eval]), True)


@dataclass(frozen=True)
class Prepared:
    """A checked corpus and its split, ready for windowing."""

    source: ItemSource
    scan: ItemScan
    split: Split
    groups: list[str] | None


def prepare(
    source: ItemSource,
    *,
    min_length: int,
    group_regex: str | None = None,
    drop_nonfinite: bool = False,
    seed: int = 0,
    visit_train: Callable[[np.ndarray], None] | None = None,
) -> Prepared:
    """Split the items (by group when ``group_regex`` is set), then scan them, refusing bad input.

    The split needs only the item lengths; the one pass that reads every item (``scan_items``)
    also hands each train item to ``visit_train`` (e.g. to accumulate PCA statistics).
    """
    split, labels = split_for(source, min_length=min_length, group_regex=group_regex, seed=seed)
    train = set(split.train.tolist())

    def visit(i: int, x: np.ndarray) -> None:
        if visit_train is not None and i in train:
            visit_train(x)

    scan = scan_items(source, min_length=min_length, drop_nonfinite=drop_nonfinite, visit=visit)
    return Prepared(source, scan, split, labels)


def split_for(
    source: ItemSource, *, min_length: int, group_regex: str | None = None, seed: int = 0
) -> tuple[Split, list[str] | None]:
    """The split of ``prepare`` (from the item lengths alone) and the group labels, if any."""
    lengths = item_lengths(source)
    usable = np.flatnonzero(lengths >= min_length)
    labels = group_labels(source, group_regex) if group_regex else None
    if usable.size == 0:
        split = Split(usable, usable, usable)  # scan_items raises the "no usable item" error
    elif labels is not None:
        split = split_by_group(usable, labels, seed=seed)
    else:
        split = split_items(usable, seed=seed)
    return split, labels
