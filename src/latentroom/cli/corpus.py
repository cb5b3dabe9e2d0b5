"""``latentroom corpus``: make data sets (``corpus synth``, ``corpus build``)."""

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


@corpus_app.command("build")
def build(
    sources: Annotated[
        list[str],
        typer.Argument(help="Folders of audio, each as PATH=FAMILY (or PATH with --family)."),
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Corpus folder to create or resume.")
    ],
    family: Annotated[
        str | None, typer.Option(help="Family of every source given without =FAMILY.")
    ] = None,
    license: Annotated[
        list[str] | None,
        typer.Option(
            help="License where no Debian copyright file names one: PATH=LICENSE or LICENSE."
        ),
    ] = None,
    sample_rate: Annotated[int, typer.Option(help="Sample rate of the clips in Hz.")] = 48_000,
    clip_seconds: Annotated[float, typer.Option(help="Length of each clip in seconds.")] = 4.0,
    holdout: Annotated[float, typer.Option(help="Fraction of each source's works held out.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Picks clip offsets and the split.")] = 0,
    max_clips_per_file: Annotated[int, typer.Option(help="Clips cut from one file at most.")] = 8,
    max_hours: Annotated[
        float | None, typer.Option(help="Stop once this many hours are written.")
    ] = None,
    pad_short: Annotated[
        bool, typer.Option("--pad-short", help="Pad files shorter than a clip instead of skipping.")
    ] = False,
    work_regex: Annotated[
        str | None, typer.Option(help="Regex on the path inside a source; group 1 is the work.")
    ] = None,
    soundfont: Annotated[
        Path | None, typer.Option(help="SoundFont (.sf2) for rendering MIDI with fluidsynth.")
    ] = None,
    allow_unknown_license: Annotated[
        bool, typer.Option("--allow-unknown-license", help="Admit files without a license.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a finished corpus or another unfinished build.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Cut folders of real audio (WAV, FLAC, OGG, MP3, MIDI) into a licensed, split corpus.

    Writes OUTPUT/train/<family>/*.wav, OUTPUT/holdout/<family>/*.wav and OUTPUT/corpus.json;
    a killed build resumes when run again with the same arguments.
    """
    import time

    from latentroom.datasets.build import build_corpus
    from latentroom.datasets.build_plan import (
        BuildConfig,
        attach_licenses,
        parse_source,
        scan_sources,
    )
    from latentroom.progress import progress_bar

    config = BuildConfig(
        sample_rate=sample_rate,
        clip_seconds=clip_seconds,
        holdout=holdout,
        seed=seed,
        max_clips_per_file=max_clips_per_file,
        max_hours=max_hours,
        pad_short=pad_short,
        work_regex=work_regex,
        soundfont=None if soundfont is None else str(soundfont),
        allow_unknown_license=allow_unknown_license,
    )
    parsed = attach_licenses([parse_source(s, family) for s in sources], license or [])
    files = scan_sources(parsed, config)
    start = time.monotonic()
    with progress_bar(len(files), "corpus build", enabled=not quiet) as advance:
        manifest = build_corpus(output, parsed, config, force=force, progress=advance, files=files)
    for name, counts in manifest["families"].items():
        hours = (counts["train_seconds"] + counts["holdout_seconds"]) / 3600
        typer.echo(
            f"{name}: {counts['train']} train, {counts['holdout']} holdout clips "
            f"({counts['train_works']} + {counts['holdout_works']} works, {hours:.2f} h)"
        )
    skipped = manifest["skipped"]
    typer.echo(
        f"skipped: {skipped['silent']} silent clips, {skipped['short']} short files, "
        f"{len(skipped['unreadable'])} unreadable files"
    )
    for path in skipped["unreadable"]:
        typer.echo(f"unreadable: {path}")
    typer.echo(f"wrote {output} in {time.monotonic() - start:.0f} s")


def register(app: typer.Typer) -> None:
    """Add the ``corpus`` group to the app."""
    app.add_typer(corpus_app, name="corpus")
