"""``latentroom seed``: render a Koenig seed (Euclidean rhythm or sieve) to audio + JSON (+ PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentroom.cli.options import ForceOpt


def seed(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Audio file to write (.wav, .flac, .ogg, .aiff).")
    ],
    pulses: Annotated[int, typer.Option(help="k: onsets of E(k, n).")] = 5,
    steps: Annotated[int, typer.Option(help="n: steps per cycle.")] = 13,
    rotation: Annotated[int, typer.Option(help="Rotate the rhythm left by R steps.")] = 0,
    sieve: Annotated[
        str | None,
        typer.Option(
            help="Xenakis sieve over the steps, e.g. '5@0|13@3' (replaces E(k, n)).",
        ),
    ] = None,
    layer: Annotated[
        list[str] | None,
        typer.Option(
            help="Extra rhythm layer, e.g. 'pulses=3,steps=8,level_db=-6,excitation=click'"
            " (repeatable).",
        ),
    ] = None,
    seconds: Annotated[float, typer.Option(help="Buffer length.")] = 10.0,
    sample_rate: Annotated[int, typer.Option(help="Hz.")] = 48_000,
    channels: Annotated[int, typer.Option(help="Identical channels.")] = 1,
    cycles: Annotated[int, typer.Option(help="Cycles of the rhythm in the buffer.")] = 1,
    step_ms: Annotated[
        float | None,
        typer.Option(help="Step length; steps fill the buffer."),
    ] = None,
    bpm: Annotated[float | None, typer.Option(help="Tempo; steps fill the buffer.")] = None,
    steps_per_beat: Annotated[int, typer.Option(help="Steps per beat with --bpm.")] = 4,
    excitation: Annotated[
        str, typer.Option(help="impulse, noise-burst, sine-ping or click.")
    ] = "impulse",
    amplitude: Annotated[float, typer.Option(help="Peak.")] = 1.0,
    freq: Annotated[float, typer.Option(help="Ping frequency / click cut-off, Hz.")] = 1000.0,
    excitation_ms: Annotated[float, typer.Option(help="Burst, ping and click length.")] = 10.0,
    tail_ms: Annotated[float, typer.Option(help="Noise tail after each pulse; 0 disables.")] = 20.0,
    tail_db: Annotated[float, typer.Option(help="Tail RMS, dBFS.")] = -40.0,
    seed: Annotated[int, typer.Option(help="Seed of the noise; same seed, same bytes.")] = 0,
    subtype: Annotated[
        str | None, typer.Option(help="Audio subtype (default FLOAT for WAV), e.g. PCM_24.")
    ] = None,
    plot: Annotated[bool, typer.Option(help="Also write a PNG (same stem).")] = False,
    force: ForceOpt = False,
) -> None:
    """Render a Koenig seed: E(k, n) pulses with noise tails, as audio + JSON (+ PNG).

    The defaults are the protocol's: E(5,13) Dirac impulses over 10 s at 48 kHz. Writes OUTPUT,
    OUTPUT's stem + .json (every parameter, the rhythm, the pulse sample positions) and with
    --plot a PNG of waveform, spectrogram and step grid.
    """
    options = dict(locals())  # the parameters; all but these five are SeedConfig fields
    for name in ("output", "layer", "subtype", "plot", "force"):
        options.pop(name)
    from latentroom.audio import check_audio_output
    from latentroom.fileio import check_outputs
    from latentroom.seeds import SeedConfig, parse_layer, render_seed, seed_output_paths, write_seed

    options["layers"] = tuple(parse_layer(text) for text in layer or ())
    config = SeedConfig.from_dict(options)
    paths = seed_output_paths(output, plot=plot)
    check_audio_output(output, subtype=subtype)
    check_outputs(paths, force=force)
    rendered = render_seed(config)
    write_seed(rendered, output, subtype=subtype, plot=plot)
    typer.echo(f"rhythm {''.join('x' if on else '.' for on in rendered.rhythm)}")
    typer.echo(f"pulses at samples {rendered.pulse_samples.tolist()}")
    for path in paths:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the ``seed`` command to the app."""
    app.command("seed")(seed)
