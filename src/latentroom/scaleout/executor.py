"""``--executor local|dask[:ADDRESS]``: parse the choice and connect to a Dask cluster.

Dask is imported only here, and only when a command chose it, so ``latentroom --help`` and every
local run stay free of it. The executor is deliberately small: ordered maps of picklable functions
over argument tuples, with a bounded number of tasks in flight, and a broadcast for objects many
tasks share (a fitted model, the analysis split). Results always come back to this process, which
alone writes outputs (the corpus store's single writer; see ``latentroom.latents.corpus_writer``).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from latentroom.errors import BackendUnavailableError, ConfigError, LatentroomError, first_line

#: Seconds to wait for a scheduler at ``dask:ADDRESS`` before giving up.
CONNECT_TIMEOUT_S = 10.0
#: Engines named in ``--executor`` that latentroom does not drive yet.
NOT_IMPLEMENTED = ("ray",)
EXECUTOR_HELP = "Where the work runs: local (this process), dask (a local cluster), dask:ADDRESS."


@dataclass(frozen=True)
class ExecutorSpec:
    """A parsed ``--executor``: ``kind`` local or dask; ``address`` of a running scheduler."""

    kind: str
    address: str | None = None

    @property
    def is_local(self) -> bool:
        return self.kind == "local"


def parse_executor(text: str) -> ExecutorSpec:
    """Parse ``local``, ``dask`` or ``dask:ADDRESS`` (e.g. ``dask:tcp://10.0.0.5:8786``).

    Raises
    ------
    ConfigError
        Another engine, or an empty address.
    """
    kind, _, address = text.strip().partition(":")
    kind = kind.lower()
    if kind in NOT_IMPLEMENTED:
        raise ConfigError(
            f"--executor {text!r}: the {kind} engine is not implemented yet; use dask or "
            "dask:ADDRESS (docs/scale-out.md)"
        )
    if kind not in ("local", "dask") or (kind == "local" and address):
        raise ConfigError(f"--executor {text!r}: choose local, dask or dask:ADDRESS")
    if kind == "dask" and _ and not address.strip():
        raise ConfigError(f"--executor {text!r}: give the scheduler address after 'dask:'")
    return ExecutorSpec(kind, address.strip() or None)


class TaskFailed(LatentroomError, RuntimeError):
    """A task failed on a worker (or its worker died for good); finished work is kept."""


class DaskExecutor:
    """Ordered maps over a ``distributed.Client`` (a LocalCluster it owns, or a remote one).

    Parameters
    ----------
    client : distributed.Client
    cluster : distributed.LocalCluster or None
        Closed with the executor when this process started it.
    resources : dict or None
        Worker resources every task asks for (``{"GPU": 1}`` for ``--device cuda``).
    """

    kind = "dask"

    def __init__(
        self, client: Any, cluster: Any = None, resources: dict[str, float] | None = None
    ) -> None:
        self.client = client
        self.cluster = cluster
        self.resources = resources

    @property
    def n_workers(self) -> int:
        """Workers connected now (at least 1, so block counts stay positive)."""
        return max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {})))

    def broadcast(self, value: Any) -> Any:
        """Send ``value`` to every worker once; pass the result to ``map``/``imap`` instead."""
        return self.client.scatter(value, broadcast=True, hash=False)

    def imap(
        self, fn: Callable[..., Any], args: Iterable[tuple[Any, ...]], *, in_flight: int = 0
    ) -> Iterator[Any]:
        """``fn(*a)`` for each ``a`` in ``args``, in order, with at most ``in_flight`` queued.

        ``in_flight`` 0 means four per worker. A task that raises stops the iteration with
        ``TaskFailed`` (a ``LatentroomError`` raised by the task keeps its own message).
        """
        from distributed import KilledWorker

        limit = in_flight or 4 * self.n_workers
        pending: deque[Any] = deque()
        queue = iter(args)
        try:
            while True:
                while len(pending) < limit:
                    nxt = next(queue, None)
                    if nxt is None:
                        break
                    pending.append(
                        self.client.submit(fn, *nxt, pure=False, resources=self.resources)
                    )
                if not pending:
                    return
                future = pending.popleft()
                try:
                    yield future.result()
                except LatentroomError:
                    raise
                except KilledWorker as err:
                    raise TaskFailed(
                        f"a task killed its workers {_retries()} times ({first_line(err)}); "
                        "finished work is kept: run the same command again to resume"
                    ) from err
                except Exception as err:
                    raise TaskFailed(
                        f"a task failed on a worker: {type(err).__name__}: {first_line(err)}; "
                        "finished work is kept: run the same command again to resume"
                    ) from err
        finally:
            for future in pending:
                future.cancel()

    def map(self, fn: Callable[..., Any], args: Iterable[tuple[Any, ...]]) -> list[Any]:
        """All of ``imap``'s results as a list (every task queued at once)."""
        items = list(args)
        return list(self.imap(fn, items, in_flight=max(len(items), 1)))

    def on_every_worker(self, fn: Callable[..., Any], *args: Any) -> dict[str, Any]:
        """``fn(*args)`` once on each worker: ``{worker address: result}``."""
        return dict(self.client.run(fn, *args))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _local_config() -> dict[str, Any]:
    """Dask settings for the clusters latentroom starts itself (docs/scale-out.md, measured).

    On the 2-core test machine each turned a 30 s builtin item from 0.26 s of task compute into
    0.10 s (one process encoding alone: 0.15 s): the workers' statistical profiler samples the
    task thread every 10 ms, and the nanny's ``MALLOC_TRIM_THRESHOLD_=65536`` returns every large
    buffer to the OS, so the next one page-faults again. Without queuing on the scheduler, a
    worker holds its next task before it finishes one (``imap`` bounds what is in flight).
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {
        "distributed.worker.profile.enabled": False,
        "distributed.nanny.pre-spawn-environ": environ,
        "distributed.scheduler.worker-saturation": float("inf"),
    }


def _retries() -> int:
    import dask

    return int(dask.config.get("distributed.scheduler.allowed-failures")) + 1


def connect(
    spec: ExecutorSpec,
    *,
    n_workers: int | None = None,
    device: str = "cpu",
    timeout: float = CONNECT_TIMEOUT_S,
) -> DaskExecutor:
    """Start a loopback LocalCluster (no address) or connect to the scheduler at the address.

    Parameters
    ----------
    n_workers : int or None
        Worker processes of a LocalCluster (default: the CPU cores, 1 with CUDA); ignored for a
        remote scheduler, whose workers are whatever it has.
    device : str
        ``cuda...`` makes every task ask for one ``GPU`` resource: remote workers must be started
        with ``--resources GPU=1`` (see docs/scale-out.md).
    timeout : float
        Seconds to wait for a remote scheduler.

    Raises
    ------
    BackendUnavailableError
        Dask is not installed (names the extra).
    ConfigError
        No scheduler answers at the address within ``timeout``; a bad worker count.
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as err:
        raise BackendUnavailableError(
            f"--executor {spec.kind} needs Dask: pip install 'latentroom[distributed]' "
            f"({first_line(err)})"
        ) from err
    # Dask logs every worker and comm start and stop at INFO; under latentroom's log handler
    # those 30-odd lines per run would read as latentroom's own. Warnings still show.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    gpu = device.startswith("cuda")
    resources = {"GPU": 1.0} if gpu else None
    if spec.address is None:
        workers = n_workers if n_workers is not None else (1 if gpu else os.cpu_count() or 1)
        if workers < 1:
            raise ConfigError(f"--workers {workers}: give at least 1")
        with dask.config.set(_local_config()):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,  # one task per process: the codec and BLAS use its threads
                processes=True,
                host="127.0.0.1",  # loopback only: nothing outside this machine can connect
                dashboard_address=None,
                # no dashboard; the scheduler's health routes on a free loopback port, not *:8787
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                resources=resources,
                silence_logs=logging.WARNING,  # the worker processes' loggers, likewise
            )
        return DaskExecutor(Client(cluster), cluster, resources)
    try:
        client = Client(spec.address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as err:
        raise ConfigError(
            f"--executor dask:{spec.address}: no Dask scheduler answered within {timeout:g} s "
            f"({first_line(err)}); start one (dask scheduler) or fix the address"
        ) from err
    return DaskExecutor(client, None, resources)
