"""UnRAVEl's composition patterns (fibo, orale, blender, swapper) as pure, seeded functions.

Each pattern takes latent arrays ``(N, D)`` and keyword options and returns a new float32 array;
inputs are never modified. ``pattern_length`` gives the output length from the shapes alone, so
callers refuse an oversized output before anything is allocated.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from latentroom.errors import ConfigError, InvalidLatentError

#: Default cap on pattern output frames (about 2.6 h at RAVE's 21.5 Hz).
MAX_FRAMES = 200_000
PATTERNS = ("fibo", "orale", "blender", "swapper")
#: Patterns that take a second array ``B`` of the same shape as ``A``.
TWO_ARRAY_PATTERNS = ("blender", "swapper")


def fibo(a: np.ndarray, *, loops: int = 1, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """Concatenate the prefixes ``A[0:k]`` for k = 1, 2, 3, 5, 8, ... <= N; tile ``loops`` times.

    Parameters
    ----------
    a : np.ndarray [shape=(N, D)]
    loops : int >= 1
        ``L``.
    max_frames : int >= 1
        Refuse (before allocating) outputs longer than this.

    Returns
    -------
    np.ndarray [shape=(L * sum(k for k in 1, 2, 3, 5, ... if k <= N), D), dtype=float32]
    """
    a = _check_array(a, "A")
    _check_length(pattern_length("fibo", a.shape, loops=loops), max_frames)
    section = np.concatenate([a[:k] for k in fibonacci_up_to(a.shape[0])])
    return np.tile(section, (loops, 1))


def orale(
    a: np.ndarray,
    *,
    loops: int = 1,
    depth: int = 3,
    amount: float = 1.0,
    std: np.ndarray | None = None,
    rng: np.random.Generator | int | None = None,
    max_frames: int = MAX_FRAMES,
) -> np.ndarray:
    """The 3:1 scheme, recursively: S1 = [A, A, A, A'], S(j+1) = [Sj, Sj, Sj, Sj'], tiled.

    ``X'`` is ``X`` plus one offset row drawn uniformly in ``±amount * std`` per dim (a new draw
    at every level, levels 1 to ``depth`` in order).

    Parameters
    ----------
    a : np.ndarray [shape=(N, D)]
    loops : int >= 1
        ``L``.
    depth : int >= 1
        Levels of the scheme (UnRAVEl uses 3).
    amount : float >= 0
        Scale of the offsets relative to ``std``.
    std : np.ndarray [shape=(D,)] or None
        Per-dim spread of the offsets; None uses the population std of ``a`` over its frames.
    rng : np.random.Generator, int or None
        Source of the offsets.
    max_frames : int >= 1
        Refuse (before allocating) outputs longer than this.

    Returns
    -------
    np.ndarray [shape=(L * 4**depth * N, D), dtype=float32]
    """
    a = _check_array(a, "A")
    _check_length(pattern_length("orale", a.shape, loops=loops, depth=depth), max_frames)
    if not amount >= 0:
        raise ConfigError(f"orale amount must be >= 0; got {amount}")
    spread = a.std(axis=0) if std is None else _check_vector(std, a.shape[1])
    generator = np.random.default_rng(rng)
    section = a
    for _ in range(depth):
        offset = generator.uniform(-1.0, 1.0, size=(1, a.shape[1])) * amount * spread
        section = np.concatenate([section, section, section, section + offset])
    return np.tile(section, (loops, 1)).astype(np.float32)


def blender(
    a: np.ndarray,
    b: np.ndarray,
    *,
    loops: int = 1,
    cells_per_step: int = 1,
    max_frames: int = MAX_FRAMES,
) -> np.ndarray:
    """Blend A into B cell by cell: L copies of A, then per step replace cells and append L copies.

    Cells are taken in row-major order (row i, then dim j); each step sets the next
    ``cells_per_step`` cells of the working copy of A to B's values (the last step may set
    fewer). After the last step the working copy equals B.

    Parameters
    ----------
    a, b : np.ndarray [shape=(N, D)]
        Same shape.
    loops : int >= 1
        ``L``.
    cells_per_step : int >= 1
        ``c``.
    max_frames : int >= 1
        Refuse (before allocating) outputs longer than this.

    Returns
    -------
    np.ndarray [shape=(L * N * (1 + ceil(N * D / c)), D), dtype=float32]
    """
    a, b = _check_pair(a, b)
    shape = a.shape
    _check_length(
        pattern_length("blender", shape, loops=loops, cells_per_step=cells_per_step), max_frames
    )
    n_cells = shape[0] * shape[1]
    n_steps = math.ceil(n_cells / cells_per_step)
    flat_a, flat_b = a.reshape(-1), b.reshape(-1)
    # Step s has replaced the first min(s * c, N * D) cells: build each state by a mask.
    states = np.empty((n_steps + 1, n_cells), dtype=np.float32)
    replaced = np.minimum(np.arange(n_steps + 1) * cells_per_step, n_cells)
    mask = np.arange(n_cells)[None, :] < replaced[:, None]
    states[:] = np.where(mask, flat_b, flat_a)
    frames = states.reshape(n_steps + 1, 1, *shape)
    return np.broadcast_to(frames, (n_steps + 1, loops, *shape)).reshape(-1, shape[1]).copy()


def swapper(
    a: np.ndarray,
    b: np.ndarray,
    *,
    loops: int = 1,
    n_swaps: int | None = None,
    rng: np.random.Generator | int | None = None,
    max_frames: int = MAX_FRAMES,
) -> np.ndarray:
    """``n_swaps`` times: swap one random cell between A and B, then append L copies of A.

    Cells are drawn uniformly with replacement (a cell drawn twice swaps back). Works on copies.

    Parameters
    ----------
    a, b : np.ndarray [shape=(N, D)]
        Same shape.
    loops : int >= 1
        ``L``.
    n_swaps : int >= 1 or None
        ``S``; None means ``N`` (as in UnRAVEl).
    rng : np.random.Generator, int or None
        Source of the cell picks.
    max_frames : int >= 1
        Refuse (before allocating) outputs longer than this.

    Returns
    -------
    np.ndarray [shape=(L * S * N, D), dtype=float32]
    """
    a, b = _check_pair(a, b)
    swaps = a.shape[0] if n_swaps is None else n_swaps
    _check_length(pattern_length("swapper", a.shape, loops=loops, n_swaps=swaps), max_frames)
    generator = np.random.default_rng(rng)
    rows = generator.integers(0, a.shape[0], size=swaps)
    cols = generator.integers(0, a.shape[1], size=swaps)
    work_a, work_b = a.copy(), b.copy()
    out = np.empty((swaps, loops, *a.shape), dtype=np.float32)
    for step, (i, j) in enumerate(zip(rows, cols, strict=True)):
        work_a[i, j], work_b[i, j] = work_b[i, j], work_a[i, j]
        out[step] = work_a
    return out.reshape(-1, a.shape[1])


def apply_pattern(
    name: str,
    a: np.ndarray,
    b: np.ndarray | None = None,
    *,
    rng: np.random.Generator | int | None = None,
    **options: Any,
) -> np.ndarray:
    """Run pattern ``name`` on ``a`` (and ``b`` for blender and swapper) with ``options``.

    ``rng`` goes to the patterns that draw (orale, swapper); the others ignore it.
    """
    if name not in PATTERNS:
        raise ConfigError(f"unknown pattern {name!r}; choose one of {', '.join(PATTERNS)}")
    if name in TWO_ARRAY_PATTERNS and b is None:
        raise ConfigError(f"pattern {name!r} needs a second array B")
    if name not in TWO_ARRAY_PATTERNS and b is not None:
        raise ConfigError(f"pattern {name!r} takes one array; B is only for blender and swapper")
    if name == "fibo":
        return fibo(a, **options)
    if name == "orale":
        return orale(a, rng=rng, **options)
    if name == "blender":
        return blender(a, b, **options)  # type: ignore[arg-type]
    return swapper(a, b, rng=rng, **options)  # type: ignore[arg-type]


def fibonacci_up_to(n: int) -> list[int]:
    """The Fibonacci numbers 1, 2, 3, 5, 8, ... that are <= ``n`` (empty for n < 1)."""
    series, previous, current = [], 1, 1
    while current <= n:
        series.append(current)
        previous, current = current, previous + current
    return series


def pattern_length(name: str, shape: tuple[int, ...], *, loops: int = 1, **options: Any) -> int:
    """Output frames of pattern ``name`` for input ``shape = (N, D)``, without running it.

    Also validates ``loops`` and the pattern's integer options (``depth``, ``cells_per_step``,
    ``n_swaps``).
    """
    n_rows, n_dims = shape
    _check_count(loops, "loops")
    if name == "fibo":
        return loops * sum(fibonacci_up_to(n_rows))
    if name == "orale":
        return loops * 4 ** _check_count(options.get("depth", 3), "depth") * n_rows
    if name == "blender":
        cells = _check_count(options.get("cells_per_step", 1), "cells_per_step")
        return loops * n_rows * (1 + math.ceil(n_rows * n_dims / cells))
    if name == "swapper":
        swaps = options.get("n_swaps")
        return loops * (n_rows if swaps is None else _check_count(swaps, "n_swaps")) * n_rows
    raise ConfigError(f"unknown pattern {name!r}; choose one of {', '.join(PATTERNS)}")


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1; got {value!r}")
    return int(value)


def _check_length(n_frames: int, max_frames: int) -> None:
    if n_frames > max_frames:
        raise ConfigError(
            f"the pattern would make {n_frames} frames, more than max_frames = {max_frames}; "
            "use fewer loops, a shorter input, a larger cells_per_step or raise max_frames"
        )


def _check_array(a: Any, name: str) -> np.ndarray:
    array = np.asarray(a, dtype=np.float32)
    if array.ndim != 2:
        raise InvalidLatentError(f"{name} must have shape (frames, dims); got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidLatentError(f"{name} is empty (shape {array.shape}); give at least one frame")
    if not np.isfinite(array).all():
        raise InvalidLatentError(f"{name} holds NaN or Inf values; fix the latents first")
    return array


def _check_pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    first, second = _check_array(a, "A"), _check_array(b, "B")
    if first.shape != second.shape:
        raise InvalidLatentError(
            f"A has shape {first.shape} but B has shape {second.shape}; "
            "blender and swapper need two arrays of the same shape"
        )
    return first, second


def _check_vector(value: Any, n_dims: int) -> np.ndarray:
    vector = np.asarray(value, dtype=np.float64)
    if vector.shape != (n_dims,) or not np.isfinite(vector).all():
        raise ConfigError(f"std must be {n_dims} finite numbers; got shape {vector.shape}")
    return vector
