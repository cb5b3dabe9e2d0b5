"""Xenakis sieves: residue classes, union, intersection, complement, and malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from latentroom.errors import ConfigError
from latentroom.seeds import sieve_rhythm


def _onsets(text: str, n: int) -> list[int]:
    return [i for i, on in enumerate(sieve_rhythm(text, n)) if on]


@pytest.mark.parametrize(
    ("text", "n", "onsets"),
    [
        pytest.param("5@0", 16, [0, 5, 10, 15], id="one-class"),
        pytest.param("5@0|13@3", 30, [0, 3, 5, 10, 15, 16, 20, 25, 29], id="union"),
        pytest.param("2@0&3@0", 13, [0, 6, 12], id="intersection"),
        pytest.param("~2@0", 7, [1, 3, 5], id="complement"),
        pytest.param("3@0|4@1&2@1", 12, [0, 1, 3, 5, 6, 9], id="and-binds-tighter"),
        pytest.param("(3@0|4@1)&2@1", 12, [1, 3, 5, 9], id="parentheses"),
        pytest.param(" 4 @ 6 ", 12, [2, 6, 10], id="spaces-and-residue-mod-m"),
        pytest.param("~(2@0|3@0)", 12, [1, 5, 7, 11], id="complement-of-group"),
    ],
)
def test_sieve_steps(text: str, n: int, onsets: list[int]) -> None:
    assert _onsets(text, n) == onsets


def test_sieve_length_is_n() -> None:
    assert len(sieve_rhythm("5@0|13@3", 65)) == 65


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("5@0|", "ends too early", id="dangling-operator"),
        pytest.param("5@0 13@3", r"unexpected '13@3' at position 4", id="missing-operator"),
        pytest.param("5:0", r"unexpected '5:0' at position 0", id="bad-character"),
        pytest.param("(5@0|3@1", "ends too early", id="unclosed-parenthesis"),
        pytest.param("5@0)", r"unexpected '\)' at position 3", id="stray-parenthesis"),
        pytest.param("0@0", r"modulus 0 in '0@0' must be >= 1", id="zero-modulus"),
        pytest.param("   ", "it is empty", id="empty"),
    ],
)
def test_malformed_sieve_names_the_text(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        sieve_rhythm(text, 16)
    assert repr(text) in str(info.value)


_classes = st.tuples(st.integers(1, 20), st.integers(0, 40)).map(lambda mr: f"{mr[0]}@{mr[1]}")


@given(st.integers(1, 20), st.integers(0, 40), st.integers(1, 80))
def test_residue_class_is_its_definition(modulus: int, residue: int, n: int) -> None:
    expected = [int(i % modulus == residue % modulus) for i in range(n)]
    assert sieve_rhythm(f"{modulus}@{residue}", n) == expected


@given(_classes, _classes, st.integers(1, 80))
def test_set_algebra(a: str, b: str, n: int) -> None:
    assert sieve_rhythm(f"{a}|~{a}", n) == [1] * n
    assert sieve_rhythm(f"{a}&~{a}", n) == [0] * n
    assert sieve_rhythm(f"~({a}|{b})", n) == sieve_rhythm(f"~{a}&~{b}", n)
    assert sieve_rhythm(f"{a}|{b}", n) == sieve_rhythm(f"{b}|{a}", n)
