"""Input checks, splits and context windows of the analyses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from latentroom.analysis.data import ArraySource, iter_windows, scan_items, valid_ends
from latentroom.analysis.splits import group_labels, prepare, split_by_group, split_items
from latentroom.errors import ConfigError, InvalidLatentError


def _ramp_source(lengths: list[int], dim: int = 3) -> ArraySource:
    arrays = [
        (np.arange(n)[:, None] ** 2 + 100 * i + np.arange(dim)).astype(np.float32)
        for i, n in enumerate(lengths)
    ]
    return ArraySource(arrays, 10.0)


def test_windows_hold_the_context_and_the_later_steps() -> None:
    source = _ramp_source([12, 9])
    chunks = list(iter_windows(source, np.array([0, 1]), context=3, max_offset=2, chunk_windows=4))
    assert [c.size for c in chunks] == [4, 4, 4, 1]  # 12-3-2+1 = 8 and 9-3-2+1 = 5 windows
    first = chunks[0]
    x = source.item(0)
    np.testing.assert_array_equal(first.context[1], x[1:4])  # window end e = 3
    np.testing.assert_array_equal(first.targets[0, 1], x[4] - x[3])
    np.testing.assert_array_equal(first.targets[1, 1], x[5] - x[4])
    assert first.item.tolist() == [0, 0, 0, 0]


def test_shuffled_windows_are_a_permutation_of_the_ordered_ones() -> None:
    source = _ramp_source([30, 25, 40])
    items = np.array([0, 1, 2])
    ordered = list(iter_windows(source, items, context=4, max_offset=3))
    shuffled = list(
        iter_windows(source, items, context=4, max_offset=3, rng=np.random.default_rng(0))
    )
    key = lambda chunks: sorted(map(tuple, np.concatenate([c.targets[2] for c in chunks])))  # noqa: E731
    assert key(ordered) == key(shuffled)


def test_windows_touching_nonfinite_frames_are_dropped() -> None:
    x = np.zeros((20, 2), dtype=np.float32)
    x[10, 1] = np.nan
    ends = valid_ends(x, context=3, max_offset=2)
    # a window [e-2, e+2] must avoid frame 10: e <= 7 or e >= 13
    assert ends.tolist() == [2, 3, 4, 5, 6, 7, 13, 14, 15, 16, 17]


def test_scan_refuses_nonfinite_frames_naming_item_and_count() -> None:
    arrays = [np.zeros((20, 2), np.float32), np.zeros((20, 2), np.float32)]
    arrays[1][[3, 7]] = np.inf
    source = ArraySource(arrays, 10.0, [{"source": "a.wav"}, {"source": "b.wav"}])
    with pytest.raises(InvalidLatentError, match=r"2 non-finite frames in 1 items: b.wav"):
        scan_items(source, min_length=5)
    scan = scan_items(source, min_length=5, drop_nonfinite=True)
    assert scan.n_nonfinite_frames == 2


def test_scan_refuses_inconsistent_dims() -> None:
    source = ArraySource([np.zeros((20, 2), np.float32), np.zeros((20, 3), np.float32)], 10.0)
    with pytest.raises(InvalidLatentError, match=r"item 1 .* has shape \(20, 3\)"):
        scan_items(source, min_length=5)


def test_scan_counts_short_items_and_refuses_when_none_is_long_enough() -> None:
    source = _ramp_source([5, 20, 11, 30])
    scan = scan_items(source, min_length=12)
    assert scan.usable.tolist() == [1, 3]
    assert scan.n_short == 2
    with pytest.raises(InvalidLatentError, match="no item has the 50 frames"):
        scan_items(source, min_length=50)


def test_item_split_is_seeded_disjoint_and_complete() -> None:
    items = np.arange(100)
    split = split_items(items, seed=3)
    assert (split.train.size, split.val.size, split.eval.size) == (70, 10, 20)
    joined = np.concatenate([split.train, split.val, split.eval])
    assert sorted(joined.tolist()) == list(range(100))
    assert split_items(items, seed=3).eval.tolist() == split.eval.tolist()
    assert split_items(items, seed=4).eval.tolist() != split.eval.tolist()


@pytest.mark.parametrize(
    ("fractions", "n_items", "match"),
    [
        pytest.param((0.5, 0.5), 10, "three positive numbers", id="two-fractions"),
        pytest.param((0.7, 0.2, 0.2), 10, "summing to 1", id="sum"),
        pytest.param((0.7, 0.1, 0.2), 2, "at least 3 usable items", id="too-few"),
    ],
)
def test_item_split_rejects_bad_requests(
    fractions: tuple[float, ...], n_items: int, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        split_items(np.arange(n_items), fractions=fractions)


def test_group_split_keeps_eval_groups_unseen() -> None:
    metas = [{"source": f"/data/spk{i % 10}/utt{i}.wav"} for i in range(100)]
    source = ArraySource([np.zeros((20, 2), np.float32)] * 100, 10.0, metas)
    labels = group_labels(source, r"spk(\d+)")
    split = split_by_group(np.arange(100), labels, seed=0)
    seen = {labels[i] for i in np.concatenate([split.train, split.val])}
    unseen = {labels[i] for i in split.eval}
    assert len(unseen) == 2 and not seen & unseen
    assert split.by_group and split.val.size > 0


@pytest.mark.parametrize(
    ("pattern", "match"),
    [
        pytest.param(r"spk\d", "needs at least two groups", id="one-group"),
        pytest.param(r"nomatch\d", "does not match item 0", id="no-match"),
        pytest.param(r"spk(", "not a valid regex", id="bad-regex"),
    ],
)
def test_group_split_errors(pattern: str, match: str) -> None:
    metas = [{"source": f"spk1/utt{i}.wav"} for i in range(10)]
    source = ArraySource([np.zeros((20, 2), np.float32)] * 10, 10.0, metas)
    with pytest.raises(ConfigError, match=match):
        prepare(source, min_length=5, group_regex=pattern)


@given(n_items=st.integers(3, 400), seed=st.integers(0, 2**32 - 1))
def test_item_split_is_always_a_partition_with_nonempty_parts(n_items: int, seed: int) -> None:
    split = split_items(np.arange(n_items), seed=seed)
    parts = [split.train, split.val, split.eval]
    assert all(p.size > 0 for p in parts)
    assert sorted(np.concatenate(parts).tolist()) == list(range(n_items))


def test_group_labels_can_come_from_corpus_group_metadata() -> None:
    metas = [{"source": f"x/{i}.wav", "group": f"speaker-{i % 3}"} for i in range(9)]
    source = ArraySource([np.zeros((20, 2), np.float32)] * 9, 10.0, metas)
    assert group_labels(source, "(.+)")[:4] == ["speaker-0", "speaker-1", "speaker-2", "speaker-0"]


def test_reading_part_of_a_shuffled_stream_leaves_the_callers_rng_the_same() -> None:
    """What rng gives afterwards must not depend on how far a consumer read the stream."""
    arrays = [np.arange(40 * 2, dtype=np.float32).reshape(40, 2) * (i + 1) for i in range(5)]
    source = ArraySource(arrays, 10.0)
    after = []
    for n_chunks in (1, 3):
        rng = np.random.default_rng(7)
        stream = iter_windows(
            source, np.arange(5), context=3, max_offset=2, chunk_windows=16, rng=rng
        )
        for _ in range(n_chunks):
            next(stream)
        after.append(rng.integers(1 << 30))
    assert after[0] == after[1]


def test_targets_only_stream_gives_the_same_targets() -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((30, 3)).astype(np.float32) for _ in range(3)]
    source = ArraySource(arrays, 10.0)
    full = list(iter_windows(source, np.arange(3), context=4, max_offset=3, chunk_windows=20))
    bare = list(
        iter_windows(
            source, np.arange(3), context=4, max_offset=3, chunk_windows=20, with_context=False
        )
    )
    assert [c.size for c in full] == [c.size for c in bare]
    for a, b in zip(full, bare, strict=True):
        assert b.context.shape == (a.size, 0, 3)
        np.testing.assert_array_equal(a.targets, b.targets)
        np.testing.assert_array_equal(a.item, b.item)
