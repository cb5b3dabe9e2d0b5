"""``latentroom analyze``: how predictable a corpus's latents are (Phases 0 to 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from latentroom.cli.options import (
    DeviceOpt,
    ExecutorOpt,
    ForceOpt,
    QuietOpt,
    WorkersOpt,
    executor_for,
    resolved,
)

analyze_app = typer.Typer(
    help="Measure how predictable latent trajectories are.", no_args_is_help=True
)

CorpusArg = Annotated[Path, typer.Argument(help="Corpus store, or a folder of .npy latents.")]
OutputOpt = Annotated[Path, typer.Option("-o", "--output", help="Analysis folder (merged).")]
ContextOpt = Annotated[int, typer.Option(help="Context length L in frames.")]
RateOpt = Annotated[float | None, typer.Option(help="Frame rate of .npy files without a sidecar.")]
GroupOpt = Annotated[
    str | None, typer.Option(help="Regex on item source/group: group-disjoint split.")
]
DropOpt = Annotated[
    bool, typer.Option("--drop-nonfinite", help="Drop windows touching NaN/Inf frames.")
]
SeedOpt = Annotated[int, typer.Option(help="Seed of the split, fits and bootstrap.")]
BootOpt = Annotated[int, typer.Option(help="Bootstrap resamples for the 95 % intervals.")]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict", help="Exit 2 when a quantity is not available or a predictor is left out."
    ),
]
MinClusterOpt = Annotated[
    int | None,
    typer.Option(help="Train windows a cluster needs; smaller ones are set aside (default: auto)."),
]


def _check_problems(result: dict, where: Path, *, strict: bool) -> None:
    """Warn about every quantity without data and every left-out predictor; --strict refuses."""
    from latentroom.analysis.availability import problems
    from latentroom.errors import AnalysisQualityError

    found = problems(result)
    for line in found:
        typer.echo(f"latentroom: warning: {line}", err=True)
    if strict and found:
        raise AnalysisQualityError(
            f"--strict: {len(found)} quantities are not available or left out (first: "
            f"{found[0]}); see {where}"
        )


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in _numbers(text, int, "integers like 1,2,4"))


def _floats(text: str) -> tuple[float, ...]:
    return _numbers(text, float, "numbers like 0.5,1,2")


def _numbers(text: str, cast: type[float], example: str) -> tuple[float, ...]:
    """Comma-separated values of ``text`` through ``cast``; a bad one is a ConfigError."""
    from latentroom.errors import ConfigError

    try:
        return tuple(cast(v) for v in text.split(",") if v.strip())
    except ValueError as err:
        raise ConfigError(f"expected comma-separated {example}; got {text!r}") from err


def _passes(engine: Any) -> Any:
    """The analyses' chunk passes on ``engine`` (None: in this process)."""
    if engine is None:
        return None
    from latentroom.scaleout.passes import ScaleOut

    return ScaleOut(engine)


@analyze_app.command("clusters")
def clusters(
    corpus: CorpusArg,
    output: OutputOpt,
    keys: Annotated[str, typer.Option(help="Keys: mean-vqK, pcaP-vqK.")] = "mean-vq64,pca8-vq256",
    lags: Annotated[str, typer.Option(help="Lags between context end and target.")] = "1,2,4",
    context: ContextOpt = 8,
    min_cluster_size: MinClusterOpt = None,
    frame_rate: RateOpt = None,
    group_regex: GroupOpt = None,
    drop_nonfinite: DropOpt = False,
    n_boot: BootOpt = 1000,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    strict: StrictOpt = False,
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
) -> None:
    """Phase 0: within-cluster variance ratio of Δx for coarse context keys.

    Writes OUTPUT/analysis.json (phase0), OUTPUT/report.md and OUTPUT/variance_ratio.png.
    """
    from latentroom.analysis.clusters import ClusterConfig
    from latentroom.analysis.report import fmt
    from latentroom.analysis.runner import analyze_clusters
    from latentroom.progress import progress_bar

    key_list = tuple(k.strip() for k in keys.split(",") if k.strip())
    config = ClusterConfig(
        context=context, keys=key_list, lags=_ints(lags), min_cluster_size=min_cluster_size,
        n_boot=n_boot, group_regex=group_regex, drop_nonfinite=drop_nonfinite, seed=seed,
    )  # fmt: skip
    with (
        executor_for(executor, workers) as engine,
        progress_bar(2, "phase 0", enabled=not quiet) as advance,
    ):
        result = analyze_clusters(
            corpus, output, config, frame_rate=frame_rate, force=force, progress=advance,
            passes=_passes(engine),
        )  # fmt: skip
    for key, entry in result["phase0"].items():
        typer.echo(
            f"{key}: variance ratio {fmt(entry['variance_ratio'])} "
            f"(random {fmt(entry['random_baseline'])})"
        )
    typer.echo(f"wrote {output}")
    _check_problems(result, output / "report.md", strict=strict)


