"""``latentroom encode`` and ``latentroom decode``: audio <-> latent files and corpus stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from latentroom.cli.levels import OUTPUT_HELP
from latentroom.cli.options import (
    DeviceOpt,
    DtypeOpt,
    ExecutorOpt,
    ForceOpt,
    QuietOpt,
    WorkersOpt,
    executor_for,
    placed,
)


def register(app: typer.Typer) -> None:
    """Add the ``encode`` and ``decode`` commands."""
    app.command("encode")(encode)
    app.command("decode")(decode)


def encode(
    inputs: list[Path] = typer.Argument(..., help="Audio files or folders."),
    codec: str = typer.Option(..., "--codec", "-c", help="Codec name (see `latentroom codecs`)."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="OUT.npy, OUT.wav (latent WAV for Pd) or OUT.zarr (corpus)."
    ),
    group_regex: str | None = typer.Option(
        None, "--group-regex", help="Corpus group label from each path (named group 'group')."
    ),
    sample: bool = typer.Option(False, "--sample", help="Sample the posterior (VAE codecs)."),
    seed: int = typer.Option(0, "--seed", help="Seed for --sample."),
    random_init: bool = typer.Option(
        False, "--random-init", help="Random weights (architecture-only runs)."
    ),
    subtype: str = typer.Option("FLOAT", "--subtype", help="Latent WAV: FLOAT or DOUBLE."),
    chunk_seconds: float | None = typer.Option(
        None, "--chunk-seconds", help="Audio per model call (default 20; 0: whole file)."
    ),
    overlap_seconds: float | None = typer.Option(
        None, "--overlap-seconds", help="Context each side of a chunk (default 1)."
    ),
    batch_size: int = typer.Option(8, "--batch-size", help="Corpus items per commit."),
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = None,
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
) -> None:
    """Encode audio to latents: one file to .npy/.wav, several files or folders to a .zarr corpus.

    An existing corpus store is resumed: finished items are skipped. With ``--executor dask``
    the items of a corpus are encoded on a Dask cluster's workers (docs/scale-out.md).
    """
    from latentroom.codecs.registry import get_codec
    from latentroom.latents import encoding
    from latentroom.progress import progress_bar
    from latentroom.scaleout.executor import parse_executor

    paths = encoding.collect_audio_paths(inputs)
    local = parse_executor(executor).is_local
    extra = {"random_init": True} if random_init else {}
    # On a cluster the device is resolved by each worker; this process only reads codec facts.
    build = (placed(device, dtype) if local else placed("cpu", dtype)) | extra
    options: dict[str, Any] = {"chunk_seconds": chunk_seconds, "overlap_seconds": overlap_seconds}
    options |= {"sample": sample, "seed": seed}
    if output.suffix.lower() == ".zarr":
        from latentroom.latents.corpus import check_inputs, encode_corpus
        from latentroom.scaleout.worker import CodecRecipe

        check_inputs(paths, group_regex)
        model = get_codec(codec, **build)
        where = {"device": device, "dtype": dtype or "float32"}
        recipe = CodecRecipe(codec, tuple((where | extra).items()))
        with (
            executor_for(executor, workers, device) as engine,
            progress_bar(len(paths), "encoding files", enabled=not quiet) as progress,
        ):
            corpus = encode_corpus(
                paths, model, output, group_regex=group_regex, batch_size=batch_size,
                progress=progress, resume=not force, executor=engine, recipe=recipe, **options,
            )  # fmt: skip
        typer.echo(f"wrote {output}: {corpus.n_items} items, {corpus.offsets[-1]} frames")
        return
    if not local:
        from latentroom.errors import ConfigError

        raise ConfigError(f"--executor {executor} encodes corpus stores; pass -o NAME.zarr")
    encoding.check_single_output(
        paths, output, subtype=subtype, group_regex=group_regex, force=force
    )
    model = get_codec(codec, **build)
    total = encoding.expected_frames(model, paths[0])
    with progress_bar(total, "encoding frames", enabled=not quiet) as progress:
        latents = encoding.encode_audio_file(model, paths[0], progress=progress, **options)
    encoding.save_latent_file(output, latents, subtype=subtype)
    changed = encoding.conversion_note(latents, model)
    if changed:
        typer.echo(f"note: {paths[0]} was {changed} for codec {model.name}")
    typer.echo(f"wrote {output}: {latents.n_frames} frames x {latents.latent_dim} dims")


def decode(
    latent: Path = typer.Argument(..., help="A latent .npy or latent .wav file."),
    output: Path = typer.Option(..., "--output", "-o", help="Audio file to write (.wav, .flac)."),
    codec: str | None = typer.Option(None, "--codec", "-c", help="Default: from the sidecar."),
    frame_rate: float | None = typer.Option(
        None, "--frame-rate", help="Exact frame rate, for latents without a sidecar."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for decoders that draw noise."),
    random_init: bool = typer.Option(False, "--random-init", help="Random codec weights."),
    chunk_seconds: float | None = typer.Option(
        None, "--chunk-seconds", help="Audio per model call (default 20; 0: all at once)."
    ),
    overlap_seconds: float | None = typer.Option(
        None, "--overlap-seconds", help="Context each side of a chunk (default 1)."
    ),
    level: str = typer.Option("keep", "--level", help=OUTPUT_HELP),
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = None,
) -> None:
    """Decode a latent file to audio with the codec that made it (in chunks, streamed to disk)."""
    from latentroom.audio.levels import LevelPolicy
    from latentroom.fileio import check_outputs
    from latentroom.latents import encoding
    from latentroom.progress import progress_bar

    where = placed(device, dtype)
    encoding.decoded_format(output)
    LevelPolicy.parse(level)  # a bad policy fails before the model loads
    check_outputs([output], force=force, inputs=[latent])
    trajectory, model = encoding.load_for_decode(
        latent, codec_name=codec, frame_rate=frame_rate, random_init=random_init, **where
    )
    with progress_bar(trajectory.n_frames, "decoding frames", enabled=not quiet) as progress:
        seconds, decision = encoding.write_decoded(
            output, model, trajectory, seed=seed, chunk_seconds=chunk_seconds,
            overlap_seconds=overlap_seconds, level=level, progress=progress,
        )  # fmt: skip
    typer.echo(
        f"wrote {output} ({seconds:.2f} s, {model.channels} ch; --level {decision.policy}: "
        f"gain {decision.gain_db:+.1f} dB, true peak {decision.true_peak_dbtp_after:+.1f} dBTP)"
    )
