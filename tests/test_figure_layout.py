"""Every figure at its extremes (1 and 50 passes, 5 and 1000 onsets, 1 and 10 codecs) is readable.

Readable, as the renderer measures it: no two text boxes (titles, axis and tick labels, printed
values, legend entries) overlap, every text lies inside the figure, every axis showing tick labels
is labelled, spectrograms carry a frequency axis in Hz and a colour bar in dB.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from latentroom.analysis import figures as analysis_figures
from latentroom.analysis.compare_report import ig_by_codec_figure, variance_ratio_by_codec_figure
from latentroom.evaluation.evaluate import FigureClip
from latentroom.evaluation.figures import spectrogram_figure
from latentroom.feedback.metrics import METRIC_NAMES
from latentroom.feedback.report import sheet_passes
from latentroom.latents.trajectory import LatentTrajectory
from latentroom.palette import CODEC_COLOURS, codec_colour, predictor_colour
from latentroom.plots import latent_heatmap_figure, loop_metrics_figure, save_figure, seed_figure
from latentroom.seeds import render_seed
from latentroom.seeds.config import SeedConfig
from latentroom.spectrogram_plots import PULSE_COLOUR, horizon_figure, loop_spectrogram_figure

TOLERANCE_PX = 1.0  # boxes may touch by this much (antialiased edges)
PREDICTORS = ("marginal_diag", "marginal_full", "linear", "mdn", "sequence")


def _shown_tick_labels(ax: Axes) -> list[Text]:
    """Tick labels the renderer draws: inside the view interval, visible, non-empty."""
    shown = []
    for axis in (ax.xaxis, ax.yaxis):
        low, high = sorted(axis.get_view_interval())
        span = (high - low) * 1e-9
        for minor in (False, True):
            for tick in axis.get_minor_ticks() if minor else axis.get_major_ticks():
                inside = low - span <= tick.get_loc() <= high + span
                for label in (tick.label1, tick.label2):
                    if inside and label.get_visible() and label.get_text():
                        shown.append(label)
    return shown


def _texts(figure: Figure) -> list[Text]:
    texts = [t for t in figure.texts if t.get_visible() and t.get_text()]
    for ax in figure.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        titles = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        texts += [t for t in titles + list(ax.texts) if t.get_visible() and t.get_text()]
        texts += _shown_tick_labels(ax)
        legend = ax.get_legend()
        if legend is not None:
            texts += [t for t in legend.get_texts() if t.get_text()]
    for legend in figure.legends:
        texts += [t for t in legend.get_texts() if t.get_text()]
    return texts


def assert_readable(figure: Figure) -> None:
    """Draw ``figure``; fail on any text outside it, overlapping text or unlabelled axis."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    page = figure.bbox
    boxes: list[tuple[Text, Bbox]] = []
    for text in _texts(figure):
        box = text.get_window_extent(renderer)
        assert box.x0 >= page.x0 - TOLERANCE_PX and box.x1 <= page.x1 + TOLERANCE_PX, text
        assert box.y0 >= page.y0 - TOLERANCE_PX and box.y1 <= page.y1 + TOLERANCE_PX, text
        boxes.append((text, box.expanded(1.0, 1.0).padded(-TOLERANCE_PX)))
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"{a.get_text()!r} overlaps {b.get_text()!r}"
    for ax in figure.axes:
        if not ax.axison:
            continue
        if any(label.get_text() for label in ax.get_xticklabels() if label.get_visible()):
            assert ax.get_xlabel(), f"x axis of {ax.get_title()!r} unlabelled"
        if any(label.get_text() for label in ax.get_yticklabels() if label.get_visible()):
            assert ax.get_ylabel(), f"y axis of {ax.get_title()!r} unlabelled"


def _write(figure: Figure, tmp_path: Path, name: str) -> None:
    """Check, then write (so ``pytest --basetemp DIR`` leaves the PNGs to look at)."""
    assert_readable(figure)
    assert save_figure(figure, tmp_path / f"{name}.png").stat().st_size > 0


def _spectrogram_axes(figure: Figure) -> tuple[list[Axes], list[Axes]]:
    """(axes with an image, colour-bar axes)."""
    bars = [ax for ax in figure.axes if getattr(ax, "_colorbar", None) is not None]
    images = [ax for ax in figure.axes if ax.images and ax not in bars]
    return images, bars


