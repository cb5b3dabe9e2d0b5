"""One Phase 3 run end to end: check, split, train (checkpointed, resumable), evaluate, write."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentroom.analysis.data import ArraySource, ItemSource, item_lengths, open_source
from latentroom.analysis.factorize.config import IG_HORIZONS, FactorizeConfig
from latentroom.analysis.factorize.fingerprint import corpus_fingerprint
from latentroom.analysis.factorize.segments import Frames, load_frames
from latentroom.analysis.factorize.states import STATE_FILE
from latentroom.analysis.factorize.verdict import verdict
from latentroom.analysis.report import corpus_facts, load_analysis
from latentroom.analysis.splits import Prepared, prepare
from latentroom.errors import ConfigError, InvalidLatentError, OutputExistsError
from latentroom.fileio import locked_dir
from latentroom.progress import Progress

logger = logging.getLogger(__name__)

#: Context (states) of the Phase 1 linear predictor run on z_dyn and on the raw latents.
IG_CONTEXT = 4
#: Bootstrap resamples for the per-epoch validation numbers (the final ones use ``n_boot``).
EPOCH_BOOT = 200
FIGURES = ("factorize_epochs.png", "factorize_ig.png", "factorize_rollout.png")


@dataclass(frozen=True)
class LoadedCorpus:
    """A checked corpus, its split held in memory, and its identity."""

    prepared: Prepared
    train: Frames
    val: Frames
    eval: Frames
    fingerprint: dict[str, Any]


def check_factorize_outputs(out: Path, *, force: bool, resume: bool) -> None:
    """Refuse (before any work) to overwrite a Phase 3 run unless ``force`` or ``resume``."""
    if force and resume:
        raise ConfigError("--force starts over and --resume continues; pass one of them")
    if force or resume:
        return
    if (out / STATE_FILE).exists() or "factorize" in load_analysis(out):
        raise OutputExistsError(
            f"{out} already holds a Phase 3 run; pass --resume to continue it or --force to "
            "start over"
        )
    for name in FIGURES:
        if (out / name).exists():
            raise OutputExistsError(f"{out / name} already exists; pass --force to overwrite it")


def load_corpus(source: ItemSource, config: FactorizeConfig) -> LoadedCorpus:
    """Check the corpus against the settings (one-line errors), split it and read it in."""
    need = config.segment_frames(config.train_states)
    lengths = item_lengths(source)
    longest = int(lengths.max()) if lengths.size else 0
    if longest < need:
        raise ConfigError(
            f"the corpus's longest item has {longest} frames but a training segment needs {need} "
            f"(--context {config.context} + --rate {config.rate} × (dynamics context "
            f"{config.dyn_context} + --rollout {config.rollout})); use a shorter --context or "
            "--rollout, or a corpus of longer items"
        )
    prepared = prepare(source, min_length=need, seed=config.seed)
    config.check_latent_dim(prepared.scan.latent_dim)
    split = prepared.split
    return LoadedCorpus(
        prepared,
        load_frames(source, split.train),
        load_frames(source, split.val),
        load_frames(source, split.eval),
        corpus_fingerprint(source),
    )


def factorize(
    corpus: str | Path | ItemSource,
    out_dir: str | Path,
    config: FactorizeConfig,
    *,
    frame_rate: float | None = None,
    force: bool = False,
    resume: bool = False,
    progress: Progress | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Train and evaluate the dual latent; merge ``factorize`` into ``out_dir/analysis.json``.

    Writes ``factorize_state.pt`` (after every epoch), ``analysis.json``, ``report.md`` and
    the figures; returns the analysis. ``device`` is a resolved device.
    """
    from latentroom.analysis.factorize.report import write_factorize

    out = Path(out_dir)
    check_factorize_outputs(out, force=force, resume=resume)
    source = (
        open_source(corpus, frame_rate=frame_rate) if isinstance(corpus, str | Path) else corpus
    )
    data = load_corpus(source, config)
    with locked_dir(out):
        if force:  # a stale checkpoint must not be resumed into the new run
            (out / STATE_FILE).unlink(missing_ok=True)
        section = train_and_evaluate(
            data, out, config, resume=resume, progress=progress, device=device
        )
        facts = corpus_facts(_name(corpus), data.prepared, config.context)
        return write_factorize(out, facts, section)


def _name(corpus: str | Path | ItemSource) -> str:
    return str(corpus) if isinstance(corpus, str | Path) else "in-memory corpus"


