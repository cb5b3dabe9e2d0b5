"""``latentroom codec eval``: score any registered codec on held-out clips."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from latentroom.cli.options import DeviceOpt, DtypeOpt, placed

codec_app = typer.Typer(help="Work with one codec: evaluate it.", no_args_is_help=True)


@codec_app.command("eval")
def eval_codec(
    codec: Annotated[str, typer.Option(help="Registered codec name (see `latentroom codecs`).")],
    data: Annotated[Path, typer.Option(help="Folder with holdout/<family>/*.wav (and train/).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Report folder.")],
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Also score the PCA log-mel + Griffin-Lim baseline.")
    ] = False,
    max_clips: Annotated[
        int | None, typer.Option(help="Held-out clips per family (default: all).")
    ] = None,
    pick: Annotated[
        str,
        typer.Option(
            help="Which --max-clips: spread (evenly over each family's sorted list) or first "
            "(the first N in path order)."
        ),
    ] = "spread",
    random_init: Annotated[
        bool,
        typer.Option("--random-init", help="Build the codec with random weights (no checkpoint)."),
    ] = False,
    seed: Annotated[int, typer.Option(help="Seeds decoding noise and the baseline.")] = 0,
    perceptual: Annotated[
        bool,
        typer.Option(
            "--perceptual",
            help="Also take SI-SDR, loudness, pitch, speech, speaker, PESQ/STOI and DNSMOS "
            'measures (needs pip install -e ".[perceptual]").',
        ),
    ] = False,
    pitch_model: Annotated[
        str,
        typer.Option(
            help="CREPE model for the perceptual pitch measures: tiny (fast) or full (22 M "
            "parameters, slower)."
        ),
    ] = "tiny",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing report.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = None,
) -> None:
    """Measure reconstruction (log-mel L1, MR-STFT) per family and onset preservation.

    With --perceptual, also the perceptual measures (voice measures for the speech family); the
    torch models among them (CREPE, the speaker encoder) run on --device, the ONNX ones on CPU.
    Writes OUTPUT/metrics.json, OUTPUT/report.md and OUTPUT/spectrograms.png.
    """
    from latentroom.codecs.registry import get_codec
    from latentroom.evaluation.evaluate import (
        EvalConfig,
        check_baseline_data,
        count_clips,
        evaluate_codec,
    )
    from latentroom.evaluation.report import REPORT_FILES, write_report
    from latentroom.fileio import check_outputs
    from latentroom.progress import progress_bar

    where = placed(device, dtype)
    if perceptual:  # before any work: a missing extra is one line, exit 2
        from latentroom.evaluation.perceptual.base import require_packages

        require_packages()
    config = EvalConfig(
        max_clips=max_clips,
        pick=pick,
        baseline=baseline,
        seed=seed,
        perceptual=perceptual,
        pitch_model=pitch_model,
        perceptual_device=where["device"],
    )
    check_outputs([output / name for name in REPORT_FILES], force=force)
    total = count_clips(data, max_clips)
    if baseline:
        check_baseline_data(data)  # before the model loads and the progress bar starts
    model = get_codec(codec, **where, **({"random_init": True} if random_init else {}))
    with progress_bar(total, f"eval {codec}", enabled=not quiet) as advance:
        evaluation = evaluate_codec(model, data, config, progress=advance)
    summary = write_report(output, evaluation, force=force)
    echo_summary(summary)
    typer.echo(f"wrote {output / 'report.md'}")


def echo_summary(summary: dict[str, Any]) -> None:
    """Print a report's headline numbers per family: log-mel L1, SI-SDR, levels, onsets."""
    for family, row in summary["families"].items():
        base = row["baseline"]
        versus = "" if base is None else f" (baseline {base['log_mel_l1']:.3f})"
        typer.echo(f"{family}: log-mel L1 {row['codec']['log_mel_l1']:.3f}{versus}")
    for family, row in summary["families"].items():
        if row["perceptual"] is not None:
            sdr = row["perceptual"]["codec"]["si_sdr"]["mean"]
            typer.echo(f"{family}: SI-SDR {'n/a' if sdr is None else f'{sdr:.2f} dB'}")
    for family, row in summary["families"].items():
        levels = row["levels"]["codec"]
        if levels["share_within_gate"] is not None:
            loud, peak = levels["max_abs_loudness_diff_lu"], levels["max_peak_diff_db"]
            typer.echo(
                f"{family}: level kept on {levels['share_within_gate']:.0%} of clips (worst "
                f"loudness change {'n/a' if loud is None else f'{loud:.2f} LU'}, worst peak "
                f"change {'n/a' if peak is None else f'{peak:+.2f} dB'})"
            )
    for family, row in summary["onsets"].items():
        kept = row["codec"]["preservation"]
        shown = "n/a (no onsets)" if kept is None else f"{kept:.3f}"
        typer.echo(f"{family}: onset preservation {shown}")


def register(app: typer.Typer) -> None:
    """Add the ``codec`` group to the app."""
    app.add_typer(codec_app, name="codec")