@analyze_app.command("predict")
def predict(
    corpus: CorpusArg,
    output: OutputOpt,
    horizons: Annotated[str, typer.Option(help="Horizons k (frames ahead).")] = "1,2,4,8",
    predictors: Annotated[
        str, typer.Option(help="Comma-separated predictors.")
    ] = "marginal_diag,marginal_full,linear,mdn,sequence",
    context: ContextOpt = 8,
    rollout_steps: Annotated[int, typer.Option(help="Free-running rollout steps R.")] = 8,
    max_epochs: Annotated[int, typer.Option(help="Training epochs for mdn/sequence.")] = 10,
    frame_rate: RateOpt = None,
    group_regex: GroupOpt = None,
    drop_nonfinite: DropOpt = False,
    n_boot: BootOpt = 1000,
    ci: Annotated[
        str,
        typer.Option(
            help="Intervals: 'items' resamples eval items (fast); 'refit' also refits every "
            "predictor on resampled train items, so the intervals carry the fitting error "
            "(costs --refits times the fits and the eval pass)."
        ),
    ] = "items",
    refits: Annotated[int, typer.Option(help="Refits for --ci refit.")] = 20,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    strict: StrictOpt = False,
    device: DeviceOpt = "auto",
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
) -> None:
    """Phase 1: information gain of probabilistic predictors of Δx at several horizons.

    Writes OUTPUT/analysis.json (phase1), OUTPUT/report.md and four PNG figures.
    """
    from latentroom.analysis.predict import PredictConfig
    from latentroom.analysis.report import fmt
    from latentroom.analysis.runner import analyze_predict
    from latentroom.progress import progress_bar

    where = resolved(device)
    names = tuple(p.strip() for p in predictors.split(",") if p.strip())
    config = PredictConfig(
        context=context, horizons=_ints(horizons), predictors=names, rollout_steps=rollout_steps,
        max_epochs=max_epochs, n_boot=n_boot, ci=ci, n_refits=refits, group_regex=group_regex,
        drop_nonfinite=drop_nonfinite, seed=seed,
    )  # fmt: skip
    n_steps = 3 + len([n for n in names if not n.startswith("marginal")])
    with (
        executor_for(executor, workers) as engine,
        progress_bar(n_steps, "phase 1", enabled=not quiet) as advance,
    ):
        result = analyze_predict(
            corpus, output, config, frame_rate=frame_rate, force=force, progress=advance,
            device=where, passes=_passes(engine),
        )  # fmt: skip
    k = str(config.horizons[0])
    flagged = result["phase1_info"]["flagged"]
    for name, by_k in result["phase1"].items():
        note = " (left out: see report)" if name in flagged else ""
        typer.echo(f"{name}: IG at k={k} {fmt(by_k[k]['ig_nats_per_frame'])} nats/frame{note}")
    typer.echo(f"wrote {output}")
    _check_problems(result, output / "report.md", strict=strict)


