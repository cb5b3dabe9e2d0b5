"""evaluate_codec and write_report on a tiny corpus with a lossless and a random tiny codec."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from helpers import TinyConvCodec
from latentroom.datasets.corpus import SynthCorpusConfig, build_synth_corpus
from latentroom.errors import ConfigError, OutputExistsError
from latentroom.evaluation.evaluate import EvalConfig, evaluate_codec, find_clips, pick_clips
from latentroom.evaluation.report import summarise, write_report

RATE = 16_000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fm, koenig and noise: two 0.5 s clips each, one held out."""
    out = tmp_path_factory.mktemp("eval") / "corpus"
    config = SynthCorpusConfig(
        minutes=3 / 60,
        seed=1,
        sample_rate=RATE,
        clip_seconds=0.5,
        holdout=0.5,
        families=("fm", "koenig", "noise"),
    )
    build_synth_corpus(out, config)
    return out


def lossless_codec() -> TinyConvCodec:
    """A conv codec whose weights are identities: decode(encode(x)) == x exactly."""
    codec = TinyConvCodec(hop_length=16, latent_dim=16)
    with torch.no_grad():
        for conv in (codec.encoder, codec.decoder):
            conv.weight.copy_(torch.eye(16)[:, None, :])
            conv.bias.zero_()
    return codec


def test_lossless_codec_scores_zero_and_keeps_every_onset(corpus: Path) -> None:
    evaluation = evaluate_codec(lossless_codec(), corpus, EvalConfig())
    summary = summarise(evaluation)
    assert sorted(summary["families"]) == ["fm", "koenig", "noise"]
    for row in summary["families"].values():
        assert row["n_clips"] == 1 and row["seconds"] == 0.5
        assert row["codec"]["log_mel_l1"] < 1e-3
        assert row["codec"]["mrstft"] < 1e-3
        assert row["baseline"] is None and row["codec_beats_baseline"] is None
    onsets = summary["onsets"]["koenig"]["codec"]
    assert onsets["n_reference"] >= 2
    assert onsets["preservation"] == 1.0 and onsets["n_extra"] == 0
    assert set(summary["onsets"]) == {"koenig"}


def test_random_codec_with_baseline_writes_report(corpus: Path, tmp_path: Path) -> None:
    progress: list[int] = []
    config = EvalConfig(baseline=True, griffin_lim_iters=4, figure_clips=1)
    evaluation = evaluate_codec(TinyConvCodec(), corpus, config, progress=progress.append)
    assert progress == [1, 1, 1]
    summary = write_report(tmp_path / "report", evaluation)
    for row in summary["families"].values():
        assert row["codec"]["log_mel_l1"] > 0.5  # an untrained codec is far off
        assert row["codec_beats_baseline"]["log_mel_l1"] == (
            row["codec"]["log_mel_l1"] < row["baseline"]["log_mel_l1"]
        )
    assert summary["baseline"]["n_components"] == 8 and summary["baseline"]["hop_length"] == 160
    on_disk = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert on_disk["families"] == summary["families"]
    assert on_disk["clips"][0]["path"] == "holdout/fm/fm_00001.wav"
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "| koenig | 1 |" in markdown and "![spectrograms](spectrograms.png)" in markdown
    assert (tmp_path / "report" / "spectrograms.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(OutputExistsError, match="--force"):
        write_report(tmp_path / "report", evaluation)


def test_max_clips_limits_each_family(corpus: Path) -> None:
    evaluation = evaluate_codec(lossless_codec(), corpus, EvalConfig(max_clips=1, figure_clips=0))
    assert len(evaluation.clips) == 3 and evaluation.figures == []


def test_pick_clips_spreads_over_the_list_or_takes_the_first() -> None:
    paths = [Path(f"clip_{i:02d}.wav") for i in range(10)]
    spread = pick_clips(paths, 3, "spread")
    assert [p.stem for p in spread] == ["clip_01", "clip_05", "clip_08"]  # middles of 3 runs
    assert pick_clips(paths, 3, "first") == paths[:3]
    assert pick_clips(paths, None) == paths and pick_clips(paths, 10) == paths
    assert pick_clips(paths, 20, "first") == paths


def test_spread_pick_reaches_files_named_after_the_first_kind(tmp_path: Path) -> None:
    """One-shots sort before loops: the first half reaches only one-shots, a spread both."""
    family = tmp_path / "holdout" / "drums"
    family.mkdir(parents=True)
    burst = np.random.default_rng(0).normal(0, 0.1, RATE // 4) * np.exp(-np.arange(RATE // 4) / 800)
    for name in ("Kick_a", "Kick_b", "Snare_a", "Snare_b", "groove_a", "groove_b"):
        sf.write(family / f"{name}.wav", burst, RATE)
    for pick, kinds in (("first", {"Kick", "Snare"}), ("spread", {"Kick", "Snare", "groove"})):
        evaluation = evaluate_codec(
            lossless_codec(), tmp_path, EvalConfig(max_clips=3, pick=pick, figure_clips=0)
        )
        assert {Path(c.path).stem.split("_")[0] for c in evaluation.clips} == kinds


def test_find_clips_groups_by_family(corpus: Path) -> None:
    clips = find_clips(corpus, "train")
    assert {f: [p.name for p in ps] for f, ps in clips.items()} == {
        "fm": ["fm_00000.wav"],
        "koenig": ["koenig_00000.wav"],
        "noise": ["noise_00000.wav"],
    }


def test_missing_holdout_or_train_folder_is_refused(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holdout/<family>"):
        evaluate_codec(TinyConvCodec(), tmp_path, EvalConfig())
    only_holdout = tmp_path / "only"
    shutil.copytree(corpus / "holdout", only_holdout / "holdout")
    with pytest.raises(ConfigError, match="train/<family>"):
        evaluate_codec(TinyConvCodec(), only_holdout, EvalConfig(baseline=True))
    (tmp_path / "empty" / "holdout").mkdir(parents=True)
    with pytest.raises(ConfigError, match="no audio files"):
        evaluate_codec(TinyConvCodec(), tmp_path / "empty", EvalConfig())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"max_clips": 0}, "max_clips", id="max-clips"),
        pytest.param({"fit_clips": 0}, "fit_clips", id="fit-clips"),
        pytest.param({"pick": "last"}, "pick must be one of spread, first", id="pick"),
    ],
)
def test_eval_config_validation(kwargs: dict[str, int | str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        EvalConfig(**kwargs)


def test_eval_config_from_dict_refuses_unknown_keys() -> None:
    assert EvalConfig.from_dict({"max_clips": 3}) == EvalConfig(max_clips=3)
    with pytest.raises(ConfigError, match="unknown eval config keys"):
        EvalConfig.from_dict({"clips": 3})
