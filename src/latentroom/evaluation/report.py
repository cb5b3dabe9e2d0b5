"""Turn an ``Evaluation`` into ``metrics.json``, ``report.md`` and ``spectrograms.png``."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from latentroom.evaluation.evaluate import ClipScore, Evaluation
from latentroom.evaluation.level_match import pool_levels
from latentroom.evaluation.onsets import OnsetScore
from latentroom.fileio import check_outputs, write_text_atomic

FORMAT_VERSION = 1  # perceptual fields are additive: absent without --perceptual
METRICS = ("log_mel_l1", "mrstft")
REPORT_FILES = ("metrics.json", "report.md", "spectrograms.png")


def mean_metrics(scores: list[dict[str, float]]) -> dict[str, float]:
    """Per-metric mean over clips."""
    return {m: float(np.mean([s[m] for s in scores])) for m in METRICS}


def pooled_onsets(scores: list[OnsetScore]) -> dict[str, Any]:
    """Onset counts summed over clips; preservation = matched / reference (None if no onsets)."""
    total = OnsetScore(*(sum(getattr(s, f.name) for s in scores) for f in fields(OnsetScore)))
    value = total.preservation
    return {**asdict(total), "preservation": None if math.isnan(value) else value}


def pool_perceptual(scores: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per measure: mean over the clips where it applies, how many did, and why the rest did not.

    ``scores`` holds each clip's measures as dicts (``asdict`` of ``Measure``). A measure that
    applies to no clip has ``mean`` None and its reasons, never a number.
    """
    pooled = {}
    for name in scores[0]:
        values = [s[name]["value"] for s in scores if s[name]["value"] is not None]
        reasons = sorted({s[name]["reason"] for s in scores if s[name]["value"] is None})
        pooled[name] = {
            "mean": float(np.mean(values)) if values else None,
            "n_clips": len(values),
            "unit": scores[0][name]["unit"],
            "not_applicable": reasons,
        }
    return pooled


def summarise_family(clips: list[ClipScore]) -> dict[str, Any]:
    """Mean metrics of the codec and the baseline over one family's clips, and who wins."""
    codec = mean_metrics([c.codec for c in clips])
    baseline_scores = [c.baseline for c in clips if c.baseline is not None]
    baseline = mean_metrics(baseline_scores) if baseline_scores else None
    perceptual = None
    if clips[0].codec_perceptual is not None:
        base = [asdict(c)["baseline_perceptual"] for c in clips if c.baseline_perceptual]
        perceptual = {
            "codec": pool_perceptual([asdict(c)["codec_perceptual"] for c in clips]),
            "baseline": pool_perceptual(base) if base else None,
        }
    base_levels = [c.baseline_level for c in clips if c.baseline_level is not None]
    return {
        "n_clips": len(clips),
        "seconds": float(sum(c.seconds for c in clips)),
        "levels": {
            "codec": pool_levels([c.codec_level for c in clips if c.codec_level is not None]),
            "baseline": pool_levels(base_levels) if base_levels else None,
        },
        "codec": codec,
        "baseline": baseline,
        "codec_beats_baseline": None
        if baseline is None
        else {m: codec[m] < baseline[m] for m in METRICS},
        "perceptual": perceptual,
    }


def summarise(evaluation: Evaluation) -> dict[str, Any]:
    """The content of ``metrics.json``: settings, per-family means, onsets, every clip."""
    from latentroom import __version__

    by_family: dict[str, list[ClipScore]] = {}
    for clip in evaluation.clips:
        by_family.setdefault(clip.family, []).append(clip)
    onsets = {}
    for family, clips in by_family.items():
        codec_onsets = [c.codec_onsets for c in clips if c.codec_onsets is not None]
        if codec_onsets:
            base = [c.baseline_onsets for c in clips if c.baseline_onsets is not None]
            onsets[family] = {
                "codec": pooled_onsets(codec_onsets),
                "baseline": pooled_onsets(base) if base else None,
            }
    return {
        "format_version": FORMAT_VERSION,
        "latentroom_version": __version__,
        "codec": evaluation.codec,
        "data": evaluation.data_dir,
        "config": asdict(evaluation.config),
        "baseline": evaluation.baseline,
        "families": {f: summarise_family(c) for f, c in by_family.items()},
        "onsets": onsets,
        "clips": [asdict(c) for c in evaluation.clips],
    }


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _subset(config: dict[str, Any]) -> str:
    """How the clips were chosen when not all were scored (``--max-clips``)."""
    if config.get("max_clips") is None:
        return ""
    how = "the first in path order" if config.get("pick") == "first" else "spread over the list"
    return f" (at most {config['max_clips']} per family, {how})"


