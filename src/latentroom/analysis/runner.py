"""One call per CLI command: check outputs, open the corpus, run a phase, write the folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentroom.analysis.clusters import ClusterConfig, run_phase0
from latentroom.analysis.data import open_source
from latentroom.analysis.predict import PredictConfig, run_phase1
from latentroom.analysis.report import (
    Phase,
    check_phase_outputs,
    corpus_facts,
    write_analysis,
)
from latentroom.devices import resolve_device
from latentroom.progress import Progress

if TYPE_CHECKING:
    from latentroom.scaleout.passes import ScaleOut


def analyze_clusters(
    corpus: str | Path,
    out_dir: str | Path,
    config: ClusterConfig,
    *,
    frame_rate: float | None = None,
    force: bool = False,
    progress: Progress | None = None,
    passes: ScaleOut | None = None,
) -> dict[str, Any]:
    """Phase 0 on ``corpus``; merges ``phase0`` into ``out_dir/analysis.json``; returns it all.

    ``passes`` runs the chunk passes on a cluster (``latentroom.scaleout``).
    """
    return _analyze("phase0", corpus, out_dir, config, frame_rate, force, progress, "cpu", passes)


def analyze_predict(
    corpus: str | Path,
    out_dir: str | Path,
    config: PredictConfig,
    *,
    frame_rate: float | None = None,
    force: bool = False,
    progress: Progress | None = None,
    device: str = "cpu",
    passes: ScaleOut | None = None,
) -> dict[str, Any]:
    """Phase 1 on ``corpus``; merges ``phase1`` into ``out_dir/analysis.json``; returns it all.

    The mixture density networks train on ``device`` (``auto``, ``cpu``, ``cuda[:N]``, ``mps``)
    in this process; ``passes`` runs the chunk passes on a cluster (``latentroom.scaleout``).
    """
    return _analyze("phase1", corpus, out_dir, config, frame_rate, force, progress, device, passes)


def _analyze(
    phase: Phase,
    corpus: str | Path,
    out_dir: str | Path,
    config: ClusterConfig | PredictConfig,
    frame_rate: float | None,
    force: bool,
    progress: Progress | None,
    device: str,
    passes: ScaleOut | None = None,
) -> dict[str, Any]:
    out = Path(out_dir)
    device = resolve_device(device)  # a device that is not here fails before any work
    check_phase_outputs(out, phase, force=force)  # before any work
    source = open_source(corpus, frame_rate=frame_rate)
    if isinstance(config, ClusterConfig):
        section, info, prepared = run_phase0(source, config, progress, passes=passes)
    else:
        section, info, prepared = run_phase1(source, config, progress, device=device, passes=passes)
    facts = corpus_facts(str(corpus), prepared, config.context)
    return write_analysis(out, phase, facts, section, info)
