"""``latentroom loop``: iterate audio through a model under a schedule, measure the drift."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentroom.cli.levels import LOOP_HELP
from latentroom.cli.options import DeviceOpt, DtypeOpt, ForceOpt, QuietOpt, placed

DEFAULT_BACKEND = "room:builtin"


def loop(
    input_file: Annotated[
        Path | None,
        typer.Argument(
            metavar="[INPUT]", help="Audio for pass 0 (default: the protocol's Koenig seed)."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Run directory to write.")
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(help=f"room:CODEC, acestep or acestep-v1 (default {DEFAULT_BACKEND})."),
    ] = None,
    schedule: Annotated[
        Path | None, typer.Option(help="Schedule TOML (default: the protocol, 5 passes).")
    ] = None,
    passes: Annotated[int | None, typer.Option(help="Override the number of passes.")] = None,
    set_values: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a param on every pass, e.g. strength=0.3."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="ACE-Step model / checkpoint (acestep backends).")
    ] = None,
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            help="ACE-Step 1.5 checkpoints folder (acestep; default "
            "$LATENTROOM_ACESTEP_CHECKPOINTS or ./checkpoints)."
        ),
    ] = None,
    level: Annotated[
        str | None,
        typer.Option(help=LOOP_HELP),
    ] = None,
    seed: Annotated[int, typer.Option(help="Master seed; pass i gets child i.")] = 0,
    resume: Annotated[
        Path | None, typer.Option(help="Continue the unfinished run in this directory.")
    ] = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = None,
) -> None:
    """Run the neural feedback loop: each pass's output is the next pass's input.

    Writes iter_00.wav (input) ... iter_NN.wav, manifest.json, metrics.csv/json, report.md,
    spectrograms.png, horizon.png and metrics.png into the run directory. --resume continues a
    run that was interrupted (on --device; in the run's dtype); on the same device the result
    is byte-identical to an uninterrupted run.
    """
    from latentroom.errors import ConfigError
    from latentroom.feedback import engine
    from latentroom.feedback.schedule import load_schedule
    from latentroom.progress import progress_bar

    if resume is not None:
        given = [input_file, output, backend, schedule, passes, set_values, model, checkpoints]
        if any(value is not None for value in [*given, level, dtype]):
            raise ConfigError("--resume continues a run with its own settings; give only RUN_DIR")
        run = engine.open_run(resume, device=device)
        with progress_bar(run.manifest["n_passes"], "loop", enabled=not quiet) as advance:
            manifest = engine.resume_run(run, progress=advance)
        run_dir = resume
    else:
        if output is None:
            raise ConfigError("give the run directory with -o/--output (or --resume RUN_DIR)")
        plan = load_schedule(schedule, passes=passes, assignments=set_values)
        given_options = {"model": model, "checkpoints": checkpoints and str(checkpoints.resolve())}
        options = {key: value for key, value in given_options.items() if value is not None}
        settings = engine.LoopSettings(
            plan,
            backend or DEFAULT_BACKEND,
            options,
            seed,
            level or "keep",
            **placed(device, dtype),
        )
        source = engine.seed_input() if input_file is None else engine.file_input(input_file)
        built = engine.build_backend(settings.backend, options, settings.device, settings.dtype)
        engine.check_run_dir(output, force=force, inputs=[] if input_file is None else [input_file])
        with progress_bar(plan.passes, "loop", enabled=not quiet) as advance:
            manifest = engine.start_run(
                output, source, settings, force=force, backend=built, progress=advance
            )
        run_dir = output
    last = manifest["passes"][-1]["metrics"]
    typer.echo(
        f"{manifest['n_passes']} passes; last: persistence {last['persistence']:.2f}, "
        f"{last['lufs']:.1f} LUFS"
    )
    typer.echo(f"wrote {run_dir / 'report.md'}")


def register(app: typer.Typer) -> None:
    """Add the ``loop`` command to the app."""
    app.command("loop")(loop)
