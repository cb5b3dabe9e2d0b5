"""The outputs of ``analyze compare``: ``comparison.json``, ``comparison.md`` and two figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from latentroom import __version__
from latentroom.analysis.report import fmt, fmt_ci, problem_lines
from latentroom.fileio import check_outputs, write_text_atomic

FORMAT_VERSION = 1
FILES = (
    "comparison.json",
    "comparison.md",
    "ig_vs_horizon_by_codec.png",
    "variance_ratio_by_codec.png",
)
HEAD_PREDICTORS = ("linear", "sequence")  # drawn in the IG figure (solid, dashed)


def check_compare_outputs(out_dir: Path, *, force: bool) -> None:
    """Refuse, before any work, to overwrite an earlier comparison unless ``force``.

    Corpus stores under ``OUT/corpora`` are not outputs: a rerun reuses them.
    """
    check_outputs([out_dir / name for name in FILES], force=force)


def write_comparison(out_dir: Path, comparison: dict[str, Any]) -> dict[str, Any]:
    """Write the JSON, the figures and the markdown report; return the JSON content."""
    data = {"format_version": FORMAT_VERSION, "latentroom_version": __version__, **comparison}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "comparison.json", json.dumps(data, indent=1) + "\n")
    plot_ig_by_codec(data, out_dir / "ig_vs_horizon_by_codec.png")
    plot_variance_ratios_by_codec(data, out_dir / "variance_ratio_by_codec.png")
    write_text_atomic(out_dir / "comparison.md", render_comparison(data))
    return data


def _weights(row: dict[str, Any]) -> str:
    return "random: architecture only" if row["architecture_only"] else "trained"


def _rows(data: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(codec label, weights, variant, result) for every analysed variant, input audio last."""
    rows = [
        (label, _weights(row), variant, result)
        for label, row in data["codecs"].items()
        for variant, result in row["variants"].items()
    ]
    if data.get("input_mel"):
        rows.append(("input audio", "-", "input-mel", data["input_mel"]))
    return rows


def _phase0_table(data: dict[str, Any]) -> list[str]:
    keys = list(data["settings"]["keys"])
    head = "| codec | weights | variant | D | Hz | frames train/eval | "
    head += " | ".join(f"{k} VR (random)" for k in keys) + " | learned key VR | mean key VR |"
    lines = [head, "|" + "---|" * (9 + len(keys) - 1)]
    for label, weights, variant, result in _rows(data):
        cells = [
            f"{fmt_ci(result['phase0'][k], 'variance_ratio')} "
            f"({fmt(result['phase0'][k]['random_baseline'])})"
            for k in keys
        ]
        learned = result.get("learned_key") or {"keys": {}}
        named = list(learned["keys"].items())
        learned_cells = [fmt_ci(entry, "variance_ratio") for _, entry in named] or ["-", "-"]
        frames = result["n_frames"]
        lines.append(
            f"| {label} | {weights} | {variant} | {result['latent_dim']} | "
            f"{result['frame_rate']:g} | {frames['train']}/{frames['eval']} | "
            + " | ".join(cells + learned_cells)
            + " |"
        )
    return lines


