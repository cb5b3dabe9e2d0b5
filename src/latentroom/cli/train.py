"""``latentroom train``: train latentroom's own models (``train codec``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentroom.cli.options import DeviceOpt, ForceOpt, QuietOpt, resolved

LONG_CPU_RUN = 1000  # steps from which a CPU run is announced as hours long
train_app = typer.Typer(help="Train latentroom's own models.", no_args_is_help=True)


@train_app.command("codec")
def codec(
    data: Annotated[Path, typer.Option(help="Folder of audio files (searched recursively).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model folder to write.")],
    steps: Annotated[int | None, typer.Option(help="Total optimiser steps.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Segments per step.")] = None,
    segment_seconds: Annotated[
        float | None, typer.Option(help="Seconds per training segment.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seeds weights, batches and noise.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from OUTPUT/train_state.pt.")
    ] = False,
    config: Annotated[
        Path | None, typer.Option(help="JSON training config (keys of TrainConfig).")
    ] = None,
    init: Annotated[
        Path | None, typer.Option(help="Start from this trained model folder (fine-tune).")
    ] = None,
    eval_data: Annotated[
        Path | None,
        typer.Option(help="Corpus with holdout/<family>/ clips: write OUTPUT/eval/report.md."),
    ] = None,
    eval_clips: Annotated[
        int | None,
        typer.Option(help="Held-out clips per family to score, spread over each (default: all)."),
    ] = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    device: DeviceOpt = "auto",
) -> None:
    """Train the built-in codec on a folder of audio; write OUTPUT/model.safetensors + model.json.

    Use the result as the codec builtin:OUTPUT in every command. Ctrl-C saves a checkpoint;
    --resume continues exactly where the run stopped.
    """
    from latentroom.fileio import check_outputs
    from latentroom.progress import progress_bar
    from latentroom.train.config import TrainConfig
    from latentroom.train.loop import (
        check_unfinished,
        evaluate_model,
        output_files,
        resume_config,
        train_codec,
        training_data,
    )

    where = resolved(device)
    overrides = {"steps": steps, "batch_size": batch_size, "segment_seconds": segment_seconds}
    overrides["seed"] = seed
    if resume and config is None:
        base = resume_config(output)
    else:
        base = TrainConfig.from_file(config) if config is not None else TrainConfig()
    train_config = base.replace(**overrides)
    if resume:
        check_unfinished(output, train_config)
    else:
        check_outputs(output_files(output), force=force)
    loaded = training_data(data, train_config)  # bad data fails before the progress bar
    if where == "cpu" and train_config.steps >= LONG_CPU_RUN and init is None and not resume:
        typer.echo(
            f"note: {train_config.steps} steps from random weights take hours on a CPU (the "
            "shipped model took 12 500 steps; the bar's estimate settles after a few steps); "
            "--steps sets fewer, --init FOLDER fine-tunes a model trained before, --device cuda "
            "trains on a GPU",
            err=True,
        )
    with progress_bar(train_config.steps, "train codec", enabled=not quiet) as advance:
        result = train_codec(
            loaded, output, train_config, resume=resume, init=init, progress=advance, device=where
        )
    typer.echo(
        f"{result.steps} steps, train loss {result.train_loss:.4f}, "
        f"validation loss {result.val_loss:.4f}, {result.seconds:.0f} s"
    )
    typer.echo(f"wrote {output / 'model.safetensors'} and {output / 'model.json'}")
    if eval_data is not None:
        summary = evaluate_model(output, eval_data, max_clips=eval_clips, device=where)
        for family, row in summary["families"].items():
            typer.echo(
                f"{family}: log-mel L1 {row['codec']['log_mel_l1']:.3f} "
                f"(baseline {row['baseline']['log_mel_l1']:.3f})"
            )
        typer.echo(f"wrote {output / 'eval' / 'report.md'}")


def register(app: typer.Typer) -> None:
    """Add the ``train`` group to the app."""
    app.add_typer(train_app, name="train")
