"""Euclidean rhythms: Toussaint's table, the protocol's E(5,13), validation and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from latentroom.errors import ConfigError
from latentroom.seeds import euclidean, rotate

# Toussaint, "The Euclidean algorithm generates traditional musical rhythms" (BRIDGES 2005),
# written as in the paper; compared up to rotation.
TOUSSAINT = [
    pytest.param(1, 2, "x.", id="E(1,2)"),
    pytest.param(1, 3, "x..", id="E(1,3)"),
    pytest.param(1, 4, "x...", id="E(1,4)"),
    pytest.param(4, 12, "x..x..x..x..", id="E(4,12)"),
    pytest.param(2, 3, "x.x", id="E(2,3)"),
    pytest.param(2, 5, "x.x..", id="E(2,5)"),
    pytest.param(3, 4, "x.xx", id="E(3,4)"),
    pytest.param(3, 5, "x.x.x", id="E(3,5)"),
    pytest.param(3, 7, "x.x.x..", id="E(3,7)"),
    pytest.param(3, 8, "x..x..x.", id="E(3,8)-tresillo"),
    pytest.param(4, 7, "x.x.x.x", id="E(4,7)"),
    pytest.param(4, 9, "x.x.x.x..", id="E(4,9)"),
    pytest.param(4, 11, "x..x..x..x.", id="E(4,11)"),
    pytest.param(5, 6, "x.xxxx", id="E(5,6)"),
    pytest.param(5, 7, "x.xx.xx", id="E(5,7)"),
    pytest.param(5, 8, "x.xx.xx.", id="E(5,8)-cinquillo"),
    pytest.param(5, 9, "x.x.x.x.x", id="E(5,9)"),
    pytest.param(5, 11, "x.x.x.x.x..", id="E(5,11)"),
    pytest.param(5, 12, "x..x.x..x.x.", id="E(5,12)"),
    pytest.param(5, 16, "x..x..x..x..x...", id="E(5,16)-bossa"),
    pytest.param(7, 8, "x.xxxxxx", id="E(7,8)"),
    pytest.param(7, 12, "x.xx.x.xx.x.", id="E(7,12)"),
    pytest.param(7, 16, "x..x.x.x..x.x.x.", id="E(7,16)"),
    pytest.param(9, 16, "x.xx.x.x.xx.x.x.", id="E(9,16)"),
    pytest.param(11, 24, "x..x.x.x.x.x..x.x.x.x.x.", id="E(11,24)"),
    pytest.param(13, 24, "x.xx.x.x.x.x.xx.x.x.x.x.", id="E(13,24)"),
]


def _rotations(pattern: list[int]) -> list[list[int]]:
    return [pattern[i:] + pattern[:i] for i in range(len(pattern))]


@pytest.mark.parametrize(("k", "n", "table"), TOUSSAINT)
def test_matches_toussaint_up_to_rotation(k: int, n: int, table: str) -> None:
    expected = [1 if c == "x" else 0 for c in table]
    assert len(expected) == n and sum(expected) == k  # the table itself is well formed
    assert euclidean(k, n) in _rotations(expected)


def test_protocol_sequence_exactly() -> None:
    assert euclidean(5, 13) == [1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0]


@pytest.mark.parametrize(
    ("k", "n", "exact"),
    [
        pytest.param(3, 8, [1, 0, 0, 1, 0, 0, 1, 0], id="tresillo"),
        pytest.param(5, 8, [1, 0, 1, 1, 0, 1, 1, 0], id="cinquillo"),
        pytest.param(0, 4, [0, 0, 0, 0], id="no-pulses"),
        pytest.param(4, 4, [1, 1, 1, 1], id="all-pulses"),
    ],
)
def test_exact_bjorklund_output(k: int, n: int, exact: list[int]) -> None:
    assert euclidean(k, n) == exact


def test_rotation_is_a_left_shift() -> None:
    assert euclidean(5, 13, rotation=3) == [1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0]
    assert euclidean(5, 13, rotation=-10) == euclidean(5, 13, rotation=3)


@pytest.mark.parametrize(
    ("k", "n", "message"),
    [
        pytest.param(6, 5, r"pulses \(6\) cannot exceed steps \(5\)", id="k-above-n"),
        pytest.param(0, 0, "steps must be >= 1; got 0", id="n-below-1"),
        pytest.param(-1, 5, "pulses must be >= 0; got -1", id="k-negative"),
    ],
)
def test_invalid_k_n(k: int, n: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        euclidean(k, n)


@st.composite
def _k_n(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 64))
    return draw(st.integers(0, n)), n


@given(_k_n())
def test_k_onsets(k_n: tuple[int, int]) -> None:
    k, n = k_n
    pattern = euclidean(k, n)
    assert len(pattern) == n
    assert sum(pattern) == k


@given(_k_n())
def test_maximally_even(k_n: tuple[int, int]) -> None:
    k, n = k_n
    onsets = [i for i, on in enumerate(euclidean(k, n)) if on]
    if len(onsets) < 2:
        return
    gaps = [(b - a) % n for a, b in zip(onsets, onsets[1:] + onsets[:1], strict=True)]
    assert max(gaps) - min(gaps) <= 1


@given(_k_n(), st.integers(-100, 100))
def test_rotation_is_a_cyclic_shift(k_n: tuple[int, int], rotation: int) -> None:
    k, n = k_n
    base = euclidean(k, n)
    rotated = euclidean(k, n, rotation=rotation)
    shift = rotation % n
    assert rotated == base[shift:] + base[:shift] == rotate(base, rotation)
