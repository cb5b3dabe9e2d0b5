"""A finished run's tables, figures and ``report.md``, with the verdicts of ``verdicts.py``."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from latentroom.feedback.manifest import iter_name, to_json
from latentroom.feedback.metrics import METRIC_NAMES
from latentroom.feedback.schedule import NUMERIC_PARAMS
from latentroom.feedback.verdicts import InputClass, input_class, not_judged, phenomena
from latentroom.fileio import write_text_atomic

MAX_SHEET_ROWS = 12  # spectrogram rows: pass 0, the last pass and evenly spaced ones between


def metric_table(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per pass: pass, seed, the scheduled numeric params, every metric."""
    numeric = [
        k for k in NUMERIC_PARAMS if any(k in r.get("params", {}) for r in manifest["passes"])
    ]
    rows = []
    for record in manifest["passes"]:
        params = record.get("params", {})
        row: dict[str, Any] = {"pass": record["index"], "seed": record.get("seed")}
        row.update({k: params.get(k) for k in numeric})
        row.update({k: record["metrics"].get(k, math.nan) for k in METRIC_NAMES})
        level = record.get("level") or {}
        row["room_gain_db"] = _number(level.get("room_gain_db"))
        row["level_gain_db"] = _number(level.get("gain_db", 0.0 if record["index"] else None))
        rows.append(row)
    return rows


def write_outputs(run_dir: Path, manifest: dict[str, Any]) -> list[Path]:
    """Write ``metrics.csv``, ``metrics.json``, the figures and ``report.md`` (atomically).

    ``metrics.json`` holds the per-pass rows and the input's class with the verdicts.
    """
    from latentroom.plots import plot_loop_metrics

    rows = metric_table(manifest)
    found = input_class(manifest)
    columns = list(rows[0])
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _csv_value(v) for k, v in row.items()} for row in rows)
    write_text_atomic(run_dir / "metrics.csv", text.getvalue())
    payload = {
        "columns": columns,
        "passes": to_json(rows),
        "input_class": {**found.to_dict(), "name": found.name},
        "verdicts": [verdict.to_dict() for verdict in phenomena(rows, found)],
        "not_judged": [{"phenomenon": c, "why": why} for c, why in not_judged(found)],
    }
    write_text_atomic(run_dir / "metrics.json", json.dumps(payload, indent=2) + "\n")
    _plot_sheet(run_dir, manifest)
    _plot_horizon(run_dir, manifest)
    series = {name: [row[name] for row in rows] for name in (*METRIC_NAMES, "room_gain_db")}
    plot_loop_metrics([row["pass"] for row in rows], series, run_dir / "metrics.png")
    write_text_atomic(run_dir / "report.md", render_report(manifest, rows, found))
    names = ("metrics.csv", "metrics.json", "spectrograms.png", "horizon.png", "metrics.png")
    return [run_dir / n for n in (*names, "report.md")]


def sheet_passes(n_passes: int) -> list[int]:
    """Passes shown on the spectrogram sheet: all, or at most ``MAX_SHEET_ROWS`` spread evenly."""
    count = min(n_passes + 1, MAX_SHEET_ROWS)
    return sorted({round(x) for x in np.linspace(0, n_passes, count)})


def _plot_sheet(run_dir: Path, manifest: dict[str, Any]) -> None:
    """Load the shown passes one at a time; keep only their mel levels."""
    from latentroom.audio.io import load_audio
    from latentroom.evaluation.figures import mel_db
    from latentroom.spectrogram_plots import plot_loop_spectrograms

    rows = []
    for index in sheet_passes(len(manifest["passes"]) - 1):
        audio = load_audio(run_dir / iter_name(index))
        levels = mel_db(audio.samples.mean(axis=0), audio.sample_rate)
        rows.append((_pass_label(manifest["passes"][index]), levels, audio.duration))
    pulses = np.asarray(manifest["input"]["pulse_times"], dtype=float)
    seed = manifest["input"]["kind"] == "koenig_seed"
    plot_loop_spectrograms(
        rows,
        pulses,
        run_dir / "spectrograms.png",
        sample_rate=audio.sample_rate,
        pulse_label="the seed's pulses" if seed else "onsets detected in the input",
    )


def _plot_horizon(run_dir: Path, manifest: dict[str, Any]) -> None:
    """Every pass's between-pulse spectrum, loaded one pass at a time, as one image."""
    from latentroom.audio.io import load_audio
    from latentroom.feedback.taxonomy import horizon_levels
    from latentroom.spectrogram_plots import plot_horizon

    pulses = np.asarray(manifest["input"]["pulse_times"], dtype=float)
    columns = []
    for record in manifest["passes"]:
        audio = load_audio(run_dir / record["file"])
        columns.append(horizon_levels(audio.samples.mean(axis=0), audio.sample_rate, pulses))
    plot_horizon(np.stack(columns, axis=1), run_dir / "horizon.png", sample_rate=audio.sample_rate)


