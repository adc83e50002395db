"""Predicting a cohort on dask.distributed: each input one task on a worker process.

``medunet infer ... --cluster local:N`` starts a ``LocalCluster`` of N worker processes (one
thread each); ``--cluster tcp://host:port`` (or a scheduler file) joins a running cluster,
so dask-jobqueue (SLURM, LSF, PBS), dask-kubernetes or Coiled all work without medunet
knowing them. The inputs are checked on the client first (every file readable, every
header placing its volume in the world), then each input becomes one task that runs
:func:`~medunet.bundle.run_inference` on that input alone: the same code as one process
runs, so the same files. A task whose worker dies is run again by dask on another worker;
outputs are written atomically, so none is half-written.

A streamed 2D image is not one task but many: each block is one
(:class:`~medunet.bundle.streaming.tasks.BlockTask`), reading its window straight from the
input and writing its probabilities to the work folder, while the client labels the
stripes as their blocks arrive, with the block-face stitching one process uses (so the same
labels); a restarted run with ``--resume`` skips the blocks already in the work folder. A
streamed volume is many tasks too: each slab of the file a task resamples
(:class:`~medunet.bundle.streaming.volume_tasks.SlabTask`) and each block of whole tiles a
task predicts (:class:`~medunet.bundle.streaming.volume_tasks.VolumeBlockTask`), into memory
maps in the work folder (which the workers must see: a local or shared disk), while the
client computes the whole volume's crop and statistics between the two and writes the
result.

dask.distributed is an optional extra: ``pip install medunet[distributed]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ClusterPool", "ClusterSpec", "cluster_pool", "run_on_cluster"]

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


def _imported_resident_bytes() -> int:
    """This worker's resident memory once it has imported what a task runs."""
    import medunet.bundle.streaming.tasks  # noqa: F401  (torch, MONAI, the inferers)
    from medunet.bundle.streaming.memory import resident_bytes

    return resident_bytes()


def _setup_plugin(setup: Callable[[], Any]):
    from distributed import WorkerPlugin

    class Setup(WorkerPlugin):
        def setup(self, worker) -> None:
            setup()

    return Setup()


class ClusterPool:
    """Tasks on a dask client, with the interface of
    :class:`~medunet.bundle.streaming.work.SerialPool` (a streamed image's blocks)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def resident_bytes(self) -> int:
        """The largest resident memory of the workers once each has imported what a task
        runs (PyTorch, MONAI, medunet): the base of each worker's memory bound."""
        return max(self.client.run(_imported_resident_bytes).values(), default=0)

    def imap_unordered(
        self, fn: Callable[[Any], Any], items: Iterable[Any], keep_going: bool = False
    ) -> Iterator[Any]:
        """``fn(item)`` of every item, each a task, yielded as each finishes (a task whose
        worker dies is run again by dask). A failed task cancels the others and raises its
        error; with ``keep_going`` the others still finish, the failures are logged and the
        first is raised at the end. Leaving the loop early cancels the tasks left."""
        from distributed import as_completed

        futures = [self.client.submit(fn, item, pure=False) for item in items]
        failed: list[BaseException] = []
        try:
            for future in as_completed(futures):
                error = future.exception()
                if error is None:
                    yield future.result()
                elif keep_going:  # the other inputs still finish
                    logger.error("%s: %s", type(error).__name__, error)
                    failed.append(error)
                    yield None
                else:
                    raise error
                future.release()  # its result is not kept on the worker
        finally:  # interrupted, failed or left early: nothing more is started
            self.client.cancel([f for f in futures if not f.done()])
        if failed:
            raise failed[0]  # one line, as one process would stop with


@contextmanager
def cluster_pool(
    spec: ClusterSpec, worker_setup: Callable[[], Any] | None = None
) -> Iterator[ClusterPool]:
    """A :class:`ClusterPool` on the cluster of ``spec`` (started, or joined), for the
    ``with`` block; ``worker_setup`` runs once in every worker, those that join later too (the
    command's logging: what a worker logs reaches the terminal as the command's own lines)."""
    with _client(spec) as client:
        if worker_setup is not None:
            client.register_plugin(_setup_plugin(worker_setup), name="medunet-setup")
        yield ClusterPool(client)


def run_on_cluster(
    spec: ClusterSpec | ClusterPool,
    items: Sequence[dict],
    predict: Callable[[dict], Any],
    progress: bool = True,
    worker_setup: Callable[[], Any] | None = None,
) -> None:
    """``predict(item)`` for every item, each a task on the cluster (or on the ``pool``
    given instead); returns when all are done. ``worker_setup``: see :func:`cluster_pool`.

    Raises:
        the first failed task's error (its one-line message), once every task has ended.
    """
    from tqdm import tqdm

    if isinstance(spec, ClusterPool):
        pool_context = nullcontext(spec)
    else:
        pool_context = cluster_pool(spec, worker_setup)
    with pool_context as pool:
        logger.info("predicting %d input(s) on %d dask worker(s)", len(items), pool.workers)
        bar = tqdm(total=len(items), unit="input", disable=not progress, dynamic_ncols=True)
        try:
            for _ in pool.imap_unordered(predict, items, keep_going=True):
                bar.update(1)
        finally:
            bar.close()
