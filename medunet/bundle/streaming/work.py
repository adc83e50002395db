"""What both streamed pipelines share: the resumable work folder beside the outputs, the
trained network, the bundle's inferer and components, a progress bar, the pool that runs
their tasks in this process."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.bundle import ConfigParser

from medunet.data.io import atomic_path
from medunet.inferers.overlap_tile import default_memory_budget_mb
from medunet.networks.onnx import OnnxRuntimeNetwork

__all__ = ["STREAM_TILE_MB", "MappedArray", "SerialPool", "component", "done_mark",
           "fingerprint", "inference_network", "load_weights", "open_map", "progress_bar",
           "save_arrays", "streaming_inferer", "work_dir", "work_path"]  # fmt: skip


def load_weights(network: torch.nn.Module, model: Path) -> None:
    state = torch.load(model, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    network.load_state_dict(state)
    network.eval()


def inference_network(parser: ConfigParser, model: Path, device: torch.device) -> torch.nn.Module:
    """The network a prediction runs: ONNX Runtime's when the config names an exported file
    (``onnx_model``, set by ``--backend onnxruntime``), else ``network_def`` with the
    weights of ``model``, in eval mode on ``device``."""
    onnx_model = parser["onnx_model"] if "onnx_model" in parser else None
    if onnx_model:
        return OnnxRuntimeNetwork(onnx_model)
    network = parser.get_parsed_content("network_def").to(device)
    load_weights(network, model)
    return network


def fingerprint(path: Path, model: Path, settings: dict) -> str:
    """What a resumed prediction must match: the input, the model and the settings."""
    digest = hashlib.sha256()
    for p in (path, model):
        st = p.stat() if p.is_file() else None
        digest.update(
            f"{p.resolve()}|{st.st_size if st else ''}|{st.st_mtime if st else ''}".encode()
        )
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def work_path(out: Path, stem: str) -> Path:
    """The hidden work folder of input ``stem``'s streamed prediction, beside its outputs."""
    return out / f".{stem}.stream"


def work_dir(out: Path, stem: str, fingerprint: str, resume: bool, overwrite: bool) -> Path:
    """The work folder (:func:`work_path`), made or checked: one of another input, model or
    settings is refused, an interrupted one is kept only with ``resume``."""
    work = work_path(out, stem)
    meta = work / "meta.json"
    if work.exists():
        if overwrite:
            shutil.rmtree(work)
        elif not resume:
            raise FileExistsError(
                f"{work} holds an interrupted streamed prediction of {stem}; pass --resume to "
                "continue it, or --overwrite to start again."
            )
        elif not meta.is_file() or json.loads(meta.read_text()).get("fingerprint") != fingerprint:
            raise ValueError(
                f"{work} was made with another input, model or settings; pass --overwrite "
                "to start again."
            )
    work.mkdir(parents=True, exist_ok=True)
    if not meta.is_file():
        with atomic_path(meta) as tmp:
            tmp.write_text(json.dumps({"fingerprint": fingerprint}))
    return work


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def progress_bar(total: int, enabled: bool, what: str):
    from tqdm import tqdm

    return tqdm(total=total, unit=what, disable=not enabled, dynamic_ncols=True)


#: activation memory of a tile when streaming (MiB): bounded memory is the point
STREAM_TILE_MB = 1024.0


def streaming_inferer(parser: ConfigParser, device):
    """The bundle's inferer, as the whole-image path builds it. Both shipped bundles set
    ``tile_memory_mb``, so a streamed image is tiled exactly as it would be whole; a bundle
    that sets no tile budget gets its automatic tile held to :data:`STREAM_TILE_MB` of
    activations (then the tiles, and so the same-padded outputs, may differ from whole)."""
    inferer = parser.get_parsed_content("inferer")
    if inferer.memory_budget_mb is None:
        inferer.memory_budget_mb = min(default_memory_budget_mb(device), STREAM_TILE_MB)
    return inferer


def component(parser: ConfigParser, key: str, kind: type):
    return next(t for t in parser.get_parsed_content(key) if isinstance(t, kind))


class MappedArray:
    """A ``.npy`` file in the work folder, indexed like an array. Each access maps the file,
    copies what it needs and unmaps it, so resident memory is that of the copy, not of the
    pages touched (the kernel keeps those in its page cache, not in this process).

    Attributes:
        shape: the array's shape (the box's, when cropped).
    """

    def __init__(self, path: Path, box: Sequence[tuple[int, int]] | None = None) -> None:
        self.path, self.box = path, box
        shape = np.load(path, mmap_mode="r").shape
        if box is not None:
            shape = (shape[0], *(b - a for a, b in box))
        self.shape = tuple(int(n) for n in shape)

    @classmethod
    def create(cls, path: Path, dtype, shape) -> MappedArray:
        np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=tuple(shape)).flush()
        return cls(path)

    def cropped(self, box: Sequence[tuple[int, int]]) -> MappedArray:
        return MappedArray(self.path, box)

    def _view(self, mapped: np.ndarray) -> np.ndarray:
        if self.box is None:
            return mapped
        return mapped[(slice(None), *(slice(a, b) for a, b in self.box))]

    def __getitem__(self, key) -> np.ndarray:
        return np.array(self._view(np.load(self.path, mmap_mode="r"))[key])

    def __setitem__(self, key, value) -> None:
        mapped = np.load(self.path, mmap_mode="r+")
        self._view(mapped)[key] = value
        mapped.flush()


def done_mark(work: Path, name: str) -> Path:
    """The file that marks a finished pass or part ``name`` of a streamed prediction."""
    return work / f"{name}.done"


def open_map(work: Path, name: str, dtype, shape, fresh: bool) -> MappedArray:
    """The work folder's array ``name`` (``<name>.npy``): the one there unless ``fresh``
    (or none is there), else a new one of zeros."""
    file = work / f"{name}.npy"
    if not fresh and file.is_file():
        return MappedArray(file)
    return MappedArray.create(file, dtype, shape)


class SerialPool:
    """Tasks run one after another in this process, in the order given (a streamed image
    without ``--cluster``); the interface of :class:`~medunet.bundle.cluster.ClusterPool`."""

    def imap_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn(item)`` of every item, as each finishes."""
        for item in items:
            yield fn(item)