@analyze_app.command("compare")
def compare(
    audio_dir: Annotated[Path, typer.Argument(help="Folder of audio files (or one file).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Comparison folder.")],
    codecs: Annotated[
        str, typer.Option(help="Comma-separated codec names.")
    ] = "builtin,mimi,encodec-24k,dac-24k,acestep-vae",
    random_init: Annotated[
        bool, typer.Option("--random-init", help="Random weights: architecture-only rows.")
    ] = False,
    checkpoint: Annotated[
        str | None, typer.Option(help="Weights folder for the builtin codec.")
    ] = None,
    rate: Annotated[str, typer.Option(help="Common frame rate: 'lowest' or Hz.")] = "lowest",
    normalise: Annotated[
        str, typer.Option(help="none, standardise or pca-whiten:K.")
    ] = "standardise",
    horizons: Annotated[str, typer.Option(help="Phase 1 horizons (frames).")] = "1,2,4,8",
    keys: Annotated[str, typer.Option(help="Phase 0 keys.")] = "mean-vq64,pca8-vq256",
    predictors: Annotated[
        str, typer.Option(help="Phase 1 predictors.")
    ] = "marginal_diag,marginal_full,linear,mdn,sequence",
    context: ContextOpt = 8,
    max_epochs: Annotated[int, typer.Option(help="Training epochs for mdn/sequence.")] = 10,
    min_cluster_size: MinClusterOpt = None,
    native: Annotated[bool, typer.Option(help="Also analyse at native rates.")] = True,
    decoder_aware: Annotated[bool, typer.Option(help="Decoder-sensitivity weighting.")] = True,
    decoded_mel: Annotated[bool, typer.Option(help="Phase 1 on decoded log-mel.")] = True,
    learned_key: Annotated[bool, typer.Option(help="Learned context key.")] = True,
    group_regex: Annotated[
        str | None, typer.Option(help="Regex on audio paths: group-disjoint split.")
    ] = None,
    n_boot: BootOpt = 1000,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    strict: StrictOpt = False,
    device: DeviceOpt = "auto",
) -> None:
    """Phase 2: encode the same audio with several codecs and compare their predictability.

    Corpus stores go to OUTPUT/corpora (reused on a rerun); each variant gets an analysis folder
    OUTPUT/<codec>/<variant>; the comparison is OUTPUT/comparison.{md,json} and two figures.
    """
    from latentroom.analysis.align import parse_rate
    from latentroom.analysis.compare import CompareConfig, compare_codecs
    from latentroom.analysis.compare_report import check_compare_outputs
    from latentroom.analysis.report import fmt
    from latentroom.progress import progress_bar

    where = resolved(device)

    def names(text: str) -> tuple[str, ...]:
        return tuple(v.strip() for v in text.split(",") if v.strip())

    config = CompareConfig(
        codecs=names(codecs), random_init=random_init, checkpoint=checkpoint,
        rate=parse_rate(rate), normalise=normalise,
        native=native, decoder_aware=decoder_aware, decoded_mel=decoded_mel,
        learned_key=learned_key, context=context, horizons=_ints(horizons), keys=names(keys),
        predictors=names(predictors), max_epochs=max_epochs, min_cluster_size=min_cluster_size,
        group_regex=group_regex, n_boot=n_boot, seed=seed,
    )  # fmt: skip
    check_compare_outputs(output, force=force)
    with progress_bar(2 * len(config.codecs), "compare", enabled=not quiet) as advance:
        result = compare_codecs(audio_dir, output, config, progress=advance, device=where)
    k = str(config.horizons[0])
    for label, row in result["codecs"].items():
        aligned = row["variants"]["aligned"]
        kept = [
            v[k]["ig_nats_per_frame"]
            for name, v in aligned["phase1"].items()
            if name not in aligned["flagged"] and v[k]["ig_nats_per_frame"] is not None
        ]
        best = fmt(max(kept)) if kept else "n/a"
        typer.echo(f"{label}: best IG at k={k} {best} nats/frame (left-out predictors excluded)")
    typer.echo(f"wrote {output / 'comparison.md'}")
    _check_problems(result, output / "comparison.md", strict=strict)


@analyze_app.command("factorize")
def factorize(
    corpus: CorpusArg,
    output: OutputOpt,
    dim_dyn: Annotated[
        str, typer.Option(help="dim(z_dyn), the state; a list with --sweep (4,8,16).")
    ] = "8",
    kl_target: Annotated[
        str, typer.Option(help="Free nats/frame of the innovation KL; a list with --sweep.")
    ] = "1.0",
    dim_rec: Annotated[int, typer.Option(help="dim(z_rec), the innovation.")] = 8,
    context: Annotated[int, typer.Option(help="Frames L the causal state encoder sees.")] = 8,
    rollout: Annotated[int, typer.Option(help="Largest rollout K of the curriculum.")] = 8,
    rate: Annotated[
        int, typer.Option(help="z_dyn held constant over blocks of this many frames.")
    ] = 1,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 10,
    dyn_weight: Annotated[float, typer.Option(help="λ, weight of the dynamics NLL.")] = 1.0,
    rollout_weight: Annotated[
        float, typer.Option(help="Weight of the rollout reconstruction NLL.")
    ] = 1.0,
    sweep: Annotated[
        bool, typer.Option("--sweep", help="One run per --dim-dyn × --kl-target cell, one table.")
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a run from its last checkpoint.")
    ] = False,
    frame_rate: RateOpt = None,
    n_boot: BootOpt = 1000,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    device: DeviceOpt = "auto",
) -> None:
    """Phase 3: factorize the latents into a predictable state z_dyn and an innovation z_rec.

    Writes OUTPUT/analysis.json (factorize), OUTPUT/report.md, three PNG figures and the
    checkpoint factorize_state.pt; with --sweep one such folder per cell plus
    OUTPUT/sweep.{md,json}.
    """
    from latentroom.analysis.factorize.config import FactorizeConfig
    from latentroom.analysis.factorize.run import factorize as run_factorize
    from latentroom.analysis.factorize.run import sweep as run_sweep
    from latentroom.analysis.report import fmt
    from latentroom.errors import ConfigError
    from latentroom.progress import progress_bar

    where = resolved(device)
    dims, targets = _ints(dim_dyn), _floats(kl_target)
    if not dims or not targets:
        raise ConfigError("--dim-dyn and --kl-target need at least one value each")
    if not sweep and (len(dims) > 1 or len(targets) > 1):
        raise ConfigError(
            f"--dim-dyn {dim_dyn} --kl-target {kl_target} name several runs; pass --sweep to "
            "run the grid, or one value each"
        )
    config = FactorizeConfig(
        dim_dyn=dims[0], kl_target=targets[0], dim_rec=dim_rec, context=context,
        rollout=rollout, rate=rate, epochs=epochs, dyn_weight=dyn_weight,
        rollout_weight=rollout_weight, n_boot=n_boot,
        seed=seed,
    )  # fmt: skip
    for d in dims:
        for t in targets:  # every cell's values are checked before any work
            FactorizeConfig.from_dict({**config.to_dict(), "dim_dyn": d, "kl_target": t})
    n_cells = len(dims) * len(targets)
    with progress_bar(n_cells * (epochs + 1), "phase 3", enabled=not quiet) as advance:
        if sweep:
            table = run_sweep(
                corpus, output, config, dims=list(dims), targets=list(targets),
                frame_rate=frame_rate, force=force, resume=resume, progress=advance, device=where,
            )  # fmt: skip
            for row in table["cells"]:
                typer.echo(f"{row['cell']}: {row['verdict']}")
            typer.echo(f"wrote {output / 'sweep.md'}")
            return
        result = run_factorize(
            corpus, output, config, frame_rate=frame_rate, force=force, resume=resume,
            progress=advance, device=where,
        )  # fmt: skip
    section = result["factorize"]
    typer.echo(
        f"verdict: {section['verdict']}; KL {fmt(section['eval']['kl_nats_per_frame'])} "
        f"nats/frame ({fmt(section['eval']['kl_nats_per_second'])} nats/s)"
    )
    for reason in section["reasons"]:
        typer.echo(f"  {reason}")
    typer.echo(f"wrote {output}")


