"""Options shared by many commands: ``--device``, ``--dtype``, ``--force``, ``--quiet``, ...

One definition, so the spelling, help text and default are the same everywhere (plain flags: no
``--no-force`` / ``--no-quiet`` twins).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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


ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        help="Where the work runs: local (this process), dask (a loopback cluster of --workers "
        "processes) or dask:ADDRESS (a running scheduler); see docs/scale-out.md.",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", help="Worker processes of a --executor dask local cluster (cores)."),
]


@contextlib.contextmanager
def executor_for(text: str, workers: int | None, device: str = "cpu") -> Iterator[Any]:
    """The executor ``--executor`` names (None for local), closed when the block ends.

    The engine is imported only here, when it was chosen.
    """
    from latentroom.scaleout.executor import connect, parse_executor

    spec = parse_executor(text)
    if spec.is_local:
        if workers is not None:
            from latentroom.errors import ConfigError

            raise ConfigError("--workers sizes a --executor dask cluster; drop it for local runs")
        yield None
        return
    with connect(spec, n_workers=workers, device=device) as executor:
        yield executor
