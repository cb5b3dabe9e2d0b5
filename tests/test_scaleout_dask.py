"""Scale-out on a loopback Dask cluster (2 workers): the same stores and numbers as a local run."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from latentroom.errors import ConfigError, LatentroomError
from latentroom.scaleout.executor import ExecutorSpec
from test_scaleout import _inputs

pytest.importorskip("distributed", reason="needs latentroom[distributed] (dask)")


@pytest.fixture(scope="module")
def executor() -> Iterator[Any]:
    """A loopback LocalCluster of 2 single-threaded worker processes, shared by this module."""
    from latentroom.scaleout.executor import connect

    with connect(ExecutorSpec("dask"), n_workers=2) as engine:
        engine.client.wait_for_workers(2, timeout=60)
        yield engine


def _files(store: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()
    }


def _encode(paths: list[Path], out: Path, engine: Any = None, **options: Any) -> Any:
    from latentroom.codecs.registry import get_codec
    from latentroom.latents.corpus import encode_corpus
    from latentroom.scaleout.worker import CodecRecipe

    recipe = CodecRecipe("builtin", (("device", "cpu"),))
    return encode_corpus(
        paths, get_codec("builtin", device="cpu"), out, executor=engine, recipe=recipe, **options
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    """Five files and their corpus store encoded in this process."""
    root = tmp_path_factory.mktemp("encode")
    paths = _inputs(root / "in")
    _encode(paths, root / "local.zarr", group_regex=r"(spk\d)_", batch_size=2)
    return paths, root / "local.zarr"


def test_dask_encode_writes_the_bytes_of_a_local_encode(
    executor: Any, reference: tuple[list[Path], Path], tmp_path: Path
) -> None:
    paths, local = reference
    seen: list[int] = []
    corpus = _encode(
        paths, tmp_path / "c.zarr", executor, group_regex=r"(spk\d)_", batch_size=2,
        progress=seen.append,
    )  # fmt: skip
    assert corpus.complete and corpus.n_items == 5 and seen == [2, 2, 1]
    assert _files(tmp_path / "c.zarr") == _files(local)  # every file, byte for byte


def test_a_dask_encode_resumes_a_local_one(
    executor: Any, reference: tuple[list[Path], Path], tmp_path: Path
) -> None:
    paths, local = reference
    _encode(paths[:2], tmp_path / "c.zarr", group_regex=r"(spk\d)_", batch_size=2)
    seen: list[int] = []
    _encode(
        paths, tmp_path / "c.zarr", executor, group_regex=r"(spk\d)_", batch_size=2,
        progress=seen.append,
    )  # fmt: skip
    assert seen[0] == 2 and sum(seen) == 5  # the two stored items were skipped
    assert _files(tmp_path / "c.zarr") == _files(local)


def _sabotage(source: str | None) -> None:
    """On a worker: make the encode task raise for ``source`` (None: undo)."""
    from latentroom.scaleout import worker

    real = getattr(worker, "_real_encode_item", worker.encode_item)
    worker._real_encode_item = real  # type: ignore[attr-defined]  # the first, unpatched one

    def broken(*args: Any) -> Any:
        if args[3] == source:
            raise RuntimeError("disk read error")
        return real(*args)

    worker.encode_item = real if source is None else broken  # type: ignore[assignment]


def test_a_failing_task_keeps_finished_items_and_the_rerun_completes(
    executor: Any, reference: tuple[list[Path], Path], tmp_path: Path
) -> None:
    """The task of item 3 raises: one line, items before it stay; a rerun resumes and finishes."""
    from latentroom.latents.corpus import open_corpus

    paths, local = reference
    executor.client.run(_sabotage, str(paths[3]))
    try:
        with pytest.raises(LatentroomError) as err:
            _encode(paths, tmp_path / "c.zarr", executor, group_regex=r"(spk\d)_", batch_size=1)
    finally:
        executor.client.run(_sabotage, None)
    message = str(err.value)
    assert "RuntimeError: disk read error" in message and "run the same command again" in message
    assert "\n" not in message
    partial = open_corpus(tmp_path / "c.zarr")
    assert partial.n_items == 3 and not partial.complete
    seen: list[int] = []
    _encode(
        paths, tmp_path / "c.zarr", executor, group_regex=r"(spk\d)_", batch_size=1,
        progress=seen.append,
    )  # fmt: skip
    assert seen[0] == 3 and sum(seen) == 5
    assert _files(tmp_path / "c.zarr") == _files(local)


def _die_once(source: str, flag: str) -> None:
    """On a worker: the task for ``source`` kills its worker process, the first time only."""
    from latentroom.scaleout import worker

    real = getattr(worker, "_real_encode_item", worker.encode_item)
    worker._real_encode_item = real  # type: ignore[attr-defined]

    def deadly(*args: Any) -> Any:
        if args[3] == source and not os.path.exists(flag):
            Path(flag).touch()
            os._exit(1)
        return real(*args)

    worker.encode_item = deadly  # type: ignore[assignment]


def test_a_worker_killed_mid_encode_loses_and_duplicates_nothing(
    executor: Any, reference: tuple[list[Path], Path], tmp_path: Path
) -> None:
    """Item 2's worker dies while encoding it: the task reruns elsewhere, the store is whole."""
    paths, local = reference
    flag = tmp_path / "died"
    executor.client.run(_die_once, str(paths[2]), str(flag))
    try:
        _encode(paths, tmp_path / "c.zarr", executor, group_regex=r"(spk\d)_", batch_size=1)
    finally:
        executor.client.run(_sabotage, None)  # the surviving worker's patch is undone
    assert flag.exists() and _files(tmp_path / "c.zarr") == _files(local)
    executor.client.wait_for_workers(2, timeout=60)  # the nanny restarted it


def test_sources_a_worker_cannot_read_are_refused(executor: Any, tmp_path: Path) -> None:
    from latentroom.scaleout.encode import check_visible

    refused = r"worker tcp://127\.0\.0\.1:\d+ cannot read 1 of the 2 audio files it checked"
    with pytest.raises(ConfigError, match=refused):
        check_visible(executor, [__file__, str(tmp_path / "only-here.wav")], "audio files")


def test_an_unreachable_scheduler_fails_fast() -> None:
    import time

    from latentroom.scaleout.executor import connect

    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"dask:tcp://127\.0\.0\.1:9: no Dask scheduler answered"):
        connect(ExecutorSpec("dask", "tcp://127.0.0.1:9"), timeout=1.0)
    assert time.perf_counter() - start < 10


def test_the_cli_encodes_on_a_local_cluster(
    run_cli: Any, reference: tuple[list[Path], Path], tmp_path: Path, caplog: Any
) -> None:
    import logging

    caplog.set_level(logging.INFO)
    paths, local = reference
    out = tmp_path / "c.zarr"
    args = ["encode", *paths, "-c", "builtin", "-o", out, "--group-regex", r"(spk\d)_"]
    result = run_cli(*args, "--batch-size", "2", "--executor", "dask", "--workers", "1", "-q")
    assert result.exit_code == 0, result.stderr
    from latentroom.latents.corpus import open_corpus

    a, b = open_corpus(out), open_corpus(local)
    np.testing.assert_array_equal(a.frames[:], b.frames[:])
    assert a.items == b.items
    # Dask's own start/stop chatter stays out of latentroom's log
    assert not [r for r in caplog.records if r.name.startswith("distributed")]


@pytest.mark.skipif(
    not __import__("torch").cuda.is_available(), reason="no CUDA device on this machine"
)
def test_cuda_tasks_ask_for_a_gpu_resource(reference: tuple[list[Path], Path], tmp_path: Path):
    from latentroom.latents.corpus import open_corpus
    from latentroom.scaleout.executor import connect

    paths, local = reference
    with connect(ExecutorSpec("dask"), n_workers=1, device="cuda") as engine:
        assert engine.resources == {"GPU": 1.0}
        corpus = _encode(paths, tmp_path / "c.zarr", engine, group_regex=r"(spk\d)_")
    assert corpus.items == open_corpus(local).items  # GPU kernels round differently: no bytes


# Phase 0 and Phase 1 --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def latents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus store of 24 random-walk items with regime switches (6 dims, 60-140 frames)."""
    from latentroom.latents.corpus import write_corpus
    from latentroom.latents.trajectory import LatentTrajectory

    rng = np.random.default_rng(5)
    trajs, metas = [], []
    for i in range(24):
        n = int(rng.integers(60, 140))
        drift = rng.normal(size=(4, 6))[rng.integers(0, 4, size=n)] * 0.3
        x = np.cumsum(drift + rng.normal(size=(n, 6)), axis=0).astype(np.float32)
        trajs.append(LatentTrajectory(x, 25.0, "tiny", {}))
        metas.append({"source": f"spk{i % 4}/item{i}.wav"})
    path = tmp_path_factory.mktemp("latents") / "c.zarr"
    write_corpus(path, trajs, metas)
    return path