# ---- the feedback loop's sheet and metrics -------------------------------------------------


@pytest.mark.parametrize("n_passes", [1, 50])
@pytest.mark.parametrize(("n_onsets", "seconds"), [(5, 10.0), (1000, 600.0)])
def test_loop_sheet_is_readable(tmp_path: Path, n_passes: int, n_onsets: int, seconds: float):
    rng = np.random.default_rng(0)
    rows = [
        (f"pass {p}\ns=0.50" if p else "input", rng.uniform(-120, 0, (80, 300)), seconds)
        for p in sheet_passes(n_passes)
    ]
    pulses = np.sort(rng.uniform(0, seconds, n_onsets))
    figure = loop_spectrogram_figure(rows, pulses, sample_rate=48_000)
    _write(figure, tmp_path, f"sheet_{n_passes}_{n_onsets}")
    images, bars = _spectrogram_axes(figure)
    assert len(images) == len(rows) and len(bars) == 1
    assert "dB" in bars[0].get_ylabel()
    for ax in images:
        assert "Hz" in ax.get_ylabel()
        assert [t.get_text() for t in ax.get_yticklabels()] == ["300", "1k", "3k", "10k"]
        # The pulses are ticks hanging below the image, one per pulse, none over the image.
        (ticks,) = ax.collections
        assert len(ticks.get_segments()) == n_onsets
        assert all(seg[:, 1].max() <= 0.0 for seg in ticks.get_segments())
        assert tuple(ticks.get_colors()[0]) == pytest.approx(to_rgba(PULSE_COLOUR))
    assert f"({n_onsets})" in images[-1].get_xlabel()