def cell_name(dim_dyn: int, kl_target: float) -> str:
    """The sweep folder of one grid cell."""
    return f"dyn{dim_dyn}_kl{kl_target:g}"


def sweep(
    corpus: str | Path | ItemSource,
    out_dir: str | Path,
    config: FactorizeConfig,
    *,
    dims: list[int],
    targets: list[float],
    frame_rate: float | None = None,
    force: bool = False,
    resume: bool = False,
    progress: Progress | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """One run per (dim(z_dyn), KL target) cell in ``out_dir/<cell>``; one table of them all.

    Writes ``out_dir/sweep.json`` and ``out_dir/sweep.md``; returns the table as a dict.
    """
    from latentroom.analysis.factorize.report import write_sweep

    out = Path(out_dir)
    cells = [(d, t) for d in dims for t in targets]
    for d, t in cells:
        check_factorize_outputs(out / cell_name(d, t), force=force, resume=resume)
    source = (
        open_source(corpus, frame_rate=frame_rate) if isinstance(corpus, str | Path) else corpus
    )
    rows = []
    for d, t in cells:
        cell = FactorizeConfig.from_dict({**config.to_dict(), "dim_dyn": d, "kl_target": t})
        result = factorize(
            source, out / cell_name(d, t), cell, force=force, resume=resume,
            progress=progress, device=device,
        )  # fmt: skip
        rows.append(sweep_row(cell_name(d, t), result["factorize"]))
    table = {"corpus": _name(corpus), "settings": config.to_dict(), "cells": rows}
    write_sweep(out, table)
    return table


def sweep_row(name: str, section: dict[str, Any]) -> dict[str, Any]:
    """One line of the sweep table: the cell's settings, verdict and headline numbers."""
    e, ig = section["eval"], section["ig"]

    def beyond(which: str) -> float | None:
        entry = ig.get(which, {}).get("1")
        return None if entry is None else entry["ig_beyond_full_nats_per_dim"]

    return {
        "cell": name,
        "dim_dyn": section["settings"]["dim_dyn"],
        "kl_target": section["settings"]["kl_target"],
        "verdict": section["verdict"],
        "kl_nats_per_frame": e["kl_nats_per_frame"],
        "kl_nats_per_second": e["kl_nats_per_second"],
        "mse_posterior": e["mse_posterior"],
        "mse_prior": e["mse_prior"],
        "z_dyn_variance_mean": e["z_dyn_variance_mean"],
        "z_dyn_effective_rank": e["z_dyn_effective_rank"],
        "dyn_ig_nats_per_dim": e["dyn_ig_nats_per_dim"],
        "z_dyn_ig_beyond_full_k1": beyond("z_dyn"),
        "raw_ig_beyond_full_k1": beyond("raw"),
    }


def train_and_evaluate(
    data: LoadedCorpus,
    out: Path,
    config: FactorizeConfig,
    *,
    resume: bool,
    progress: Progress | None,
    device: str,
) -> dict[str, Any]:
    """The ``factorize`` section: settings, fingerprint, per-epoch history, eval and verdict."""
    import torch

    from latentroom.analysis.factorize.evaluate import item_sums, rollout_sums, summarise_eval
    from latentroom.analysis.factorize.model import Factorizer
    from latentroom.analysis.factorize.training import (
        fit_normalisation,
        refresh_moments,
        resume_from,
        save_checkpoint,
        train_epoch,
    )

    rate = float(data.prepared.source.frame_rate)
    latent_dim = data.prepared.scan.latent_dim
    torch.manual_seed(config.seed)
    model = Factorizer(latent_dim, config)
    fit_normalisation(model, data.train)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    start, history = 0, list[dict[str, Any]]()
    if resume:
        start, history = resume_from(out / STATE_FILE, config, data.fingerprint, model, optimizer)
        if progress is not None:
            progress(start)
    for epoch in range(start, config.epochs):
        logged = train_epoch(model, optimizer, data.train, config, epoch, device)
        refresh_moments(model, data.train, config, device)
        sums, states = item_sums(model, data.val, config, device)
        val = summarise_eval(sums, states, {}, _with_boot(config, EPOCH_BOOT), rate)
        judged = verdict(val)
        history.append({"epoch": epoch + 1, "train": logged, "val": _epoch_numbers(val), **judged})
        logger.info(
            "epoch %d/%d: loss %.4g, val KL %.3g nats/frame, verdict %s",
            epoch + 1, config.epochs, logged["loss"], val["kl_nats_per_frame"], judged["verdict"],
        )  # fmt: skip
        save_checkpoint(
            out / STATE_FILE, epoch=epoch + 1, config=config, model=model, optimizer=optimizer,
            latent_dim=latent_dim, codec_frame_rate=rate, fingerprint=data.fingerprint,
            history=history,
        )  # fmt: skip
        if progress is not None:
            progress(1)
    sums, states = item_sums(model, data.eval, config, device)
    rollouts = rollout_sums(model, data.eval, config, device)
    summary = summarise_eval(sums, states, rollouts, config, rate)
    model.to("cpu").eval()
    ig = information_gain(model, data, config, rate)
    if progress is not None:
        progress(1)
    return {
        "settings": config.to_dict(),
        "fingerprint": data.fingerprint,
        "codec_frame_rate": rate,
        "state_frame_rate": rate / config.rate,
        **verdict(summary),
        "eval": summary,
        "ig": ig,
        "epochs": history,
    }


def _with_boot(config: FactorizeConfig, n_boot: int) -> FactorizeConfig:
    return FactorizeConfig.from_dict({**config.to_dict(), "n_boot": min(n_boot, config.n_boot)})


def _epoch_numbers(summary: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "kl_nats_per_frame", "kl_nats_per_second", "mse_posterior", "mse_prior",
        "prior_posterior_ratio", "prior_marginal_ratio", "dyn_nll_per_state",
        "marginal_nll_per_state", "dyn_ig_nats_per_dim", "z_dyn_variance_mean",
        "z_dyn_effective_rank",
    )  # fmt: skip
    return {k: summary[k] for k in keys}


def information_gain(
    model: Any, data: LoadedCorpus, config: FactorizeConfig, rate: float
) -> dict[str, Any]:
    """Phase 1 IG (linear predictor, k = 1, 2, 4, 8) of the z_dyn sequences and the raw latents.

    Both run on every usable item with Phase 1's own train/validation/eval split; the raw
    latents are cut to the frames the states cover, so both see the same stretch of audio.
    """
    from latentroom.analysis.predict import PredictConfig, run_phase1

    frames = [data.train, data.val, data.eval]
    raw = [f.item(j) for f in frames for j in range(f.items.size)]
    states = [model.dyn_states(x) for x in raw]
    phase1 = PredictConfig(
        context=IG_CONTEXT, horizons=IG_HORIZONS, predictors=("linear",), rollout_steps=0,
        n_boot=config.n_boot, seed=config.seed,
    )  # fmt: skip
    out: dict[str, Any] = {}
    for name, arrays, fps in (
        ("z_dyn", states, rate / config.rate),
        ("raw", [x[config.context - 1 :] for x in raw], rate),
    ):
        try:
            section, _, _ = run_phase1(ArraySource(arrays, fps), phase1)
        except (ConfigError, InvalidLatentError) as err:
            out[name] = {"unavailable": {"ig_nats_per_frame": str(err)}}
            continue
        dim = arrays[0].shape[1]
        out[name] = {k: _ig_entry(e, dim) for k, e in section["linear"].items()}
        out[name]["dims"] = dim
        out[name]["frame_rate"] = fps
    return out


#: The Phase 1 headline names kept: the gain over the diagonal marginal, and beyond the full-
#: covariance one (what the past adds once correlations between dims are accounted for).
IG_NAMES = {"ig": "ig_nats_per_frame", "ig_beyond_full": "ig_beyond_full_nats_per_frame"}


def _ig_entry(entry: dict[str, Any], dim: int) -> dict[str, Any]:
    """One horizon's IG per frame and per dim, with 95 % intervals."""
    out: dict[str, Any] = {"ig_bits_per_second": entry["ig_bits_per_second"], "ci95": {}}
    for short, name in IG_NAMES.items():
        value, (low, high) = entry[name], entry["ci95"][name]
        out[f"{short}_nats_per_frame"] = value
        out[f"{short}_nats_per_dim"] = _per_dim(value, dim)
        out["ci95"][f"{short}_nats_per_frame"] = [low, high]
        out["ci95"][f"{short}_nats_per_dim"] = [_per_dim(low, dim), _per_dim(high, dim)]
    return out


def _per_dim(value: float | None, dim: int) -> float | None:
    return None if value is None else value / dim
