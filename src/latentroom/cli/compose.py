"""``latentroom compose``: statistics, synthetic latents, patterns, tempo and spec rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentroom.cli.levels import OUTPUT_HELP
from latentroom.cli.options import DeviceOpt, DtypeOpt, ForceOpt, QuietOpt, placed

compose_app = typer.Typer(
    help="Compose in latent space (after UnRAVEl): stats, synth, patterns, tempo, specs.",
    no_args_is_help=True,
)

_Output = Annotated[Path, typer.Option("-o", "--output", help="File to write.")]


@compose_app.command("stats")
def stats(
    inputs: Annotated[list[Path], typer.Argument(help="Latent files or audio.")],
    output: _Output,
    codec: Annotated[str | None, typer.Option(help="Codec that encodes audio inputs.")] = None,
    ar_order: Annotated[int, typer.Option(help="Order p of the AR fit (for synth --ar).")] = 2,
    force: ForceOpt = False,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = None,
) -> None:
    """Per-dim mean, std, covariance, correlation and robust stats over all input frames."""
    from latentroom.compose.sources import load_inputs
    from latentroom.compose.stats import compute_stats
    from latentroom.compose.stats_file import save_stats
    from latentroom.fileio import check_outputs

    where = placed(device, dtype)
    check_outputs([output], force=force, inputs=inputs)
    found = load_inputs(inputs, codec_name=codec, **where)
    result = compute_stats(found, sources=[str(p) for p in inputs], ar_order=ar_order)
    save_stats(output, result)
    typer.echo(
        f"{result.n_frames} frames x {result.latent_dim} dims at {result.frame_rate:g} Hz "
        f"from {len(inputs)} input(s); wrote {output}"
    )


@compose_app.command("synth")
def synth(
    stats_path: Annotated[Path, typer.Option("--stats", help="Stats JSON from `compose stats`.")],
    distribution: Annotated[
        str, typer.Option(help="normal, uniform, iqr-uniform, correlated or ar.")
    ],
    frames: Annotated[int, typer.Option(help="Frames to draw.")],
    output: _Output,
    seed: Annotated[int, typer.Option(help="Seed of the one random generator.")] = 0,
    force: ForceOpt = False,
) -> None:
    """Draw synthetic latents that follow the statistics of real encodings."""
    from latentroom.compose.stats_file import load_stats
    from latentroom.compose.synth import synthesize_trajectory
    from latentroom.fileio import check_outputs
    from latentroom.latents.files import save_latents

    check_outputs([output], force=force, inputs=[stats_path])
    loaded = load_stats(stats_path)
    trajectory = synthesize_trajectory(
        loaded, distribution=distribution, n_frames=frames, seed=seed
    )
    save_latents(output, trajectory, source=str(stats_path))
    typer.echo(f"{frames} frames of {distribution} latents; wrote {output}")


@compose_app.command("pattern")
def pattern(
    name: Annotated[str, typer.Argument(help="fibo, orale, blender or swapper.")],
    a_path: Annotated[Path, typer.Argument(help="Latent file A.")],
    output: _Output,
    b_path: Annotated[Path | None, typer.Option("--b", help="Latent file B.")] = None,
    loops: Annotated[int, typer.Option(help="Copies L of each step.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed for orale and swapper.")] = 0,
    depth: Annotated[int | None, typer.Option(help="orale: levels.")] = None,
    amount: Annotated[float | None, typer.Option(help="orale: offset scale.")] = None,
    cells_per_step: Annotated[int | None, typer.Option(help="blender: cells a step.")] = None,
    n_swaps: Annotated[int | None, typer.Option(help="swapper: swaps (default N).")] = None,
    max_frames: Annotated[int, typer.Option(help="Refuse longer outputs.")] = 200_000,
    force: ForceOpt = False,
) -> None:
    """Arrange latents with a pattern (fibo, orale, blender, swapper)."""
    from latentroom.compose.sources import pattern_trajectory
    from latentroom.fileio import check_outputs
    from latentroom.latents.files import load_latents, save_latents

    check_outputs([output], force=force, inputs=[a_path, *([] if b_path is None else [b_path])])
    given = {"depth": depth, "amount": amount, "cells_per_step": cells_per_step}
    options = {k: v for k, v in (given | {"n_swaps": n_swaps}).items() if v is not None}
    b = None if b_path is None else load_latents(b_path)
    result = pattern_trajectory(
        name, load_latents(a_path), b, seed=seed, loops=loops, max_frames=max_frames, **options
    )
    save_latents(output, result, source=str(a_path))
    typer.echo(f"{name}: {result.n_frames} frames ({result.duration:.2f} s); wrote {output}")


@compose_app.command("tempo")
def tempo(
    codec: Annotated[str | None, typer.Option(help="Codec whose frame rate to use.")] = None,
    frame_rate: Annotated[float | None, typer.Option(help="Frame rate in Hz.")] = None,
    sample_rate: Annotated[float | None, typer.Option(help="Sample rate (with --hop).")] = None,
    hop: Annotated[int | None, typer.Option(help="Samples per frame.")] = None,
    k_min: Annotated[int, typer.Option(help="Shortest loop (frames).")] = 4,
    k_max: Annotated[int, typer.Option(help="Longest loop (frames).")] = 16,
    bpm: Annotated[float | None, typer.Option(help="Find the loop nearest this tempo.")] = None,
) -> None:
    """Tempo of a loop of k latent frames: BPM = 60 * frame_rate / k."""
    from latentroom.compose.tempo import nearest_k, resolve_frame_rate, tempo_table

    rate = resolve_frame_rate(
        codec=codec, frame_rate=frame_rate, sample_rate=sample_rate, hop_length=hop
    )
    match = None if bpm is None else nearest_k(rate, bpm)
    typer.echo(f"frame rate {rate:.6g} Hz")
    typer.echo(f"{'k':>4} {'BPM':>9} {'double':>9}")
    for row in tempo_table(rate, k_min=k_min, k_max=k_max):
        double = "" if row.double_time is None else f"{row.double_time:.2f}"
        mark = f"  <- nearest to {bpm:g} BPM" if match is not None and row.k == match.k else ""
        typer.echo(f"{row.k:>4} {row.bpm:>9.2f} {double:>9}{mark}")
    if match is not None:
        typer.echo(
            f"nearest to {bpm:g} BPM: k = {match.k} -> {match.bpm:.2f} BPM "
            f"(error {match.error:+.2f} BPM)"
        )


@compose_app.command("render")
def render(
    spec: Annotated[Path, typer.Argument(help="Composition spec (TOML).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")],
    seed: Annotated[int | None, typer.Option(help="Master seed (overrides the spec).")] = None,
    level: Annotated[str | None, typer.Option(help=OUTPUT_HELP + " Overrides the spec.")] = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = None,
) -> None:
    """Render a composition spec to latents, a Pd latent WAV, audio, a heatmap, resolved spec."""
    from latentroom.compose.output import render_spec
    from latentroom.compose.render import n_steps
    from latentroom.compose.spec import load_spec
    from latentroom.progress import progress_bar

    where = placed(device, dtype)
    with progress_bar(n_steps(load_spec(spec)), "compose", enabled=not quiet) as advance:
        written = render_spec(
            spec, output, force=force, seed=seed, level=level, progress=advance, **where
        )
    for role, path in written.items():
        typer.echo(f"{role}: {path}")


def register(app: typer.Typer) -> None:
    """Add the ``compose`` group to the app."""
    app.add_typer(compose_app, name="compose")
