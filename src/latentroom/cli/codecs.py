"""``latentroom codecs``: the table of registered codecs and whether their weights are here."""

from __future__ import annotations

import json
from typing import Any

import typer


def register(app: typer.Typer) -> None:
    """Add the ``codecs`` command."""
    app.command("codecs")(codecs)


def codecs(
    params: bool = typer.Option(
        False, "--params", help="Count parameters of the hub models too (imports them, ~10 s)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List codecs: sample rate, channels, frame rate, latent dim, parameters, weights here.

    Weights are looked up in the local Hugging Face cache only (no network); fetch missing ones
    with `huggingface-cli download ID` on a machine with internet.
    """
    from latentroom.codecs.catalog import codec_rows

    rows = codec_rows(params=params)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    _print_table(rows)


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("codec", "rate", "ch", "frame rate", "dim", "params", "weights here")
    for row in rows:
        table.add_row(
            row["name"],
            _or_dash(row["sample_rate"], "{} Hz"),
            _or_dash(row["channels"], "{}"),
            _or_dash(row["frame_rate"] and round(row["frame_rate"], 2), "{:g} Hz"),
            _or_dash(row["latent_dim"], "{}"),
            _or_dash(row["parameters"] and row["parameters"] / 1e6, "{:.1f} M"),
            row["weights"],
        )
    Console(width=120).print(table)


def _or_dash(value: Any, template: str) -> str:
    return "-" if value is None else template.format(value)
