"""Multi-head hashing of code n-grams into table slots, as in Engram.

Each (order n, head h) owns one table whose size is a distinct prime ``P_{n,h}`` no larger than
``table_size``; the slot of the n-gram ``(c_{t-n+1}, .., c_t)`` is
``(XOR_i c_{t-i} * m_{n,h,i}) mod P_{n,h}`` with seeded odd multipliers ``m``. Distinct primes
and multipliers make two n-grams that collide in one head unlikely to collide in the others, so
the concatenated lookups still tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from latentroom.errors import ConfigError

MULTIPLIER_BITS = 31  # codes < 2^16, so products stay far inside int64


@dataclass(frozen=True)
class HashPlan:
    """Tables of the memory: one per (order, head).

    Attributes
    ----------
    orders : tuple of int
        The order of each table, ``(n_tables,)``.
    heads : tuple of int
        The head of each table.
    sizes : tuple of int
        Slots of each table (distinct primes).
    multipliers : np.ndarray [shape=(n_tables, max_order), dtype=int64]
        Odd multipliers; row j uses its first ``orders[j]`` entries.
    """

    orders: tuple[int, ...]
    heads: tuple[int, ...]
    sizes: tuple[int, ...]
    multipliers: np.ndarray

    @property
    def n_tables(self) -> int:
        return len(self.sizes)

    def label(self, j: int) -> str:
        """``"order 2 / head 0"``."""
        return f"order {self.orders[j]} / head {self.heads[j]}"


def plan_tables(orders: tuple[int, ...], heads: int, table_size: int, *, seed: int = 0) -> HashPlan:
    """Distinct primes below ``table_size`` (largest first) and seeded multipliers per table."""
    n_tables = len(orders) * heads
    primes = _largest_primes(table_size, n_tables)
    if len(primes) < n_tables:
        raise ConfigError(
            f"--table-size {table_size} has only {len(primes)} primes at or below it but "
            f"{n_tables} tables (orders x heads) need distinct sizes; use a larger --table-size"
        )
    rng = np.random.default_rng([seed, 0x4E6])
    multipliers = rng.integers(1, 2**MULTIPLIER_BITS, size=(n_tables, max(orders))) | 1
    table_orders = tuple(n for n in orders for _ in range(heads))
    table_heads = tuple(h for _ in orders for h in range(heads))
    return HashPlan(table_orders, table_heads, tuple(primes), multipliers.astype(np.int64))


def _largest_primes(limit: int, count: int) -> list[int]:
    found: list[int] = []
    candidate = limit
    while candidate >= 2 and len(found) < count:
        if all(candidate % p for p in range(2, int(candidate**0.5) + 1)):
            found.append(candidate)
        candidate -= 1
    return found


def slots(codes: Any, plan: HashPlan) -> list[Any]:
    """Slot of each table for windows of codes (NumPy or torch int64, same ops).

    Parameters
    ----------
    codes : np.ndarray or torch.Tensor [shape=(B, L), dtype=int64]
        Codes of the context states, last column = the newest state.

    Returns
    -------
    list of arrays / tensors [shape=(B,)], one per table
    """
    out = []
    for j, (n, size) in enumerate(zip(plan.orders, plan.sizes, strict=True)):
        mixed = codes[:, -1] * int(plan.multipliers[j, 0])
        for i in range(1, n):
            mixed = mixed ^ (codes[:, -1 - i] * int(plan.multipliers[j, i]))
        out.append(mixed % size)
    return out
