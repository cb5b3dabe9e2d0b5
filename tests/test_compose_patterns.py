"""Patterns: exact outputs on hand-computed arrays, length formulas, seeds, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentroom.compose.patterns import (
    apply_pattern,
    blender,
    fibo,
    fibonacci_up_to,
    orale,
    pattern_length,
    swapper,
)
from latentroom.errors import ConfigError, InvalidLatentError

A = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], dtype=np.float32)
A2 = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
B2 = np.array([[10.0, 11.0], [12.0, 13.0]], dtype=np.float32)


def test_fibo_hand_computed() -> None:
    one = [[0, 1], [0, 1], [2, 3], [0, 1], [2, 3], [4, 5]]  # prefixes of length 1, 2, 3
    np.testing.assert_array_equal(fibo(A, loops=2), np.array(one * 2, dtype=np.float32))


def test_fibonacci_series_skips_the_repeated_one() -> None:
    assert fibonacci_up_to(20) == [1, 2, 3, 5, 8, 13]
    assert fibonacci_up_to(0) == []


def test_blender_hand_computed() -> None:
    states = [[0, 1, 2, 3], [10, 1, 2, 3], [10, 11, 2, 3], [10, 11, 12, 3], [10, 11, 12, 13]]
    expected = np.array(states, dtype=np.float32).reshape(-1, 2)
    np.testing.assert_array_equal(blender(A2, B2), expected)


def test_blender_cells_per_step_and_loops() -> None:
    states = [[0, 1, 2, 3], [10, 11, 12, 3], [10, 11, 12, 13]]  # 3 cells, then the last one
    expected = np.repeat(np.array(states, dtype=np.float32).reshape(3, 1, 4), 2, axis=1)
    out = blender(A2, B2, loops=2, cells_per_step=3)
    np.testing.assert_array_equal(out, expected.reshape(-1, 2))


def test_blender_leaves_inputs_alone() -> None:
    a = A2.copy()
    blender(a, B2)
    np.testing.assert_array_equal(a, A2)


def test_swapper_one_cell_swaps_back_and_forth() -> None:
    out = swapper(np.array([[1.0]]), np.array([[2.0]]), loops=2, n_swaps=3, rng=0)
    np.testing.assert_array_equal(out[:, 0], [2, 2, 1, 1, 2, 2])


def test_swapper_changes_one_cell_per_step_from_b() -> None:
    a, b = np.zeros((4, 3), np.float32), np.ones((4, 3), np.float32)
    out = swapper(a, b, rng=7).reshape(4, 4, 3)  # N = 4 swaps of one loop each
    previous = a
    for state in out:
        assert np.count_nonzero(state != previous) == 1
        previous = state


def test_orale_depth_one_is_three_copies_and_an_offset_copy() -> None:
    std = np.array([1.0, 2.0])
    out = orale(A, depth=1, std=std, amount=0.5, rng=3)
    offset = np.random.default_rng(3).uniform(-1.0, 1.0, size=(1, 2)) * 0.5 * std
    expected = np.concatenate([A, A, A, A + offset]).astype(np.float32)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_orale_recursive_structure() -> None:
    n = len(A)
    out = orale(A, depth=2, rng=1)
    level1 = out[: 4 * n]
    for block in range(3):
        np.testing.assert_array_equal(out[block * 4 * n : (block + 1) * 4 * n], level1)
    shift = out[12 * n :] - level1
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-5)
    assert np.all(np.abs(shift[0]) <= A.std(axis=0) + 1e-6)


@pytest.mark.parametrize("name", ["orale", "swapper"])
def test_seeded_patterns_reproduce(name: str) -> None:
    b = None if name == "orale" else A[::-1].copy()
    first = apply_pattern(name, A, b, rng=42, loops=2)
    np.testing.assert_array_equal(first, apply_pattern(name, A, b, rng=42, loops=2))
    assert not np.array_equal(first, apply_pattern(name, A, b, rng=43, loops=2))


def _expected_length(name: str, n: int, d: int, loops: int, option: int) -> int:
    if name == "fibo":
        return loops * sum(k for k in (1, 2, 3, 5, 8, 13) if k <= n)
    if name == "orale":
        return loops * 4**option * n
    if name == "blender":
        return loops * n * (1 + math.ceil(n * d / option))
    return loops * option * n


_OPTION = {"orale": "depth", "blender": "cells_per_step", "swapper": "n_swaps"}


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["fibo", "orale", "blender", "swapper"]),
    n=st.integers(1, 13),
    d=st.integers(1, 4),
    loops=st.integers(1, 3),
    option=st.integers(1, 3),
)
def test_length_formulas(name: str, n: int, d: int, loops: int, option: int) -> None:
    a = np.arange(n * d, dtype=np.float32).reshape(n, d)
    b = -a if name in ("blender", "swapper") else None
    options = {_OPTION[name]: option} if name in _OPTION else {}
    out = apply_pattern(name, a, b, rng=0, loops=loops, **options)
    assert out.shape == (_expected_length(name, n, d, loops, option), d)
    assert out.dtype == np.float32
    assert pattern_length(name, (n, d), loops=loops, **options) == len(out)


def test_blender_over_max_frames_refused_before_allocating() -> None:
    big = np.zeros((1000, 64), np.float32)  # 256 million frames: would need ~65 GB
    with pytest.raises(ConfigError, match=r"256004000 frames, more than max_frames = 200000"):
        blender(big, big, loops=4)


def test_shape_mismatch_refused() -> None:
    with pytest.raises(InvalidLatentError, match=r"A has shape \(2, 2\) but B has shape \(3, 2\)"):
        swapper(A2, A)


def test_empty_array_refused() -> None:
    with pytest.raises(InvalidLatentError, match="A is empty"):
        fibo(np.zeros((0, 4)))


def test_nan_refused() -> None:
    with pytest.raises(InvalidLatentError, match="B holds NaN"):
        blender(A2, np.full((2, 2), np.nan))


def test_unknown_pattern_refused() -> None:
    with pytest.raises(ConfigError, match="unknown pattern 'spiral'; choose one of fibo"):
        apply_pattern("spiral", A)


def test_second_array_rules() -> None:
    with pytest.raises(ConfigError, match="'blender' needs a second array B"):
        apply_pattern("blender", A)
    with pytest.raises(ConfigError, match="'fibo' takes one array"):
        apply_pattern("fibo", A, A)


def test_bad_counts_refused() -> None:
    with pytest.raises(ConfigError, match="loops must be an integer >= 1; got 0"):
        fibo(A, loops=0)
    with pytest.raises(ConfigError, match="depth must be an integer >= 1; got 0"):
        orale(A, depth=0)
    with pytest.raises(ConfigError, match="amount must be >= 0"):
        orale(A, amount=-1.0)