def _pass_label(record: dict[str, Any]) -> str:
    if record["index"] == 0:
        return "input"
    params = record.get("params", {})
    shown = [f"s={params['strength']:.2f}"] if "strength" in params else []
    return "\n".join([f"pass {record['index']}", *shown])


def render_report(
    manifest: dict[str, Any], rows: list[dict[str, Any]], found: InputClass | None = None
) -> str:
    """The Markdown report: the run, the verdicts, the per-pass table, warnings, figures.

    ``found`` is the input's class (None: ``input_class(manifest)``); it picks the verdicts.
    """
    found = found or input_class(manifest)
    backend = manifest["backend"]
    lines = [
        "# Feedback loop report",
        "",
        f"- backend: `{backend['name']}` (honours {', '.join(backend['honoured']) or 'nothing'})",
        f"- passes: {manifest['n_passes']}, master seed {manifest['master_seed']}",
        f"- input: {_describe_input(manifest['input'])}",
        f"- judged as: {found.name} ({found.reason})",
        f"- latent drift measured in codec: `{manifest['latent_codec']}`",
        f"- latentroom {manifest['latentroom_version']}",
        "",
        "## Did the seed's phenomena (§5) occur?",
        "",
    ]
    for verdict in phenomena(rows, found):
        lines.append(
            f"- {verdict.claim}: **{verdict.label}** — {verdict.numbers} "
            f"(threshold: {verdict.threshold})"
        )
    skipped = not_judged(found)
    if skipped:
        lines += ["", "Not judged for this input:", ""]
        lines += [f"- {claim}: {why}" for claim, why in skipped]
    lines += ["", "## Per pass", "", *_markdown_table(rows), "", *_param_changes(manifest), ""]
    lines += _levels(manifest)
    if manifest["warnings"]:
        lines += ["## Warnings", "", *[f"- {w}" for w in manifest["warnings"]], ""]
    lines += [
        "## Figures",
        "",
        "![spectrograms](spectrograms.png)",
        "",
        "![spectral horizon](horizon.png)",
        "",
        "![metrics](metrics.png)",
        "",
    ]
    return "\n".join(lines)


def _levels(manifest: dict[str, Any]) -> list[str]:
    """The level policy, the gains it applied and any pass written above 0 dBFS."""
    policy = manifest.get("level", "off")
    records = [(r["index"], r.get("level") or {}) for r in manifest["passes"][1:]]
    over = [index for index, level in records if level.get("over_0dbfs")]
    gains = [float(level.get("gain_db", 0.0)) for _, level in records]
    lines = ["## Levels", "", f"- policy: `--level {policy}` (see docs/feedback-loop.md)"]
    if any(gains):
        lines.append(f"- gain applied per pass: {min(gains):+.1f} to {max(gains):+.1f} dB")
    elif gains:
        lines.append("- gain applied: none")
    if over:
        shown = ", ".join(str(i) for i in over)
        lines.append(f"- **over 0 dBFS**: pass {shown} (lower with `--level keep`)")
    return [*lines, ""]


def _param_changes(manifest: dict[str, Any]) -> list[str]:
    """One line per pass whose scheduled params differ from the pass before (prompts included)."""
    lines, previous = ["Scheduled params, where they change:", ""], None
    for record in manifest["passes"][1:]:
        params = record.get("params", {})
        if params != previous:
            shown = ", ".join(f"{k} = {v!r}" for k, v in params.items()) or "none"
            lines.append(f"- from pass {record['index']}: {shown}")
        previous = params
    return lines


def _describe_input(source: dict[str, Any]) -> str:
    if source["kind"] == "koenig_seed":
        config = source["config"]
        return (
            f"Koenig seed E({config['pulses']},{config['steps']}), {config['seconds']} s at "
            f"{config['sample_rate']} Hz, {len(source['pulse_times'])} pulses"
        )
    return f"`{Path(source['path']).name}`, {len(source['pulse_times'])} detected onsets"


def _markdown_table(rows: list[dict[str, Any]]) -> list[str]:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[c]) for c in columns) + " |")
    return lines


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _f(value: Any, spec: str = ".2f") -> str:
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return format(float(value), spec)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return _f(value, ".4g")
    return str(value)


def _csv_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return value
