"""An epoch of a fixed number of tiles, on one process or split across DDP ranks.

The paper trains on one large tile per step, drawn at random from a few large images: an
"epoch" is a number of steps, not one pass over the (few) images. :class:`TileSampler`
draws ``num_samples`` image indices per epoch (whole shuffled passes over the images, the
last one cut short), so every image is seen equally often, and under
``torch.distributed`` gives each rank its own share of the same sequence.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized

import torch
import torch.distributed as dist
from torch.utils.data.distributed import DistributedSampler

__all__ = ["TileSampler"]


class TileSampler(DistributedSampler):
    """Image indices for one epoch of ``num_samples`` tiles.

    Args:
        data_source: the dataset (only its length is used).
        num_samples: tiles per epoch over all ranks (default: one per image).
        seed: base seed; epoch ``e`` uses ``seed + e``. It is a ``DistributedSampler``, so
            MONAI's engines call :meth:`set_epoch` at every epoch start (also after a resume);
            used without them, the sampler counts its epochs itself.
        num_replicas, rank: DDP world size and rank (default: from ``torch.distributed``
            when it is initialised, else one process).

    Example:
        >>> DataLoader(dataset, batch_size=1, sampler=TileSampler(dataset, 200))  # doctest: +SKIP
    """

    def __init__(
        self,
        data_source: Sized,
        num_samples: int | None = None,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        n = len(data_source)
        if n == 0:
            raise ValueError("the training dataset is empty; check dataset_dir or the datalist.")
        distributed = dist.is_available() and dist.is_initialized()
        num_replicas = num_replicas or (dist.get_world_size() if distributed else 1)
        rank = rank if rank is not None else (dist.get_rank() if distributed else 0)
        super().__init__(data_source, num_replicas=num_replicas, rank=rank, seed=seed)  # type: ignore[arg-type]
        total = int(num_samples) if num_samples else n
        if total < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}.")
        self.data_len = n
        self.num_samples = -(-total // self.num_replicas)  # per rank, rounded up
        self._epoch_set = False

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s draw (MONAI's engines call this at each epoch start)."""
        self.epoch = epoch
        self._epoch_set = True

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        total = self.num_samples * self.num_replicas
        passes = -(-total // self.data_len)
        order = torch.cat(
            [torch.randperm(self.data_len, generator=generator) for _ in range(passes)]
        )
        if not self._epoch_set:
            self.epoch += 1
        return iter(order[:total][self.rank :: self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples
