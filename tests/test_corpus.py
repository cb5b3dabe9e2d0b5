"""Corpus store: layout, reading, arrays-to-store, encoding, and resuming after interruptions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import zarr

from helpers import TinyConvCodec, sine
from latentroom.codecs.chunking import encode_file
from latentroom.errors import ConfigError, InvalidAudioError, InvalidLatentError, OutputExistsError
from latentroom.latents.corpus import Corpus, encode_corpus, open_corpus, write_corpus
from latentroom.latents.trajectory import LatentTrajectory


def _inputs(folder: Path, n_files: int = 5) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(n_files):
        audio = sine(110.0 * (i + 1), seconds=0.2 + 0.1 * i)
        path = folder / f"spk{i % 2}_take{i}.wav"
        sf.write(str(path), audio.samples.T, audio.sample_rate, subtype="FLOAT")
        paths.append(path)
    return paths


def _assert_same_store(a: Corpus, b: Corpus) -> None:
    assert a.n_items == b.n_items and a.complete and b.complete
    np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(a.frames[:], b.frames[:])
    assert a.frames.shape == b.frames.shape
    assert a.items == b.items and a.attrs == b.attrs


class _Interrupt(Exception):
    pass


def _stop_after(n_items: int):  # type: ignore[no-untyped-def]
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] >= n_items:
            raise _Interrupt

    return progress


def test_write_corpus_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    trajectories = [
        LatentTrajectory(rng.normal(size=(t, 3)), 25.0, "acestep-vae", {"hop_length": 1920})
        for t in (4, 1, 7)
    ]
    metas = [{"source": f"s{i}.wav", "group": "ab"[i % 2]} for i in range(3)]
    corpus = write_corpus(tmp_path / "c.zarr", trajectories, metas)
    assert (corpus.n_items, corpus.latent_dim, corpus.frame_rate) == (3, 3, 25.0)
    assert corpus.codec == "acestep-vae" and corpus.complete
    np.testing.assert_array_equal(corpus.offsets, [0, 4, 5, 12])
    assert corpus.offsets.dtype == np.int64
    assert corpus.groups == ["a", "b", "a"]
    assert corpus.items[2] == {"source": "s2.wav", "group": "a", "duration": 7 / 25, "n_frames": 7}
    for i, trajectory in enumerate(trajectories):
        np.testing.assert_array_equal(corpus.item(i), trajectory.data)
    traj = corpus.trajectory(-1)
    assert traj.frame_rate == 25.0 and traj.meta["corpus_index"] == 2
    assert traj.meta["hop_length"] == 1920 and traj.meta["source"] == "s2.wav"
    assert corpus.frames.shape == (12, 3) and corpus.frames.dtype == np.float32


def test_groups_are_none_without_labels(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.zarr", [LatentTrajectory(np.zeros((2, 2)), 5.0)])
    assert corpus.groups is None and corpus.items[0]["group"] is None


def test_write_corpus_refuses_mixed_spaces_and_bad_indices(tmp_path: Path) -> None:
    a, b = LatentTrajectory(np.zeros((2, 2)), 5.0), LatentTrajectory(np.zeros((2, 3)), 5.0)
    with pytest.raises(InvalidLatentError, match="must share codec, frame rate and dim"):
        write_corpus(tmp_path / "c.zarr", [a, b])
    with pytest.raises(ConfigError, match="at least one trajectory"):
        write_corpus(tmp_path / "c.zarr", [])
    with pytest.raises(ConfigError, match="got 1 trajectories but 2 item dicts"):
        write_corpus(tmp_path / "c.zarr", [a], [{}, {}])
    corpus = write_corpus(tmp_path / "c.zarr", [a])
    with pytest.raises(ConfigError, match=r"item index 1 is outside 0\.\.0"):
        corpus.item(1)
    with pytest.raises(OutputExistsError, match="pass --force"):
        write_corpus(tmp_path / "c.zarr", [a])
    assert write_corpus(tmp_path / "c.zarr", [a, a], force=True).n_items == 2


def test_open_corpus_refuses_other_folders_and_newer_versions(tmp_path: Path) -> None:
    with pytest.raises(InvalidLatentError, match=r"no readable zarr\.json"):
        open_corpus(tmp_path)
    zarr.open_group(str(tmp_path / "other.zarr"), mode="w").attrs["x"] = 1
    with pytest.raises(InvalidLatentError, match="not a latentroom corpus store"):
        open_corpus(tmp_path / "other.zarr")
    write_corpus(tmp_path / "c.zarr", [LatentTrajectory(np.zeros((2, 2)), 5.0)])
    zarr.open_group(str(tmp_path / "c.zarr"), mode="r+").attrs["format_version"] = 7
    with pytest.raises(InvalidLatentError, match="format_version 7 is not supported"):
        open_corpus(tmp_path / "c.zarr")


def test_encode_corpus_matches_per_file_encoding(tmp_path: Path) -> None:
    paths = _inputs(tmp_path / "in")
    codec = TinyConvCodec()
    corpus = encode_corpus(paths, codec, tmp_path / "c.zarr", group_regex=r"(spk\d)_", batch_size=2)
    assert corpus.n_items == 5 and corpus.groups == ["spk0", "spk1", "spk0", "spk1", "spk0"]
    assert (corpus.codec, corpus.frame_rate, corpus.latent_dim) == ("tiny", 100.0, 8)
    assert corpus.attrs["hop_length"] == 160 and corpus.attrs["sample_rate"] == 16_000
    for i, path in enumerate(paths):
        np.testing.assert_array_equal(corpus.item(i), encode_file(codec, path).data)
        item = corpus.items[i]
        assert item["source"] == str(path)
        assert item["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert item["duration"] == pytest.approx(0.2 + 0.1 * i)
        assert item["n_frames"] == corpus.offsets[i + 1] - corpus.offsets[i] == 20 + 10 * i


def test_a_named_group_wins(tmp_path: Path) -> None:
    paths = _inputs(tmp_path / "in", 2)
    corpus = encode_corpus(
        paths, TinyConvCodec(), tmp_path / "c.zarr", group_regex=r"(s)pk(?P<group>\d)"
    )
    assert corpus.groups == ["0", "1"]


@pytest.mark.parametrize("stop_after", [1, 2, 4])
def test_resume_after_interruption_equals_an_uninterrupted_run(
    tmp_path: Path, stop_after: int
) -> None:
    paths = _inputs(tmp_path / "in")
    codec = TinyConvCodec()
    reference = encode_corpus(paths, codec, tmp_path / "ref.zarr", batch_size=1)
    with pytest.raises(_Interrupt):
        encode_corpus(
            paths, codec, tmp_path / "c.zarr", batch_size=1, progress=_stop_after(stop_after)
        )
    partial = open_corpus(tmp_path / "c.zarr")
    assert partial.n_items == stop_after and not partial.complete
    seen: list[int] = []
    resumed = encode_corpus(paths, codec, tmp_path / "c.zarr", batch_size=3, progress=seen.append)
    assert seen[0] == stop_after and sum(seen) == 5  # skipped items count as done
    _assert_same_store(resumed, reference)


def test_a_half_written_batch_is_discarded_on_resume(tmp_path: Path) -> None:
    """Crash after steps 1-2 of a commit (frames and offsets written, attributes not)."""
    paths = _inputs(tmp_path / "in")
    codec = TinyConvCodec()
    reference = encode_corpus(paths, codec, tmp_path / "ref.zarr")
    with pytest.raises(_Interrupt):
        encode_corpus(paths, codec, tmp_path / "c.zarr", batch_size=2, progress=_stop_after(2))
    group = zarr.open_group(str(tmp_path / "c.zarr"), mode="r+")
    frames, offsets = group["frames"], group["offsets"]
    end = frames.shape[0]
    frames.resize((end + 33, 8))
    frames[end:] = 99.0
    offsets.resize((4,))
    offsets[3] = end + 33
    torn = open_corpus(tmp_path / "c.zarr")
    assert torn.n_items == 2 and torn.offsets[-1] == end  # readers see only committed items
    _assert_same_store(encode_corpus(paths, codec, tmp_path / "c.zarr"), reference)


def test_resume_refuses_other_inputs_changed_files_and_other_codecs(tmp_path: Path) -> None:
    paths = _inputs(tmp_path / "in")
    encode_corpus(paths[:3], TinyConvCodec(), tmp_path / "c.zarr")
    with pytest.raises(ConfigError, match="3 items from another file list"):
        encode_corpus(paths[1:], TinyConvCodec(), tmp_path / "c.zarr")
    with pytest.raises(ConfigError, match="latent_dim=8, this run has 4; pass --force"):
        encode_corpus(paths, TinyConvCodec(latent_dim=4), tmp_path / "c.zarr")
    sf.write(str(paths[0]), np.zeros(800), 16_000)
    with pytest.raises(ConfigError, match="file changed since it was encoded"):
        encode_corpus(paths, TinyConvCodec(), tmp_path / "c.zarr")
    restarted = encode_corpus(paths, TinyConvCodec(), tmp_path / "c.zarr", resume=False)
    assert restarted.n_items == 5 and restarted.items[0]["n_frames"] == 5


def test_resume_refuses_a_codec_with_other_weights(tmp_path: Path) -> None:
    paths = _inputs(tmp_path / "in")
    first = encode_corpus(paths[:2], TinyConvCodec(seed=0), tmp_path / "c.zarr")
    assert first.attrs["weights_sha256"] == TinyConvCodec(seed=0).weights_fingerprint
    assert TinyConvCodec(seed=1).weights_fingerprint != TinyConvCodec(seed=0).weights_fingerprint
    with pytest.raises(ConfigError, match=r"latents of other weights .*pass --force"):
        encode_corpus(paths, TinyConvCodec(seed=1), tmp_path / "c.zarr")
    assert open_corpus(tmp_path / "c.zarr").n_items == 2  # nothing was appended


def test_a_finished_corpus_grows_when_more_files_follow(tmp_path: Path) -> None:
    paths = _inputs(tmp_path / "in")
    codec = TinyConvCodec()
    encode_corpus(paths[:2], codec, tmp_path / "c.zarr")
    grown = encode_corpus(paths, codec, tmp_path / "c.zarr")
    _assert_same_store(grown, encode_corpus(paths, codec, tmp_path / "ref.zarr"))


@pytest.mark.parametrize(
    ("regex", "error", "match"),
    [
        pytest.param(r"speaker(\d)", ConfigError, "does not match this path", id="no-match"),
        pytest.param(r"(spk", ConfigError, "not a valid regex", id="bad-regex"),
    ],
)
def test_bad_group_regex_is_refused_before_writing(
    tmp_path: Path, regex: str, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        encode_corpus(
            _inputs(tmp_path / "in"), TinyConvCodec(), tmp_path / "c.zarr", group_regex=regex
        )
    assert not (tmp_path / "c.zarr").exists()


def test_non_audio_input_is_refused_before_writing(tmp_path: Path) -> None:
    paths = _inputs(tmp_path / "in", 2)
    (tmp_path / "in" / "readme.wav").write_text("hello")
    with pytest.raises(InvalidAudioError, match=r"readme\.wav: not a readable audio file"):
        encode_corpus(
            [*paths, tmp_path / "in" / "readme.wav"], TinyConvCodec(), tmp_path / "c.zarr"
        )
    assert not (tmp_path / "c.zarr").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in"]  # no temporary store left behind


def test_only_corpus_stores_are_replaced(tmp_path: Path) -> None:
    (tmp_path / "c.zarr").mkdir()
    (tmp_path / "c.zarr" / "precious.txt").write_text("keep me")
    with pytest.raises(InvalidLatentError, match="not a corpus store"):
        encode_corpus(
            _inputs(tmp_path / "in", 1), TinyConvCodec(), tmp_path / "c.zarr", resume=False
        )
    assert (tmp_path / "c.zarr" / "precious.txt").read_text() == "keep me"
    with pytest.raises(OutputExistsError, match="already exists"):
        encode_corpus(_inputs(tmp_path / "in", 1), TinyConvCodec(), tmp_path / "c.zarr")


def test_encode_corpus_validates_arguments(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no audio files to encode"):
        encode_corpus([], TinyConvCodec(), tmp_path / "c.zarr")
    with pytest.raises(ConfigError, match="batch_size must be >= 1"):
        encode_corpus(
            _inputs(tmp_path / "in", 1), TinyConvCodec(), tmp_path / "c.zarr", batch_size=0
        )


class _NoisyTiny(TinyConvCodec):
    """A stochastic codec: the conv output is the posterior mean, sampling adds unit noise."""

    stochastic = True

    def _encode(
        self, x: torch.Tensor, *, sample: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        mean = super()._encode(x, sample=sample, generator=generator)
        if not sample:
            return mean
        return mean + torch.randn(mean.shape, generator=generator)


def test_sampled_corpus_resumes_to_the_same_draws(tmp_path: Path) -> None:
    paths = _inputs(tmp_path / "in", 4)
    codec = _NoisyTiny()
    reference = encode_corpus(paths, codec, tmp_path / "ref.zarr", sample=True, seed=5)
    with pytest.raises(_Interrupt):
        encode_corpus(
            paths, codec, tmp_path / "c.zarr", sample=True, seed=5, batch_size=1,
            progress=_stop_after(2),
        )  # fmt: skip
    resumed = encode_corpus(paths, codec, tmp_path / "c.zarr", sample=True, seed=5)
    _assert_same_store(resumed, reference)
    mean = encode_corpus(paths, codec, tmp_path / "mean.zarr")
    other = encode_corpus(paths, codec, tmp_path / "other.zarr", sample=True, seed=6)
    noise = reference.frames[:] - mean.frames[:]
    assert 0.9 < noise.std() < 1.1  # unit posterior noise was drawn
    assert not np.array_equal(other.frames[:], reference.frames[:])
