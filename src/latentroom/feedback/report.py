"""A finished run's tables, figures and ``report.md``, including the seed's §5 verdicts."""

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
from latentroom.fileio import write_text_atomic

MAX_SHEET_ROWS = 12  # spectrogram rows: pass 0, the last pass and evenly spaced ones between
PERSISTS = 0.8  # rhythm persists: at least this share of pulses kept at the last pass
SILENCE_RISE_DB = 10.0  # silence vanishes: gap-to-pulse ratio up by this much from the input
ENTROPY_RISE = 0.02  # entropy rises: normalised entropy up by this much from the first pass
SHEEN_RISE = 0.05  # sheen appears: share above 8 kHz up by this much from the first pass ...
CENTROID_RATIO = 1.2  # ... or the centroid up by this factor
LOUDNESS_DRIFT_LU = 1.0  # loudness drifts: |room gain| summed after the first pass at least this


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
    """Write ``metrics.csv``, ``metrics.json``, both figures and ``report.md`` (atomically)."""
    from latentroom.plots import plot_loop_metrics

    rows = metric_table(manifest)
    columns = list(rows[0])
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _csv_value(v) for k, v in row.items()} for row in rows)
    write_text_atomic(run_dir / "metrics.csv", text.getvalue())
    payload = {"columns": columns, "passes": to_json(rows)}
    write_text_atomic(run_dir / "metrics.json", json.dumps(payload, indent=2) + "\n")
    _plot_sheet(run_dir, manifest)
    series = {name: [row[name] for row in rows] for name in (*METRIC_NAMES, "room_gain_db")}
    plot_loop_metrics([row["pass"] for row in rows], series, run_dir / "metrics.png")
    write_text_atomic(run_dir / "report.md", render_report(manifest, rows))
    return [
        run_dir / n
        for n in ("metrics.csv", "metrics.json", "spectrograms.png", "metrics.png", "report.md")
    ]


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


def _pass_label(record: dict[str, Any]) -> str:
    if record["index"] == 0:
        return "input"
    params = record.get("params", {})
    shown = [f"s={params['strength']:.2f}"] if "strength" in params else []
    return "\n".join([f"pass {record['index']}", *shown])


Row = dict[str, Any]
Verdict = tuple[str, bool | None, str]


def phenomena(rows: list[Row]) -> list[Verdict]:
    """The seed's §5 claims as ``(claim, occurred or None if unmeasurable, the numbers)``.

    Rhythm and silence compare the last pass with the input (pass 0); entropy, sheen and
    loudness compare it with the first processed pass, since the input (clicks) is itself
    white and at its own level.
    """
    first, base, last = rows[0], rows[min(1, len(rows) - 1)], rows[-1]
    return [
        _rhythm(first, last),
        _silence(first, last),
        _entropy(base, last),
        _sheen(base, last),
        _loudness(rows),
    ]


def _rhythm(first: Row, last: Row) -> Verdict:
    kept = float(last["persistence"])
    numbers = (
        f"persistence {_f(first['persistence'])} at the input, {_f(kept)} at pass "
        f"{last['pass']} (threshold {PERSISTS}); median onset deviation "
        f"{_f(last['onset_deviation_ms'], '+.1f')} ms"
    )
    return "rhythm persists", _ok(kept >= PERSISTS, kept), numbers


def _silence(first: Row, last: Row) -> Verdict:
    rise = float(last["gap_to_pulse_db"]) - float(first["gap_to_pulse_db"])
    numbers = (
        f"gap-to-pulse ratio {_f(first['gap_to_pulse_db'], '.1f')} dB at the input, "
        f"{_f(last['gap_to_pulse_db'], '.1f')} dB at pass {last['pass']} "
        f"(threshold: +{SILENCE_RISE_DB} dB)"
    )
    return "silence vanishes", _ok(rise >= SILENCE_RISE_DB, rise), numbers


