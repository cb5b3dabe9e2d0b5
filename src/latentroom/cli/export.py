"""``latentroom export``: write models for other hosts (``export nn-tilde``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentroom.cli.options import DeviceOpt, ForceOpt, resolved

export_app = typer.Typer(help="Export models for other hosts.", no_args_is_help=True)


@export_app.command("nn-tilde")
def nn_tilde(
    output: Annotated[Path, typer.Option("-o", "--output", help="TorchScript file (.ts).")],
    codec: Annotated[str, typer.Option(help="Codec to export (only builtin).")] = "builtin",
    checkpoint: Annotated[
        Path | None, typer.Option(help="Retrained model folder (default: shipped weights).")
    ] = None,
    force: ForceOpt = False,
    device: DeviceOpt = "auto",
) -> None:
    """Export the built-in codec as a TorchScript file for nn~ in Pure Data or Max.

    The file has encode, decode and forward methods with nn~'s *_params buffers; it also loads
    in latentroom as the codec rave:OUTPUT. The model is checked on --device; the file holds
    CPU weights (nn~ moves them to a GPU itself).
    """
    from latentroom.errors import ConfigError
    from latentroom.fileio import check_outputs

    where = resolved(device)
    if codec != "builtin":
        raise ConfigError(
            f"cannot export codec {codec!r} to nn~; only 'builtin' can be exported "
            "(RAVE models already come as .ts files)"
        )
    check_outputs([output], force=force)
    from latentroom.codecs.builtin import load_builtin
    from latentroom.export.nn_tilde import export_nn_tilde

    model = load_builtin(checkpoint=checkpoint, device=where)
    export_nn_tilde(output, model.model, model.config, device=where)
    typer.echo(
        f"wrote {output} (encode: 1 x {model.hop_length} samples -> {model.latent_dim} dims; "
        f"{model.sample_rate} Hz)"
    )


def register(app: typer.Typer) -> None:
    """Add the ``export`` group to the app."""
    app.add_typer(export_app, name="export")
