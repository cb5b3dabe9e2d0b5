"""``latentroom corpus``: make data sets (``corpus synth``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

corpus_app = typer.Typer(help="Make data sets for training and evaluation.", no_args_is_help=True)


@corpus_app.command("synth")
def synth(
    output: Annotated[Path, typer.Option("-o", "--output", help="Corpus folder to create.")],
    minutes: Annotated[float, typer.Option(help="Total minutes of audio (train + holdout).")],
    seed: Annotated[int, typer.Option(help="Master seed; same seed gives identical files.")] = 0,
    sample_rate: Annotated[int, typer.Option(help="Sample rate in Hz.")] = 48_000,
    clip_seconds: Annotated[float, typer.Option(help="Length of each clip in seconds.")] = 4.0,
    holdout: Annotated[float, typer.Option(help="Fraction of each family held out.")] = 0.1,
    families: Annotated[
        str | None, typer.Option(help="Comma-separated families (default: all).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing corpus folder.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Render license-clean synthetic audio: tones, plucks, noise, drums, rhythms, speech.

    Writes OUTPUT/train/<family>/*.wav, OUTPUT/holdout/<family>/*.wav and OUTPUT/manifest.json.
    """
    from latentroom.datasets.corpus import SynthCorpusConfig, build_synth_corpus
    from latentroom.fileio import check_outputs
    from latentroom.progress import progress_bar

    options: dict[str, object] = {"minutes": minutes, "seed": seed, "sample_rate": sample_rate}
    options |= {"clip_seconds": clip_seconds, "holdout": holdout}
    if families is not None:
        options["families"] = tuple(f.strip() for f in families.split(",") if f.strip())
    config = SynthCorpusConfig.from_dict(options)
    check_outputs([output], force=force, folders=True)
    with progress_bar(config.n_clips, "synth corpus", enabled=not quiet) as advance:
        manifest = build_synth_corpus(output, config, force=force, progress=advance)
    for family, counts in manifest["families"].items():
        typer.echo(f"{family}: {counts['train']} train, {counts['holdout']} holdout")
    for family, why in manifest["skipped"].items():
        typer.echo(f"{family}: skipped ({why})")
    typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    """Add the ``corpus`` group to the app."""
    app.add_typer(corpus_app, name="corpus")
