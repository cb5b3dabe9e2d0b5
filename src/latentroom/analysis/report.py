"""``analysis.json`` (merged across phases), ``report.md`` and the figures of an analysis folder."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from latentroom import __version__
from latentroom.analysis.splits import Prepared
from latentroom.errors import InvalidLatentError, OutputExistsError
from latentroom.fileio import write_text_atomic

FORMAT_VERSION = 1
Phase = Literal["phase0", "phase1"]


def check_phase_outputs(out_dir: Path, phase: Phase, *, force: bool) -> None:
    """Refuse (before any work) to overwrite a phase already in ``out_dir`` unless ``force``.

    The other phase's section may exist: the new one is merged beside it.
    """
    from latentroom.analysis.figures import PHASE0_FIGURES, PHASE1_FIGURES

    if force:
        return
    existing = load_analysis(out_dir)
    if phase in existing:
        raise OutputExistsError(
            f"{out_dir / 'analysis.json'} already holds {phase}; pass --force to overwrite it"
        )
    for name in PHASE0_FIGURES if phase == "phase0" else PHASE1_FIGURES:
        if (out_dir / name).exists():
            raise OutputExistsError(
                f"{out_dir / name} already exists; pass --force to overwrite it"
            )


def load_analysis(out_dir: Path) -> dict[str, Any]:
    """The existing ``analysis.json`` of ``out_dir`` ({} when there is none)."""
    path = out_dir / "analysis.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InvalidLatentError(
            f"{path} is not readable JSON ({err}); remove it or write to a new folder"
        ) from err
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise InvalidLatentError(
            f"{path} has format_version {version}, this latentroom writes {FORMAT_VERSION}; "
            "write to a new folder"
        )
    return dict(data)


def corpus_facts(corpus: str, prepared: Prepared, context: int) -> dict[str, Any]:
    """Top-level facts shared by both phases (frames per split, dims, rate)."""
    lengths, split = prepared.scan.lengths, prepared.split
    return {
        "format_version": FORMAT_VERSION,
        "latentroom_version": __version__,
        "corpus": corpus,
        "codec": str(getattr(prepared.source, "codec", "")),
        "latent_dim": prepared.scan.latent_dim,
        "frame_rate": float(prepared.source.frame_rate),
        "n_frames": {
            "train": int(lengths[split.train].sum()),
            "val": int(lengths[split.val].sum()),
            "eval": int(lengths[split.eval].sum()),
        },
        "n_items": {
            "train": int(split.train.size),
            "val": int(split.val.size),
            "eval": int(split.eval.size),
            "skipped_short": prepared.scan.n_short,
        },
        "n_nonfinite_frames": prepared.scan.n_nonfinite_frames,
        "split": "group" if split.by_group else "item",
        "context": context,
    }


def write_analysis(
    out_dir: Path,
    phase: Phase,
    facts: dict[str, Any],
    section: dict[str, Any],
    info: dict[str, Any],
) -> dict[str, Any]:
    """Merge one phase into ``analysis.json``, then rewrite the figures and ``report.md``."""
    analysis = {**load_analysis(out_dir), **facts, phase: section, f"{phase}_info": info}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "analysis.json", json.dumps(analysis, indent=1) + "\n")
    _write_figures(out_dir, phase, analysis)
    write_text_atomic(out_dir / "report.md", render_report(analysis))
    return analysis


def _write_figures(out_dir: Path, phase: Phase, analysis: dict[str, Any]) -> None:
    from latentroom.analysis import figures

    if phase == "phase0":
        figures.plot_variance_ratios(analysis["phase0"], out_dir / "variance_ratio.png")
        return
    info = analysis["phase1_info"]
    figures.plot_ig_vs_horizon(
        analysis["phase1"], analysis["frame_rate"], out_dir / "ig_vs_horizon.png"
    )
    figures.plot_ig_per_dim(info, out_dir / "ig_per_dim.png")
    figures.plot_spectrum(info, out_dir / "delta_pca_spectrum.png")
    figures.plot_rollout(info, out_dir / "rollout_nll.png")


def fmt(value: Any, digits: int = 4) -> str:
    """A number for a markdown table: ``digits`` significant digits, "n/a" for None/NaN/Inf."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def fmt_ci(entry: dict[str, Any], name: str) -> str:
    """``entry[name]`` with its bootstrap 95 % interval, as "value [lo, hi]".

    "n/a (not available)" when the entry says the quantity has no data behind it; a "*" after
    the interval when some resamples left it undefined (the interval covers only the rest).
    """
    if name in entry.get("unavailable", {}):
        return "n/a (not available)"
    lo, hi = entry["ci95"][name]
    mark = "*" if name in entry.get("ci95_undefined_share", {}) else ""
    return f"{fmt(entry[name])} [{fmt(lo)}, {fmt(hi)}]{mark}"


