"""Xenakis sieves: unions, intersections and complements of residue classes over the steps."""

from __future__ import annotations

import re
from typing import NoReturn

import numpy as np

from latentroom.errors import ConfigError

_TOKEN = re.compile(r"\s*(?:(?P<cls>(?P<mod>\d+)\s*@\s*(?P<res>\d+))|(?P<op>[|&~()]))")
_HELP = (
    "write residue classes as MODULUS@RESIDUE joined by | (union), & (intersection), "
    "~ (complement) and parentheses, e.g. '5@0|13@3'"
)


def sieve_rhythm(text: str, n: int) -> list[int]:
    """Evaluate a sieve on the steps ``0 .. n-1``.

    Parameters
    ----------
    text : str
        A sieve such as ``"5@0|13@3"`` (steps that are 0 mod 5 or 3 mod 13),
        ``"(3@0|4@1)&~12@0"``. ``m@r`` is the residue class {i : i mod m == r mod m};
        ``~`` binds tightest, then ``&``, then ``|``.
    n : int >= 1
        Number of steps.

    Returns
    -------
    list of int [length n]
        1 at steps in the sieve, 0 elsewhere.

    Raises
    ------
    ConfigError
        A malformed sieve (naming the text and the position) or a modulus of 0.

    Examples
    --------
    >>> sieve_rhythm("3@0|4@1", 12)
    [1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0]
    """
    parser = _Parser(text, n)
    mask = parser.union()
    if parser.pos != len(parser.tokens):
        parser.fail()
    return [int(on) for on in mask]


class _Parser:
    """Recursive descent over the tokens; each rule returns a boolean mask of length n."""

    def __init__(self, text: str, n: int) -> None:
        self.text = text
        self.steps = np.arange(n)
        self.tokens: list[tuple[str, re.Match[str]]] = []
        self.pos = 0
        at = 0
        while at < len(text.rstrip()):
            match = _TOKEN.match(text, at)
            if match is None:
                rest = text[at:].lstrip()
                raise ConfigError(
                    f"malformed sieve {text!r}: unexpected {rest[:10]!r} "
                    f"at position {len(text) - len(rest)}; {_HELP}"
                )
            self.tokens.append((match["op"] or "class", match))
            at = match.end()
        if not self.tokens:
            raise ConfigError(f"malformed sieve {text!r}: it is empty; {_HELP}")

    def fail(self) -> NoReturn:
        if self.pos >= len(self.tokens):
            raise ConfigError(f"malformed sieve {self.text!r}: it ends too early; {_HELP}")
        match = self.tokens[self.pos][1]
        raise ConfigError(
            f"malformed sieve {self.text!r}: unexpected {match.group().strip()!r} "
            f"at position {match.start('cls' if match['cls'] else 'op')}; {_HELP}"
        )

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def union(self) -> np.ndarray:
        mask = self.intersection()
        while self.peek() == "|":
            self.pos += 1
            mask = mask | self.intersection()
        return mask

    def intersection(self) -> np.ndarray:
        mask = self.factor()
        while self.peek() == "&":
            self.pos += 1
            mask = mask & self.factor()
        return mask

    def factor(self) -> np.ndarray:
        kind = self.peek()
        if kind == "~":
            self.pos += 1
            return ~self.factor()
        if kind == "(":
            self.pos += 1
            mask = self.union()
            if self.peek() != ")":
                self.fail()
            self.pos += 1
            return mask
        if kind == "class":
            return self.residue_class()
        self.fail()

    def residue_class(self) -> np.ndarray:
        match = self.tokens[self.pos][1]
        self.pos += 1
        modulus, residue = int(match["mod"]), int(match["res"])
        if modulus < 1:
            raise ConfigError(
                f"malformed sieve {self.text!r}: modulus {modulus} in {match['cls']!r} must be >= 1"
            )
        return np.asarray(self.steps % modulus == residue % modulus)