@pytest.mark.parametrize("n_passes", [1, 50])
def test_loop_horizon_is_readable(tmp_path: Path, n_passes: int) -> None:
    levels = np.random.default_rng(3).uniform(-120, 0, (64, n_passes + 1))
    levels[:, 0] = -120.0  # the seed's silence
    if n_passes > 1:
        levels[:, n_passes // 2] = np.nan  # a pass with no frame between the pulses
    figure = horizon_figure(levels, sample_rate=48_000)
    _write(figure, tmp_path, f"horizon_{n_passes}")
    images, bars = _spectrogram_axes(figure)
    assert len(images) == 1 and len(bars) == 1
    (ax,) = images
    assert "dB" in bars[0].get_ylabel() and "Hz" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["300", "1k", "3k", "10k"]
    assert ax.get_xlabel() == "pass (0 = the input)"
    assert ax.get_xlim() == (-0.5, n_passes + 0.5)  # one column per pass, centred on it
    shown = [tick for tick in ax.get_xticks() if -0.5 <= tick <= n_passes + 0.5]
    assert all(float(tick).is_integer() for tick in shown) and 0 in shown


@pytest.mark.parametrize("n_passes", [1, 50])
def test_loop_metrics_are_readable(tmp_path: Path, n_passes: int) -> None:
    passes = list(range(n_passes + 1))
    names = [*METRIC_NAMES, "room_gain_db"]
    series = {name: list(np.linspace(-30, 30, len(passes))) for name in names}
    figure = loop_metrics_figure(passes, series)
    _write(figure, tmp_path, f"metrics_{n_passes}")
    units = {ax.get_title(): ax.get_ylabel() for ax in figure.axes if ax.axison}
    assert units["lufs"] == "LUFS" and units["rms_dbfs"] == "dBFS"
    assert units["room_gain_db"] == "dB" and units["onset_deviation_ms"] == "ms"
    assert units["persistence"] == "ratio (no unit)" and units["dust_per_s"] == "per second"


@pytest.mark.parametrize("config", [SeedConfig(), SeedConfig(pulses=40, steps=64, seconds=30.0)])
def test_seed_figure_is_readable(tmp_path: Path, config: SeedConfig) -> None:
    figure = seed_figure(render_seed(config))
    _write(figure, tmp_path, f"seed_{config.pulses}")
    images, bars = _spectrogram_axes(figure)
    assert len(images) == 1 and "Hz" in images[0].get_ylabel()
    assert len(bars) == 1 and "dB" in bars[0].get_ylabel()


@pytest.mark.parametrize("n_sections", [1, 30])
def test_latent_heatmap_is_readable(tmp_path: Path, n_sections: int) -> None:
    data = np.random.default_rng(2).normal(size=(3000, 64)).astype(np.float32)
    trajectory = LatentTrajectory(data, 25.0, "builtin", {})
    starts = np.linspace(0, 3000, n_sections, endpoint=False).astype(int)
    sections = [(f"section_{n:02d}", int(start)) for n, start in enumerate(starts)]
    figure = latent_heatmap_figure(trajectory, boundaries=sections)
    _write(figure, tmp_path, f"heatmap_{n_sections}")
    assert [t.get_text().strip() for t in figure.axes[0].texts] == [n for n, _ in sections]


# ---- codec evaluation ----------------------------------------------------------------------


@pytest.mark.parametrize(("n_clips", "baseline"), [(1, False), (6, True)])
def test_eval_spectrograms_are_readable(tmp_path: Path, n_clips: int, baseline: bool) -> None:
    rng = np.random.default_rng(1)
    clips = [
        FigureClip(
            "drums",
            f"corpus/clip_{n:02d}_with_a_longer_name.wav",
            16_000,
            rng.normal(0, 0.1, 16_000 * 4),
            rng.normal(0, 0.1, 16_000 * 4),
            rng.normal(0, 0.1, 16_000 * 4) if baseline else None,
        )
        for n in range(n_clips)
    ]
    figure = spectrogram_figure(clips, title="builtin on 6 files: log-mel spectrograms")
    _write(figure, tmp_path, f"eval_{n_clips}")
    images, bars = _spectrogram_axes(figure)
    assert len(images) == n_clips * (3 if baseline else 2) and len(bars) == n_clips
    assert all(ax.get_xlabel() == "time (s)" for ax in images)
    assert all("Hz" in ax.get_ylabel() for ax in images[:: 3 if baseline else 2])
    assert all(bar.get_ylabel() == "dB" for bar in bars)


# ---- latent analysis -----------------------------------------------------------------------


def _phase0(n_keys: int, n_lags: int, wide_ci: bool) -> dict[str, Any]:
    out = {}
    for n in range(n_keys):
        lags = {}
        for lag in range(n_lags):
            ratio = 0.3 + 0.1 * n
            upper = 112.0 if wide_ci and n == 0 and lag == 0 else ratio + 0.05
            stats = {"variance_ratio": ratio, "ci95": {"variance_ratio": [ratio - 0.05, upper]},
                     "random_baseline": 0.98}  # fmt: skip
            lags[str(2**lag)] = {"all": stats}
        out[f"key_{n}"] = {"lags": lags}
    return out


@pytest.mark.parametrize(("n_keys", "n_lags"), [(1, 1), (5, 4)])
def test_variance_ratio_clips_wide_intervals(tmp_path: Path, n_keys: int, n_lags: int) -> None:
    figure = analysis_figures.variance_ratio_figure(_phase0(n_keys, n_lags, wide_ci=True))
    _write(figure, tmp_path, f"variance_{n_keys}")
    (ax,) = figure.axes
    assert ax.get_ylim()[1] < 5.0  # the 112 no longer sets the scale ...
    printed = [t.get_text() for t in ax.texts]
    assert "112" in printed and "clipped at" in ax.get_title()  # ... and says so
    assert printed.count("0.30") == n_lags  # every bar prints its value


def _phase1(horizons: list[int]) -> dict[str, Any]:
    entry = {"ig_nats_per_frame": 0.5, "ig_nats_per_dim": 0.1,
             "ci95": {"ig_nats_per_frame": [0.4, 0.6]}}  # fmt: skip
    return {name: {str(k): entry for k in horizons} for name in PREDICTORS}


def _info(n_steps: int, n_dims: int) -> dict[str, Any]:
    rollout = {
        name: {"teacher_forced_nll": list(np.linspace(-2, 3, n_steps)),
               "free_running_nll": list(np.linspace(-2, 1340 if name == "linear" else 5, n_steps))}
        for name in PREDICTORS
    }  # fmt: skip
    per_dim = {name: {"1": list(np.linspace(-0.1, 0.4, n_dims))} for name in PREDICTORS}
    return {"rollout": rollout, "ig_per_dim": per_dim,
            "delta_pca_spectrum": list(np.geomspace(0.5, 1e-6, n_dims))}  # fmt: skip


@pytest.mark.parametrize(
    ("horizons", "n_steps", "n_dims"), [([1], 1, 1), ([1, 2, 4, 8, 16, 32, 64], 50, 512)]
)
def test_phase1_figures_are_readable(
    tmp_path: Path, horizons: list[int], n_steps: int, n_dims: int
) -> None:
    info = _info(n_steps, n_dims)
    figures = {
        "ig_vs_horizon": analysis_figures.ig_vs_horizon_figure(_phase1(horizons), 21.5),
        "ig_per_dim": analysis_figures.ig_per_dim_figure(info),
        "spectrum": analysis_figures.spectrum_figure(info),
        "rollout": analysis_figures.rollout_figure(info),
    }
    for name, figure in figures.items():
        _write(figure, tmp_path, f"{name}_{n_steps}")
    rollout = figures["rollout"].axes[0]
    if n_steps > 1:  # linear's 1340 would flatten the rest
        assert rollout.get_yscale() == "symlog" and "log above" in rollout.get_ylabel()


def test_one_colour_per_predictor_across_figures() -> None:
    info = _info(5, 8)
    colours: dict[str, set[str]] = {}
    for figure in (
        analysis_figures.ig_vs_horizon_figure(_phase1([1, 2, 4]), 21.5),
        analysis_figures.ig_per_dim_figure(info),
        analysis_figures.rollout_figure(info),
    ):
        for line in figure.axes[0].get_lines():
            name = line.get_label().split(" ")[0]
            if name in PREDICTORS:
                colours.setdefault(name, set()).add(str(line.get_color()))
    assert {name: set(c) for name, c in colours.items()} == {
        name: {predictor_colour(name)} for name in PREDICTORS
    }
    assert len({predictor_colour(n) for n in PREDICTORS}) == len(PREDICTORS)


def _comparison(labels: list[str]) -> dict[str, Any]:
    codecs = {}
    for n, label in enumerate(labels):
        phase0 = _phase0(3, 1, wide_ci=n == 0)
        phase0 = {key: entry["lags"]["1"]["all"] for key, entry in phase0.items()}
        if n == 1:
            del phase0["key_2"]  # a codec without a key: its bar reads "n/a"
        phase1 = {name: {"1": {"ig_nats_per_frame": 0.5, "ig_nats_per_dim": 0.1}}
                  for name in ("linear", "sequence")}  # fmt: skip
        codecs[label] = {"variants": {"aligned": {"phase0": phase0, "phase1": phase1}}}
    return {"codecs": codecs, "common_rate": 12.5, "input_mel": None}


@pytest.mark.parametrize("labels", [["builtin"], [n for n in CODEC_COLOURS if "input" not in n]])
def test_comparison_figures_are_readable(tmp_path: Path, labels: list[str]) -> None:
    data = _comparison(labels)
    bars = variance_ratio_by_codec_figure(data)
    _write(bars, tmp_path, f"variance_by_codec_{len(labels)}")
    _write(ig_by_codec_figure(data), tmp_path, f"ig_by_codec_{len(labels)}")
    (ax,) = bars.axes
    printed = [t.get_text() for t in ax.texts]
    assert "112" in printed and "clipped at" in ax.get_title()
    assert ("n/a" in printed) == (len(labels) > 1)
    faces = {p.get_facecolor()[:3] for p in ax.patches}
    assert len(faces) == len(labels)  # one colour per codec


def test_codec_colours_are_stable() -> None:
    assert codec_colour("mimi-random") == codec_colour("mimi") == CODEC_COLOURS["mimi"]
    assert codec_colour("rave:/models/vintage.ts") == CODEC_COLOURS["rave"]
    assert codec_colour("my-codec") == codec_colour("my-codec")
    assert len(set(CODEC_COLOURS.values())) == len(CODEC_COLOURS)