def render_report(analysis: dict[str, Any]) -> str:
    """Markdown summary of whatever phases ``analysis`` holds."""
    lines = [
        "# Latent predictability analysis",
        "",
        f"Corpus `{analysis['corpus']}` (codec `{analysis['codec'] or 'unknown'}`), "
        f"D = {analysis['latent_dim']}, {analysis['frame_rate']:g} frames/s, split by "
        f"{analysis['split']}. Frames: {analysis['n_frames']}. Items: {analysis['n_items']} "
        f"(items shorter than context + largest offset are skipped). Non-finite frames dropped: "
        f"{analysis['n_nonfinite_frames']}. Intervals: 95 % bootstrap over eval items.",
        "",
    ]
    if "phase0" in analysis:
        lines += _phase0_lines(analysis["phase0"])
    if "phase1" in analysis:
        lines += _phase1_lines(analysis["phase1"], analysis["phase1_info"])
    if "factorize" in analysis:
        from latentroom.analysis.factorize.report import factorize_lines

        lines += factorize_lines(analysis["factorize"])
    if "memory" in analysis:
        from latentroom.analysis.memory.report import memory_lines

        lines += memory_lines(analysis["memory"], analysis["memory_info"])
    lines += problem_lines(analysis)
    return "\n".join(lines) + "\n"


def problem_lines(tree: dict[str, Any]) -> list[str]:
    """The report's "Not available" section and the "*" footnote, when they apply."""
    from latentroom.analysis.availability import has_partial_intervals, problems

    found = problems(tree)
    lines = ["## Not available or left out", "", *(f"- {p}" for p in found), ""] if found else []
    if has_partial_intervals(tree):
        lines += [
            "\\* Some bootstrap resamples left this quantity undefined (none of their items kept "
            "a window); the interval covers the other resamples only (`ci95_undefined_share` in "
            "the JSON gives the share).",
            "",
        ]
    return lines


def _phase0_lines(phase0: dict[str, Any]) -> list[str]:
    lines = [
        "## Phase 0: clustering the context",
        "",
        "Variance ratio of Δx within clusters of the context key (1 = the key explains nothing).",
        "",
        "| key | lag | slice | variance ratio | random baseline | frames |",
        "|---|---|---|---|---|---|",
    ]
    for key, entry in phase0.items():
        for lag, by_slice in entry["lags"].items():
            for name, cell in by_slice.items():
                lines.append(
                    f"| {key} | {lag} | {name} | {fmt_ci(cell, 'variance_ratio')} | "
                    f"{fmt_ci(cell, 'random_baseline')} | {cell['n_frames']} |"
                )
    lines.append("")
    for key, entry in phase0.items():
        text = (
            f"- {key}: {entry['n_small_clusters']} of {entry['n_clusters']} clusters below the "
            f"minimum size ({entry['min_cluster_size']} train windows); "
            f"{entry['n_eval_set_aside']} eval frames set aside."
        )
        if "warning" in entry:
            text += f" **{entry['warning']}.**"
        if "cross_group_degradation" in entry:
            intervals = entry["cross_group_degradation_ci95"]
            by_lag = ", ".join(
                f"lag {lag}: {fmt(value)} [{fmt(intervals[lag][0])}, {fmt(intervals[lag][1])}]"
                for lag, value in entry["cross_group_degradation"].items()
            )
            text += f" Cross-group degradation (unseen − seen groups): {by_lag}."
        lines.append(text)
    return [*lines, "", "![variance ratios](variance_ratio.png)", ""]


def _phase1_lines(phase1: dict[str, Any], info: dict[str, Any]) -> list[str]:
    lines = [
        "## Phase 1: probabilistic predictors",
        "",
        "IG = NLL(marginal_diag) − NLL(predictor) on eval (the seeds' ΔNLL is −IG).",
        "",
        "| predictor | k | NLL/frame | IG nats/frame | IG beyond marginal_full | IG bits/s | R² | "
        "direction cos | log-magnitude R² |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    flagged = info.get("flagged", {})
    for name, by_k in phase1.items():
        shown = f"{name} (left out: see below)" if name in flagged else name
        for k, e in by_k.items():
            lines.append(
                f"| {shown} | {k} | {fmt(e['nll_per_frame'])} | {fmt_ci(e, 'ig_nats_per_frame')} | "
                f"{fmt_ci(e, 'ig_beyond_full_nats_per_frame')} | {fmt(e['ig_bits_per_second'])} | "
                f"{fmt_ci(e, 'r2')} | {fmt(e['direction_cosine'])} | {fmt(e['log_magnitude_r2'])} |"
            )
    settings = info.get("settings", {})
    if settings.get("ci") == "refit":
        lines += ["", _refit_note(phase1, settings["n_refits"])]
    lines += ["", "Rollouts (one-step head fed its own mean predictions), NLL gap per step:", ""]
    for name, entry in info["rollout"].items():
        lines.append(f"- {name}: " + ", ".join(fmt(g, 3) for g in entry["gap"]))
    figures = ("ig_vs_horizon", "ig_per_dim", "delta_pca_spectrum", "rollout_nll")
    return [*lines, "", *(f"![{f}]({f}.png)" for f in figures), ""]


def _refit_note(phase1: dict[str, Any], n_refits: int) -> str:
    """What the refit intervals are, with the estimated fitting bias of the IG per predictor."""
    biases = [
        f"{name} k={k} {fmt(e['refit_bias']['ig_nats_per_frame'])}"
        for name, by_k in phase1.items()
        if not name.startswith("marginal")
        for k, e in by_k.items()
    ]
    return (
        f"Intervals from {n_refits} refits on resampled train items and resampled eval items "
        "(basic bootstrap: they carry the fitting error). Estimated fitting bias of the IG "
        "(nats/frame; subtract it to correct): " + ("; ".join(biases) or "none") + "."
    )