def _assert_close(a: Any, b: Any, where: str = "") -> None:
    """Nested dicts / lists equal, numbers within float tolerance."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for j, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_close(x, y, f"{where}[{j}]")
    elif isinstance(a, float) and not (isinstance(b, float) and math.isnan(a) and math.isnan(b)):
        assert b == pytest.approx(a, rel=1e-5, abs=1e-8), where
    else:
        assert a == b, where


@pytest.mark.parametrize("group_regex", [None, r"(spk\d)"])
def test_phase0_on_dask_equals_the_local_run(
    executor: Any, latents: Path, group_regex: str | None
) -> None:
    from latentroom.analysis.clusters import ClusterConfig, run_phase0
    from latentroom.latents.corpus import open_corpus
    from latentroom.scaleout.passes import ScaleOut

    config = ClusterConfig(
        keys=("mean-vq4", "pca2-vq4"), lags=(1, 2), kmeans_windows=500, chunk_windows=100,
        n_boot=50, group_regex=group_regex,
    )  # fmt: skip
    local = run_phase0(open_corpus(latents), config)
    spread = run_phase0(open_corpus(latents), config, passes=ScaleOut(executor))
    _assert_close(local[0], spread[0])
    _assert_close(local[1], spread[1])
    np.testing.assert_array_equal(local[2].split.eval, spread[2].split.eval)


def test_phase1_on_dask_equals_the_local_run(executor: Any, latents: Path) -> None:
    from latentroom.analysis.predict import PredictConfig, run_phase1
    from latentroom.latents.corpus import open_corpus
    from latentroom.scaleout.passes import ScaleOut

    config = PredictConfig(
        horizons=(1, 2), predictors=("marginal_diag", "marginal_full", "linear"),
        rollout_steps=3, max_rollout_windows=200, chunk_windows=128, n_boot=50,
    )  # fmt: skip
    local = run_phase1(open_corpus(latents), config)
    spread = run_phase1(open_corpus(latents), config, passes=ScaleOut(executor))
    _assert_close(local[0], spread[0])
    for key in ("ig_per_dim", "delta_pca_spectrum", "rollout", "ridge", "flagged"):
        _assert_close(local[1][key], spread[1][key], key)


def test_a_budgeted_ridge_gathers_the_windows_of_the_local_fit(
    executor: Any, latents: Path
) -> None:
    """A budget cuts the shuffled train stream mid-item: the same windows on the workers."""
    from latentroom.analysis.predict import PredictConfig, split_streams
    from latentroom.analysis.predictors import LinearGaussian
    from latentroom.latents.corpus import open_corpus
    from latentroom.scaleout.passes import ScaleOut

    config = PredictConfig(horizons=(1, 3), chunk_windows=64)
    passes = ScaleOut(executor)
    prepared = passes.prepare(
        open_corpus(latents), context=config.context, min_length=config.context + 8
    )
    train, val, _ = split_streams(prepared, config)
    local = LinearGaussian((1, 3), max_windows=300, max_val_windows=100, random_state=3)
    local.fit(train, val)
    model = LinearGaussian((1, 3), max_windows=300, max_val_windows=100, random_state=3)
    model.fit_moments(*passes.ridge_moments(prepared, config, model))
    assert model.n_train_ == local.n_train_ == 320  # five chunks of 64 reach the budget
    np.testing.assert_allclose(model.coef_, local.coef_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.residual_cov_, local.residual_cov_, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(model.ridge_, local.ridge_)


def test_an_analysis_cli_run_on_a_running_scheduler(
    run_cli: Any, executor: Any, latents: Path, tmp_path: Path
) -> None:
    """``--executor dask:ADDRESS`` joins the module's cluster (no cluster of its own)."""
    import json

    args = ["analyze", "clusters", latents, "--keys", "mean-vq4", "--lags", "1", "--n-boot", "20"]
    assert run_cli(*args, "-o", tmp_path / "a", "-q").exit_code == 0
    address = executor.client.scheduler.address
    result = run_cli(*args, "-o", tmp_path / "b", "-q", "--executor", f"dask:{address}")
    assert result.exit_code == 0, result.stderr
    a, b = (json.loads((tmp_path / d / "analysis.json").read_text()) for d in "ab")
    _assert_close(a["phase0"], b["phase0"])


def test_a_codec_that_cannot_load_on_the_workers_stops_before_any_item(
    executor: Any, reference: tuple[list[Path], Path], tmp_path: Path
) -> None:
    from latentroom.codecs.registry import get_codec
    from latentroom.latents.corpus import encode_corpus, open_corpus
    from latentroom.scaleout.worker import CodecRecipe

    paths, _ = reference
    with pytest.raises(ConfigError, match="no-such-codec"):
        encode_corpus(
            paths, get_codec("builtin", device="cpu"), tmp_path / "c.zarr", executor=executor,
            recipe=CodecRecipe("no-such-codec"),
        )  # fmt: skip
    assert open_corpus(tmp_path / "c.zarr").n_items == 0