def _entropy(base: Row, last: Row) -> Verdict:
    rise = float(last["entropy"]) - float(base["entropy"])
    numbers = (
        f"normalised spectral entropy {_f(base['entropy'], '.3f')} at pass {base['pass']}, "
        f"{_f(last['entropy'], '.3f')} at pass {last['pass']}; flatness "
        f"{_f(base['flatness'], '.3f')} -> {_f(last['flatness'], '.3f')} "
        f"(threshold: +{ENTROPY_RISE})"
    )
    return "entropy rises", _ok(rise >= ENTROPY_RISE, rise), numbers


def _sheen(base: Row, last: Row) -> Verdict:
    rise = float(last["hf_share"]) - float(base["hf_share"])
    base_centroid = float(base["centroid_hz"])
    ratio = float(last["centroid_hz"]) / base_centroid if base_centroid else math.nan
    numbers = (
        f"share above 8 kHz {_f(base['hf_share'], '.3f')} -> {_f(last['hf_share'], '.3f')}, "
        f"centroid {_f(base_centroid, '.0f')} -> {_f(last['centroid_hz'], '.0f')} Hz from pass "
        f"{base['pass']} to {last['pass']} (thresholds: +{SHEEN_RISE} share or "
        f"x{CENTROID_RATIO} centroid)"
    )
    return (
        "sheen appears",
        _ok(rise >= SHEEN_RISE or ratio >= CENTROID_RATIO, rise + ratio),
        numbers,
    )


def _loudness(rows: list[Row]) -> Verdict:
    """The room's own gain summed over passes 2..last (pass 1 turns clicks into sound).

    Summed per pass, it is what the loudness would have done with no level policy; with
    ``--level off`` it equals the LUFS change from pass 1 to the last pass.
    """
    base, last = rows[min(1, len(rows) - 1)], rows[-1]
    gains = [float(row["room_gain_db"]) for row in rows[2:]]
    change = float(np.sum(gains)) if gains else math.nan
    numbers = (
        f"the room's own gain summed from pass {base['pass'] + 1} to {last['pass']}: "
        f"{_f(change, '+.1f')} LU; written {_f(base['lufs'], '.1f')} LUFS at pass "
        f"{base['pass']}, {_f(last['lufs'], '.1f')} LUFS at pass {last['pass']}, peak "
        f"{_f(last['peak_dbfs'], '.1f')} dBFS (threshold: {LOUDNESS_DRIFT_LU} LU)"
    )
    return "loudness drifts", _ok(abs(change) >= LOUDNESS_DRIFT_LU, change), numbers


def render_report(manifest: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The Markdown report: the run, the verdicts, the per-pass table, warnings, figures."""
    backend = manifest["backend"]
    lines = [
        "# Feedback loop report",
        "",
        f"- backend: `{backend['name']}` (honours {', '.join(backend['honoured']) or 'nothing'})",
        f"- passes: {manifest['n_passes']}, master seed {manifest['master_seed']}",
        f"- input: {_describe_input(manifest['input'])}",
        f"- latent drift measured in codec: `{manifest['latent_codec']}`",
        f"- latentroom {manifest['latentroom_version']}",
        "",
        "## Did the seed's phenomena (§5) occur?",
        "",
    ]
    for claim, occurred, numbers in phenomena(rows):
        verdict = {True: "**yes**", False: "**no**", None: "**not measurable**"}[occurred]
        lines.append(f"- {claim}: {verdict} — {numbers}")
    lines += ["", "## Per pass", "", *_markdown_table(rows), "", *_param_changes(manifest), ""]
    lines += _levels(manifest)
    if manifest["warnings"]:
        lines += ["## Warnings", "", *[f"- {w}" for w in manifest["warnings"]], ""]
    lines += [
        "## Figures",
        "",
        "![spectrograms](spectrograms.png)",
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


def _ok(condition: bool, value: float) -> bool | None:
    return None if not math.isfinite(value) else bool(condition)


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