@analyze_app.command("memory")
def memory(
    corpus: CorpusArg,
    output: OutputOpt,
    factorized: Annotated[
        Path | None,
        typer.Option(help="A Phase 3 run (analyze factorize): model its z_dyn, not raw latents."),
    ] = None,
    context: ContextOpt = 8,
    orders: Annotated[str, typer.Option(help="n-gram orders looked up (each <= context).")] = "2,3",
    heads: Annotated[int, typer.Option(help="Hash heads (tables) per order.")] = 2,
    table_size: Annotated[int, typer.Option(help="Slots per table at most.")] = 4096,
    codes: Annotated[int, typer.Option(help="k-means codes of the state quantiser.")] = 64,
    embed_dim: Annotated[int, typer.Option(help="Width of each table's vectors.")] = 16,
    hidden: Annotated[int, typer.Option(help="Trunk width of the memory model.")] = 64,
    rollout: Annotated[str, typer.Option(help="Free-rollout horizons (states).")] = "1,4,16",
    epochs: Annotated[int, typer.Option(help="Training epochs of each model.")] = 20,
    frame_rate: RateOpt = None,
    n_boot: BootOpt = 1000,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    strict: StrictOpt = False,
    device: DeviceOpt = "auto",
) -> None:
    """Phase 4: a dynamics model with and without an Engram-style lookup memory.

    Both models have the same parameter count. Writes OUTPUT/analysis.json (memory),
    OUTPUT/report.md and three PNG figures; rerunning an interrupted command resumes it.
    """
    from latentroom.analysis.memory.config import MemoryConfig
    from latentroom.analysis.memory.run import progress_units
    from latentroom.analysis.memory.runner import analyze_memory
    from latentroom.analysis.report import fmt
    from latentroom.progress import progress_bar

    where = resolved(device)
    config = MemoryConfig(
        context=context, orders=_ints(orders), heads=heads, table_size=table_size, codes=codes,
        embed_dim=embed_dim, hidden=hidden, rollout=_ints(rollout), max_epochs=epochs,
        n_boot=n_boot, seed=seed,
    )  # fmt: skip
    with progress_bar(progress_units(config), "phase 4", enabled=not quiet) as advance:
        result = analyze_memory(
            corpus, output, config, factorized=factorized, frame_rate=frame_rate, force=force,
            progress=advance, device=where,
        )  # fmt: skip
    section = result["memory"]
    tf, p = section["teacher_forced"], section["parameters"]
    typer.echo(
        f"memory gain {fmt(tf['memory_gain_nats_per_frame'])} nats/frame teacher-forced "
        f"({section['verdict']['teacher_forced']}); parameters {p['memory']} vs {p['no_memory']}"
    )
    typer.echo(f"wrote {output}")
    _check_problems(result, output / "report.md", strict=strict)


def register(app: typer.Typer) -> None:
    """Add the ``analyze`` group to the app."""
    app.add_typer(analyze_app, name="analyze")
