"""Options shared by many commands: ``--device``, ``--dtype``, ``--force``, ``--quiet``.

One definition, so the spelling, help text and default are the same everywhere (plain flags: no
``--no-force`` / ``--no-quiet`` twins).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing outputs.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
DeviceOpt = Annotated[
    str,
    typer.Option(
        "--device", help="Where models run: auto (CUDA, else MPS, else CPU), cpu, cuda[:N], mps."
    ),
]
DtypeOpt = Annotated[
    str | None,
    typer.Option(
        "--dtype",
        help="Model precision: float32 (default), bfloat16 or float16; builtin: float32 only.",
    ),
]


def resolved(device: str) -> str:
    """The resolved ``--device`` alone, for commands whose models run only in float32."""
    from latentroom.devices import resolve_device

    return resolve_device(device)


def placed(device: str, dtype: str | None = None) -> dict[str, Any]:
    """``{"device", "dtype"}`` resolved and checked, to pass to ``get_codec`` and the library.

    Called first in a command, so a bad value stops it before any output exists.
    """
    from latentroom.devices import placement

    where = placement(device, dtype or "float32")
    return {"device": where.device, "dtype": where.dtype}