def _phase1_table(data: dict[str, Any]) -> list[str]:
    k = str(data["settings"]["horizons"][0])
    lines = [
        f"| codec | weights | variant | predictor | IG nats/frame (k={k}) | IG nats/dim "
        "| IG bits/s | IG beyond marginal_full | R² |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, weights, variant, result in _rows(data):
        for name, by_k in result["phase1"].items():
            if name == "marginal_diag":
                continue
            e = by_k[k]
            shown = f"{name} (left out)" if name in result.get("flagged", {}) else name
            lines.append(
                f"| {label} | {weights} | {variant} | {shown} | {fmt_ci(e, 'ig_nats_per_frame')} "
                f"| {fmt(e['ig_nats_per_dim'])} | {fmt(e['ig_bits_per_second'])} | "
                f"{fmt_ci(e, 'ig_beyond_full_nats_per_frame')} | {fmt(e['r2'])} |"
            )
    return lines


def _decoder_table(data: dict[str, Any]) -> list[str]:
    key, k = data["settings"]["keys"][0], str(data["settings"]["horizons"][0])
    lines = [
        f"| codec | weights | D | effective dims | dims kept | {key} VR raw | {key} VR weighted "
        "| linear R² raw | linear R² weighted |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, row in data["codecs"].items():
        if "sensitivity" not in row:
            continue
        raw, weighted = row["variants"]["aligned"], row["variants"]["decoder-weighted"]
        r2 = [v["phase1"].get("linear", {}).get(k, {}).get("r2") for v in (raw, weighted)]
        lines.append(
            f"| {label} | {_weights(row)} | {row['latent_dim']} | "
            f"{fmt(row['sensitivity']['effective_dims'])} | {row['sensitivity']['n_kept']} | "
            f"{fmt(raw['phase0'][key]['variance_ratio'])} | "
            f"{fmt(weighted['phase0'][key]['variance_ratio'])} | {fmt(r2[0])} | {fmt(r2[1])} |"
        )
    return lines


def render_comparison(data: dict[str, Any]) -> str:
    """Markdown report of a comparison (the three tables and the figures)."""
    settings = data["settings"]
    random_note = (
        "**All codecs have random weights: these rows measure the architecture only, not a "
        "trained latent space.**"
        if settings["random_init"]
        else "Codecs use their trained weights."
    )
    lines = [
        "# Cross-codec latent comparison",
        "",
        f"Audio: `{data['audio_dir']}` ({data['n_files']} files). Common frame rate "
        f"{data['common_rate']:g} Hz (`--rate {settings['rate']}`), normalisation "
        f"`{settings['normalise']}` fit on train items, context L = {settings['context']}, "
        f"split seed {settings['seed']}. {random_note}",
        "",
        "Variants: `aligned` (pooled to the common rate, normalised), `native` (native rate), "
        "`decoder-weighted` (aligned, each dim scaled by the square root of its decoder "
        "sensitivity, no other normalisation), `decoded-mel` (log-mel of the decoded audio), "
        "`input-mel` (log-mel of the input audio: what the sound itself holds). Intervals: 95 % "
        "bootstrap over eval items.",
        "",
        "## Phase 0: variance ratio of Δx within context clusters (lag 1)",
        "",
        *_phase0_table(data),
        "",
        "## Phase 1: information gain over marginal_diag",
        "",
        *_phase1_table(data),
        "",
        "## Decoder-aware",
        "",
        *_decoder_table(data),
        "",
        "![IG vs horizon](ig_vs_horizon_by_codec.png)",
        "",
        "![variance ratios](variance_ratio_by_codec.png)",
        "",
        *problem_lines(data),
    ]
    return "\n".join(lines)


def _figure(n_cols: int) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(5.0 * n_cols, 4.0), layout="constrained")


def _series(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, result) of each codec's aligned variant, then the input audio."""
    out = [(label, row["variants"]["aligned"]) for label, row in data["codecs"].items()]
    if data.get("input_mel"):
        out.append(("input audio (log-mel)", data["input_mel"]))
    return out


def plot_ig_by_codec(data: dict[str, Any], path: Path) -> Path:
    """Write ``ig_by_codec_figure(data)`` to ``path``."""
    from latentroom.plots import save_figure

    return save_figure(ig_by_codec_figure(data), path)


def ig_by_codec_figure(data: dict[str, Any]) -> Any:
    """IG vs horizon per codec (aligned): nats/frame and nats/dim; linear solid, sequence dashed."""
    from latentroom.palette import codec_colour

    figure = _figure(2)
    axes = figure.subplots(1, 2)
    for label, result in _series(data):
        for style, name in zip(("o-", "s--"), HEAD_PREDICTORS, strict=True):
            by_k = result["phase1"].get(name)
            if by_k is None:
                continue
            ks = sorted(by_k, key=int)
            for ax, metric in zip(axes, ("ig_nats_per_frame", "ig_nats_per_dim"), strict=True):
                values = [by_k[k][metric] for k in ks]
                ax.plot([int(k) for k in ks], np.asarray(values, dtype=float), style,
                        color=codec_colour(label), label=f"{label} {name}")  # fmt: skip
    horizons = sorted(
        {int(k) for _, r in _series(data) for by_k in r["phase1"].values() for k in by_k}
    )
    for ax, unit in zip(axes, ("nats/frame", "nats/dim"), strict=True):
        ax.axhline(0.0, color="black", lw=0.5)
        ax.set_xscale("log", base=2)
        ax.set_xticks(horizons, [str(k) for k in horizons])
        ax.set_xlabel(f"horizon k (frames at {data['common_rate']:g} Hz; log scale)")
        ax.set_ylabel(f"IG over marginal_diag ({unit})")
    figure.legend(*axes[0].get_legend_handles_labels(), fontsize="x-small", loc="outside right")
    return figure


def plot_variance_ratios_by_codec(data: dict[str, Any], path: Path) -> Path:
    """Write ``variance_ratio_by_codec_figure(data)`` to ``path``."""
    from latentroom.plots import save_figure

    return save_figure(variance_ratio_by_codec_figure(data), path)


def variance_ratio_by_codec_figure(data: dict[str, Any]) -> Any:
    """Variance ratio per key (bars, 95 % CI clipped, values printed) side by side per codec."""
    from latentroom.chart_axes import bar_cap, clip_note, draw_bars
    from latentroom.palette import codec_colour

    figure = _figure(2)
    ax = figure.add_subplot()
    series = _series(data)
    width = 0.8 / max(len(series), 1)
    names: list[str] = []
    for _, result in series:
        for name in _bar_entries(result):
            names += [] if name in names else [name]
    ratios = [
        np.array([_get(_bar_entries(r), k, "variance_ratio") for k in names], dtype=float)
        for _, r in series
    ]
    cap = bar_cap(np.concatenate([*ratios, np.zeros(1)]))
    clipped = 0
    for n, ((label, result), ratio) in enumerate(zip(series, ratios, strict=True)):
        entries = _bar_entries(result)
        x = np.arange(len(names)) + (n - (len(series) - 1) / 2) * width
        ci = np.array([_get(entries, k, "ci95") for k in names], dtype=float)
        colour = codec_colour(label)
        clipped += draw_bars(ax, x, ratio, ci, width=width, colour=colour, label=label, cap=cap)
        base = [_get(entries, k, "random_baseline") for k in names]
        ax.plot(x, np.asarray(base, dtype=float), "kx", ms=4,
                label="random baseline" if n == 0 else None)  # fmt: skip
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_ylim(0.0, 1.3 * cap)
    ax.axhline(1.0, color="black", lw=0.5)
    ax.set_xlabel("key")
    ax.set_ylabel("within-cluster variance ratio (no unit)")
    ax.set_title(f"Variance ratio per key, eval frames; {clip_note(clipped, cap)}", fontsize=9)
    figure.legend(*ax.get_legend_handles_labels(), fontsize="x-small", loc="outside right")
    return figure


def _bar_entries(result: dict[str, Any]) -> dict[str, Any]:
    """Phase 0 keys plus the learned key of one variant."""
    entries = dict(result["phase0"])
    learned = (result.get("learned_key") or {"keys": {}})["keys"]
    entries.update({k: v for k, v in learned.items() if k.startswith("learned")})
    return entries


def _get(entries: dict[str, Any], key: str, field: str) -> Any:
    """``entries[key][field]`` (the CI for "ci95"), NaN when the variant lacks that key."""
    if key not in entries:
        return [math.nan, math.nan] if field == "ci95" else math.nan
    value = entries[key][field]
    return value["variance_ratio"] if field == "ci95" else value
