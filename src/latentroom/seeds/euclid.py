"""Euclidean rhythms E(k, n) by Bjorklund's algorithm, as tabulated by Toussaint (2005)."""

from __future__ import annotations

from latentroom.errors import ConfigError


def euclidean(k: int, n: int, *, rotation: int = 0) -> list[int]:
    """Spread ``k`` onsets as evenly as possible over ``n`` steps (Bjorklund's algorithm).

    Parameters
    ----------
    k : int in [0, n]
        Number of onsets (pulses).
    n : int >= 1
        Number of steps in one cycle.
    rotation : int
        Rotate left by this many steps: the result starts at step ``rotation`` of the
        rotation-0 rhythm. Any integer; it is taken modulo ``n``.

    Returns
    -------
    list of int [length n]
        1 at onsets, 0 at rests.

    Raises
    ------
    ConfigError
        ``n < 1``, ``k < 0`` or ``k > n``.

    Examples
    --------
    >>> euclidean(5, 13)
    [1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0]
    >>> euclidean(3, 8)
    [1, 0, 0, 1, 0, 0, 1, 0]
    """
    check_pulses(k, n)
    pattern = _bjorklund(k, n)
    return rotate(pattern, rotation)


def check_pulses(k: int, n: int) -> None:
    """Raise ``ConfigError`` unless ``0 <= k <= n`` and ``n >= 1``."""
    if n < 1:
        raise ConfigError(f"steps must be >= 1; got {n}; a rhythm needs at least one step")
    if k < 0:
        raise ConfigError(f"pulses must be >= 0; got {k}")
    if k > n:
        raise ConfigError(
            f"pulses ({k}) cannot exceed steps ({n}); lower --pulses or raise --steps"
        )


def rotate(pattern: list[int], rotation: int) -> list[int]:
    """Cyclic left shift of ``pattern`` by ``rotation`` steps (modulo its length)."""
    if not pattern:
        return []
    shift = rotation % len(pattern)
    return pattern[shift:] + pattern[:shift]


def _bjorklund(k: int, n: int) -> list[int]:
    """Bjorklund's pairing, in Toussaint's formulation.

    1. Start with ``k`` groups ``[1]`` and ``n - k`` remainder groups ``[0]``.
    2. Append one remainder group to each of the first groups, as many as can be paired;
       the unpaired groups (of either kind) become the new remainder.
    3. Repeat while more than one remainder group is left; concatenate groups, then remainder.
    """
    if k == 0:
        return [0] * n
    groups: list[list[int]] = [[1] for _ in range(k)]
    remainder: list[list[int]] = [[0] for _ in range(n - k)]
    while len(remainder) > 1:
        paired = min(len(groups), len(remainder))
        leftover = groups[paired:] or remainder[paired:]
        groups = [groups[i] + remainder[i] for i in range(paired)]
        remainder = leftover
    return [step for group in groups + remainder for step in group]
