"""Predicting a cohort on dask.distributed: each input one task on a worker process.

``medunet infer ... --cluster local:N`` starts a ``LocalCluster`` of N worker processes (one
thread each); ``--cluster tcp://host:port`` (or a scheduler file) joins a running cluster,
so dask-jobqueue (SLURM, LSF, PBS), dask-kubernetes or Coiled all work without medunet
knowing them. The inputs are checked on the client first (every file readable, every
header placing its volume in the world), then each input becomes one task that runs
:func:`~medunet.bundle.run_inference` on that input alone: the same code as one process
runs, so the same files. A task whose worker dies is run again by dask on another worker;
outputs are written atomically, so none is half-written. A streamed input is one task too:
its blocks run in order in one worker, in that worker's bounded memory (its work folder
lets a restarted task skip the finished blocks with ``--resume``).

dask.distributed is an optional extra: ``pip install medunet[distributed]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ClusterSpec", "run_on_cluster"]

logger = logging.getLogger(__name__)

_EXTRA = "pip install 'medunet[distributed]'"


@dataclass(frozen=True)
class ClusterSpec:
    """Where the tasks run.

    Attributes:
        workers: ``local:N``: N local worker processes (0 when joining a cluster).
        address: a scheduler address (``tcp://host:port``) or scheduler file to join.
    """

    workers: int = 0
    address: str | None = None

    @classmethod
    def parse(cls, spec: str) -> ClusterSpec:
        """``local:N``, ``tcp://host:port`` (``tls://``, ``ucx://``) or a scheduler file.

        Raises:
            ValueError: a spec of none of these forms, or dask.distributed is not
                installed: one line with the fix.
        """
        text = str(spec).strip()
        if text.startswith("local:"):
            count = text.split(":", 1)[1]
            if not count.isdigit() or int(count) < 1:
                raise ValueError(f"--cluster {spec}: local:N needs a worker count N >= 1.")
            parsed = cls(workers=int(count))
        elif text.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
            parsed = cls(address=text)
        elif Path(text).expanduser().is_file():
            parsed = cls(address=str(Path(text).expanduser()))
        else:
            raise ValueError(
                f"--cluster {spec}: give local:N (N worker processes here), a scheduler "
                "address tcp://HOST:PORT, or a dask scheduler file."
            )
        try:
            import distributed  # noqa: F401
        except ImportError as err:
            raise ValueError(f"--cluster needs dask.distributed: {_EXTRA}") from err
        return parsed


@contextmanager
def _client(spec: ClusterSpec) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if spec.workers:
        cluster = LocalCluster(n_workers=spec.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)  # fmt: skip
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    if spec.address is not None and Path(spec.address).is_file():
        with Client(scheduler_file=spec.address) as client:
            yield client
        return
    with Client(spec.address) as client:
        yield client


def _setup_plugin(setup: Callable[[], Any]):
    from distributed import WorkerPlugin

    class Setup(WorkerPlugin):
        def setup(self, worker) -> None:
            setup()

    return Setup()


def run_on_cluster(
    spec: ClusterSpec,
    items: Sequence[dict],
    predict: Callable[[dict], Any],
    progress: bool = True,
    worker_setup: Callable[[], Any] | None = None,
) -> None:
    """``predict(item)`` for every item, each a task on the cluster; returns when all are
    done. ``worker_setup`` runs once in every worker, those that join later too (the
    command's logging: what a worker logs reaches the terminal as the command's own lines).

    Raises:
        the first failed task's error (its one-line message), once every task has ended.
    """
    from distributed import as_completed
    from tqdm import tqdm

    with _client(spec) as client:
        if worker_setup is not None:
            client.register_plugin(_setup_plugin(worker_setup), name="medunet-setup")
        workers = len(client.scheduler_info().get("workers", {}))
        logger.info("predicting %d input(s) on %d dask worker(s)", len(items), workers)
        futures = [client.submit(predict, item, pure=False) for item in items]
        bar = tqdm(total=len(futures), unit="input", disable=not progress, dynamic_ncols=True)
        failed: list[BaseException] = []
        try:
            for future in as_completed(futures):
                error = future.exception()
                if error is not None:  # the other inputs still finish
                    logger.error("%s: %s", type(error).__name__, error)
                    failed.append(error)
                bar.update(1)
        except BaseException:  # interrupted: nothing more is started
            client.cancel(futures)
            raise
        finally:
            bar.close()
        if failed:
            raise failed[0]  # one line, as one process would stop with