def render_markdown(summary: dict[str, Any], *, figure: bool = True) -> str:
    """``report.md``: codec facts, a table per metric family by family, onsets, the figure."""
    codec = summary["codec"]
    lines = [
        f"# Codec evaluation: {codec['name']}",
        "",
        f"{codec['sample_rate']} Hz, {codec['channels']} channel(s), hop {codec['hop_length']}, "
        f"{codec['latent_dim']}-d latents at {codec['frame_rate']:.3f} Hz. "
        f"Held-out clips from `{summary['data']}`{_subset(summary['config'])}. Lower is "
        "better; definitions in docs/evaluation.md.",
        "",
        "| family | clips | log-mel L1 codec | log-mel L1 baseline | MR-STFT codec "
        "| MR-STFT baseline | codec beats baseline (log-mel) |",
        "|---|---|---|---|---|---|---|",
    ]
    for family, row in summary["families"].items():
        base = row["baseline"] or {}
        wins = row["codec_beats_baseline"]
        lines.append(
            f"| {family} | {row['n_clips']} | {_cell(row['codec']['log_mel_l1'])} "
            f"| {_cell(base.get('log_mel_l1'))} | {_cell(row['codec']['mrstft'])} "
            f"| {_cell(base.get('mrstft'))} | {'—' if wins is None else wins['log_mel_l1']} |"
        )
    if summary["baseline"] is not None:
        b = summary["baseline"]
        lines += [
            "",
            f"Baseline: PCA of {b['n_mels']}-band log-mel frames to {b['n_components']} dims "
            f"(codec: {b['requested_components']}) every {b['hop_length']} samples, window "
            f"{b['n_fft']}, inverted by {b['griffin_lim_iters']} Griffin-Lim iterations.",
        ]
    lines += level_lines(summary["families"])
    lines += onset_lines(summary["onsets"])
    lines += perceptual_lines(summary["families"])
    if figure:
        lines += ["", "![spectrograms](spectrograms.png)"]
    return "\n".join([*lines, ""])


def _signed(value: float | None, unit: str) -> str:
    return "—" if value is None else f"{value:+.2f} {unit}"


def level_lines(families: dict[str, Any]) -> list[str]:
    """The level table: worst clip's loudness and true-peak change, share inside the gates."""
    rows = [(f, row["levels"]) for f, row in families.items() if row.get("levels")]
    if not rows:
        return []
    gate = rows[0][1]["codec"]
    loud, peak = gate["loudness_gate_lu"], gate["peak_gate_db"]
    lines = [
        "",
        f"Levels (decoded vs input, every clip; gate: loudness within ±{loud:g} LU, true peak at "
        f"most +{peak:g} dB):",
        "",
        "| family | mean Δloudness codec | worst abs Δloudness codec | worst Δpeak codec "
        "| inside gate codec | inside gate baseline |",
        "|---|---|---|---|---|---|",
    ]
    for family, levels in rows:
        codec, base = levels["codec"], levels["baseline"] or {}
        share, base_share = codec["share_within_gate"], base.get("share_within_gate")
        lines.append(
            f"| {family} | {_signed(codec['mean_loudness_diff_lu'], 'LU')} "
            f"| {_cell(codec['max_abs_loudness_diff_lu'])} LU "
            f"| {_signed(codec['max_peak_diff_db'], 'dB')} "
            f"| {'—' if share is None else f'{share:.0%}'} "
            f"| {'—' if base_share is None else f'{base_share:.0%}'} |"
        )
    return lines


def onset_lines(onsets: dict[str, Any]) -> list[str]:
    """The onset-preservation table (empty when no onset family was scored)."""
    if not onsets:
        return ["", "No onset family (koenig, drums) among the held-out clips: onsets not scored."]
    lines = [
        "",
        "Onset preservation (reference onsets kept within ±1 latent frame):",
        "",
        "| family | onsets | codec | baseline |",
        "|---|---|---|---|",
    ]
    for family, row in onsets.items():
        base = row["baseline"]
        lines.append(
            f"| {family} | {row['codec']['n_reference']} | {_cell(row['codec']['preservation'])} "
            f"| {_cell(None if base is None else base['preservation'])} |"
        )
    return lines


def perceptual_lines(families: dict[str, Any]) -> list[str]:
    """One table per family of the perceptual measures (empty without ``--perceptual``)."""
    lines: list[str] = []
    for family, row in families.items():
        table = row.get("perceptual")
        if table is None:
            continue
        codec, base = table["codec"], table["baseline"] or {}
        lines += [
            "",
            f"Perceptual measures, {family} (mean over the clips where each applies):",
            "",
            "| measure | unit | codec | baseline | clips | not applicable because |",
            "|---|---|---|---|---|---|",
        ]
        for name, pooled in codec.items():
            other = base.get(name, {})
            why = "; ".join(pooled["not_applicable"])
            base_why = "; ".join(other.get("not_applicable", []))
            if base_why and base_why != why:
                why = f"{why}{'; ' if why else ''}baseline: {base_why}"
            lines.append(
                f"| {name} | {pooled['unit'] or '—'} | {_cell(pooled['mean'])} "
                f"| {_cell(other.get('mean'))} | {pooled['n_clips']}/{row['n_clips']} "
                f"| {why or '—'} |"
            )
    if lines:
        lines += ["", "Definitions and directions (higher or lower is better): docs/evaluation.md."]
    return lines


def write_report(out_dir: Path, evaluation: Evaluation, *, force: bool = False) -> dict[str, Any]:
    """Write ``metrics.json``, ``report.md`` and ``spectrograms.png`` (each atomically)."""
    from latentroom.evaluation.figures import plot_spectrograms

    check_outputs([out_dir / name for name in REPORT_FILES], force=force)
    summary = summarise(evaluation)
    title = f"{evaluation.codec['name']}: original / codec / baseline (mel, dB)"
    if evaluation.figures:
        plot_spectrograms(out_dir / "spectrograms.png", evaluation.figures, title=title)
    write_text_atomic(out_dir / "metrics.json", json.dumps(summary, indent=2) + "\n")
    write_text_atomic(
        out_dir / "report.md", render_markdown(summary, figure=bool(evaluation.figures))
    )
    return summary
