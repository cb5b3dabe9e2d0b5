"""The ``memory`` section of ``analysis.json`` and its part of ``report.md``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from latentroom.analysis.report import fmt, fmt_ci, load_analysis, render_report
from latentroom.fileio import write_text_atomic


def write_memory(
    out: Path, facts: dict[str, Any], section: dict[str, Any], info: dict[str, Any]
) -> dict[str, Any]:
    """Merge ``memory`` into ``analysis.json``, then rewrite the figures and ``report.md``.

    ``facts`` (the corpus header) fill in only what the folder does not hold yet: a folder
    that already holds Phase 0–3 keeps their description of the corpus.
    """
    from latentroom.analysis.memory.figures import write_figures

    analysis = {**facts, **load_analysis(out), "memory": section, "memory_info": info}
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "analysis.json", json.dumps(analysis, indent=1) + "\n")
    write_figures(out, section, info)
    write_text_atomic(out / "report.md", render_report(analysis))
    return analysis


def memory_lines(section: dict[str, Any], info: dict[str, Any]) -> list[str]:
    """Markdown of a Phase 4 run: what was compared, verdict, tables of numbers, figures."""
    s, p, tf = info["settings"], section["parameters"], section["teacher_forced"]
    verdict = section["verdict"]
    lines = [
        "## Phase 4: lookup memory for the dynamics model",
        "",
        f"States: {info['states']} (d = {info['state_dim']}, {fmt(info['frame_rate'])} states/s). "
        f"A causal MLP over the last {s['context']} states predicts a diagonal Gaussian "
        f"p(s_t | s_<t), with and without an Engram-style memory: k-means codes "
        f"({s['codes']}) of the recent states, n-grams of orders {s['orders']}, {s['heads']} "
        f"hash heads per order, tables of at most {s['table_size']} slots × {s['embed_dim']} "
        f"dims, a learned gate. Parameters: {p['memory']} with memory (trunk width "
        f"{p['widths']['memory']}), {p['no_memory']} without (width {p['widths']['no_memory']}, "
        f"widened to match; difference {fmt(100 * p['relative_difference'], 2)} %, at most "
        f"{p['tolerance']} by construction). Best marginal of Δs: {info['best_marginal']['name']}. "
        f"Intervals: 95 % bootstrap over {section['n_eval_items']} eval items.",
        "",
        f"**Verdict (teacher-forced): {verdict['teacher_forced']}.**",
        "",
    ]
    if "warning" in section:
        lines += [f"**{section['warning']}.**", ""]
    worse = verdict["rollout_worse_than_state_marginal"]
    for model, horizons in worse.items():
        if horizons:
            lines.append(
                f"- {model}: free rollout worse than the context-free Gaussian of the state at "
                f"horizons {horizons} (the rollout has lost the trajectory)."
            )
    lines += [
        "",
        "| teacher-forced, one step | value [95 % CI] |",
        "|---|---|",
        f"| NLL with memory (nats/frame) | {fmt_ci(tf, 'nll_memory')} |",
        f"| NLL without memory (nats/frame) | {fmt_ci(tf, 'nll_no_memory')} |",
        f"| NLL best marginal (nats/frame) | {fmt_ci(tf, 'nll_best_marginal')} |",
        f"| IG with memory (nats/frame) | {fmt_ci(tf, 'ig_memory_nats_per_frame')} |",
        f"| IG without memory (nats/frame) | {fmt_ci(tf, 'ig_no_memory_nats_per_frame')} |",
        f"| memory gain (nats/frame) | {fmt_ci(tf, 'memory_gain_nats_per_frame')} |",
        f"| memory gain (bits/s) | {fmt_ci(tf, 'memory_gain_bits_per_second')} |",
        f"| mean gate | {fmt_ci(tf, 'gate_mean')} |",
        "",
        "| free rollout, horizon | NLL with memory | NLL without memory | state's own Gaussian | "
        "memory gain |",
        "|---|---|---|---|---|",
    ]
    for r, e in section["rollout"].items():
        lines.append(
            f"| {r} | {fmt_ci(e, 'nll_memory')} | {fmt_ci(e, 'nll_no_memory')} | "
            f"{fmt_ci(e, 'nll_state_marginal')} | {fmt_ci(e, 'memory_gain_nats_per_frame')} |"
        )
    usage = section["table_usage"]
    lines += [
        "",
        f"Table usage (codes used on train: {fmt(100 * usage['share_codes_used'], 3)} %):",
        "",
        "| table | slots | hit on train | hit on eval | distinct n-grams (train) | "
        "n-grams sharing a slot |",
        "|---|---|---|---|---|---|",
    ]
    for name, t in usage["tables"].items():
        share = t["collision_share"]
        shared = "n/a" if share is None else f"{fmt(100 * share, 3)} %"
        lines.append(
            f"| {name} | {t['slots']} | {fmt(100 * t['share_hit_train'], 3)} % | "
            f"{fmt(100 * t['share_hit_eval'], 3)} % | {fmt(t['distinct_ngrams_train'])} | "
            f"{shared} |"
        )
    figures = ("memory_rollout", "memory_tables", "memory_training")
    return [*lines, "", *(f"![{f}]({f}.png)" for f in figures), ""]
