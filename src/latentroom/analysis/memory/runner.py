"""``latentroom analyze memory`` as one library call: checks, lock, states, run, write."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from latentroom.analysis.data import ArraySource, ItemSource, item_lengths, open_source
from latentroom.analysis.memory.config import MemoryConfig
from latentroom.analysis.report import corpus_facts, load_analysis
from latentroom.analysis.splits import Prepared
from latentroom.errors import OutputExistsError
from latentroom.fileio import check_outputs, locked_dir
from latentroom.progress import Progress

CHECKPOINTS = "memory_checkpoints"  # per-epoch checkpoints while a run is under way


def check_memory_outputs(out: Path, *, force: bool, corpus: str | Path = "") -> None:
    """Refuse (before any work) to overwrite a Phase 4 result unless ``force``.

    Checkpoints of an interrupted run are not refused: the same command resumes them.
    """
    from latentroom.analysis.memory.figures import FIGURES

    inputs = [corpus] if corpus else []
    check_outputs([out], force=True, folders=True, inputs=inputs)  # kind, writability, not CORPUS
    if force:
        return
    if "memory" in load_analysis(out):
        raise OutputExistsError(
            f"{out / 'analysis.json'} already holds memory; pass --force to overwrite it"
        )
    for name in FIGURES:
        if (out / name).exists():
            raise OutputExistsError(f"{out / name} already exists; pass --force to overwrite it")


def memory_states(
    source: ItemSource, factorized: Path | None, device: str
) -> tuple[ItemSource, str, str]:
    """The state sequences Phase 4 models, what they are, and a key naming their origin.

    With ``factorized``: the z_dyn sequences of that Phase 3 run, after checking that it was
    trained on this corpus and codec. Without: the raw latents themselves.
    """
    if factorized is None:
        key = json.dumps({"codec": str(getattr(source, "codec", "")), "n": source.n_items})
        return source, "raw latents (no --factorized run given)", key
    from latentroom.analysis.factorize.states import load_run

    run = load_run(factorized)
    run.check_corpus(source)
    sequences = run.dyn_states(
        [np.array(source.item(i)) for i in range(source.n_items)], device=device
    )
    states = ArraySource([np.asarray(s, dtype=np.float32) for s in sequences], run.frame_rate)
    what = f"z_dyn of the factorized run {factorized} (dim {run.dim_dyn})"
    return states, what, json.dumps(run.fingerprint, sort_keys=True)


def analyze_memory(
    corpus: str | Path,
    out_dir: str | Path,
    config: MemoryConfig,
    *,
    factorized: str | Path | None = None,
    frame_rate: float | None = None,
    force: bool = False,
    progress: Progress | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Phase 4 on ``corpus``; merges ``memory`` into ``out_dir/analysis.json``; returns it all.

    ``device`` is a resolved device. Checkpoints go to ``out_dir/memory_checkpoints`` while
    the run is under way (the same command resumes them; ``force`` discards them) and are
    removed once the results are written.
    """
    from latentroom.analysis.memory.report import write_memory
    from latentroom.analysis.memory.run import run_memory

    out = Path(out_dir)
    check_memory_outputs(out, force=force, corpus=corpus)
    source = open_source(corpus, frame_rate=frame_rate)
    with locked_dir(out):
        if force:  # checkpoints of other settings must not be resumed into the new run
            shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
        states, what, key = memory_states(
            source, Path(factorized) if factorized is not None else None, device
        )
        checkpoints = out / CHECKPOINTS
        checkpoints.mkdir(exist_ok=True)
        section, info, prepared = run_memory(
            states, config, progress, device=device, checkpoints=checkpoints, data_key=key
        )
        info["states"] = what
        info["factorized"] = str(factorized) if factorized is not None else None
        facts = _facts(str(corpus), source, prepared, config.context)
        analysis = write_memory(out, facts, section, info)
        shutil.rmtree(checkpoints, ignore_errors=True)
        return analysis


def _facts(name: str, source: ItemSource, prepared: Prepared, context: int) -> dict[str, Any]:
    """The corpus header: the corpus's own dims, rate and frames per split (not the states').

    The states keep the corpus's item order, so the split's item indices apply to both.
    """
    facts = corpus_facts(name, prepared, context)
    lengths, split = item_lengths(source), prepared.split
    facts["codec"] = str(getattr(source, "codec", ""))
    facts["latent_dim"] = int(source.item(0).shape[1])
    facts["frame_rate"] = float(source.frame_rate)
    facts["n_frames"] = {
        part: int(lengths[getattr(split, part)].sum()) for part in ("train", "val", "eval")
    }
    return facts
