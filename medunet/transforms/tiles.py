"""Random training tiles sized by the network's tile arithmetic, mirror-padded at borders.

A valid U-Net predicts a smaller output tile than its input tile: to train on every output
pixel of an image, including those at its borders, the input tile must reach past the
image by the network's halo. As at inference (the paper's overlap-tile strategy), the
missing context is the image mirrored at its borders. :class:`RandTileCropd` draws the
output window uniformly over the image, takes the input window around it and fills what
lies outside the image by reflection, for every key alike (image, classes, weight map).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform, Randomizable

from medunet.data.blocks import border_indices
from medunet.networks.tiles import tile_geometry_of

__all__ = ["RandTileCropd", "tile_geometry"]


def tile_geometry(
    network: object | None, output_size: int | Sequence[int], spatial_dims: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(input tile, output tile)`` per axis for a requested output size.

    The input tile is the smallest valid one giving at least ``output_size`` outputs by the
    network's tile geometry (:func:`~medunet.networks.tile_geometry_of`: a valid UNet2015's
    input is larger by its halo); without a network input and output tiles are equal.
    """
    out = (output_size,) * spatial_dims if isinstance(output_size, int) else tuple(output_size)
    if len(out) != spatial_dims:
        raise ValueError(f"output_size {output_size} needs {spatial_dims} values.")
    if network is None:
        return out, out
    geometry = tile_geometry_of(network)
    tile_in = tuple(int(geometry.input_size_for(n)) for n in out)
    tile_out = tuple(int(geometry.output_size(n)) for n in tile_in)
    return tile_in, tile_out


class RandTileCropd(Randomizable, MapTransform):
    """Random input tiles whose output window lies anywhere on the image (mirror-padded).

    Args:
        keys: keys cropped together (image, label, weight map...), channel-first.
        network: the network being trained (a :class:`~medunet.networks.UNet2015`); the input
            tile is sized by its tile geometry so that its output covers ``output_size``.
        output_size: the output tile per axis (int for all axes). The paper: 388.
        num_samples: tiles per image (a list is returned when > 1, as MONAI's croppers do).
        spatial_dims: 2 or 3 (default: the network's).
        label_key: with ``class_balanced``, the class label key the centres are drawn from.
        class_balanced: draw each tile's output centre on a voxel of a class chosen
            uniformly among the classes present (background included), so that small
            organs are seen as often as large ones; otherwise uniformly over the image.

    Shapes:
        each key ``(C, *spatial)`` -> ``(C, *input_tile)`` (plain torch tensors).
    """

    def __init__(
        self,
        keys: KeysCollection,
        network: object | None = None,
        output_size: int | Sequence[int] = 388,
        num_samples: int = 1,
        spatial_dims: int | None = None,
        label_key: str = "label",
        class_balanced: bool = False,
        allow_missing_keys: bool = False,
    ) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}.")
        self.label_key = label_key
        self.class_balanced = class_balanced
        dims = spatial_dims or getattr(network, "spatial_dims", None) or 2
        self.input_tile, self.output_tile = tile_geometry(network, output_size, dims)
        self.halo = tuple(
            (i - o) // 2 for i, o in zip(self.input_tile, self.output_tile, strict=True)
        )
        self.num_samples = num_samples
        self._starts: list[tuple[int, ...]] = []

    def randomize(  # type: ignore[override]
        self, spatial_shape: Sequence[int], labels: np.ndarray | None = None
    ) -> None:
        """Draw ``num_samples`` output-window starts for an image of ``spatial_shape``
        (centred on voxels of randomly chosen classes of ``labels`` when given)."""
        self._starts = []
        for _ in range(self.num_samples):
            centre = self._class_centre(labels) if labels is not None else None
            start = []
            for axis, (n, out) in enumerate(zip(spatial_shape, self.output_tile, strict=True)):
                lo, hi = min(0, n - out), max(0, n - out)  # the window covers the image if larger
                if centre is None:
                    start.append(int(self.R.randint(lo, hi + 1)))
                else:
                    start.append(int(np.clip(centre[axis] - out // 2, lo, hi)))
            self._starts.append(tuple(start))

    def _class_centre(self, labels: np.ndarray) -> tuple[int, ...]:
        """A voxel of a class drawn uniformly among those present (rejection sampling on
        random voxels first: cheap for large volumes; exhaustive for rare classes)."""
        classes = np.unique(labels)
        target = classes[self.R.randint(len(classes))]
        flat = labels.reshape(-1)
        probe = self.R.randint(0, flat.size, size=min(4096, flat.size))
        hits = probe[flat[probe] == target]
        index = hits[0] if hits.size else self.R.choice(np.flatnonzero(flat == target))
        return tuple(int(i) for i in np.unravel_index(int(index), labels.shape))

    def _crop(self, x: NdarrayOrTensor, start: Sequence[int]) -> torch.Tensor:
        t = x.as_tensor() if hasattr(x, "as_tensor") else torch.as_tensor(x)
        for axis, (s, h, size) in enumerate(zip(start, self.halo, self.input_tile, strict=True)):
            idx = border_indices(s - h, size, t.shape[axis + 1])
            t = t.index_select(axis + 1, torch.from_numpy(idx).to(t.device))
        return t

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict | list[dict]:
        d = dict(data)
        first = next(iter(self.key_iterator(d)), None)
        if first is None:
            raise KeyError(f"RandTileCropd: none of the keys {self.keys} is in the data.")
        spatial = tuple(d[first].shape[1:])
        if len(spatial) != len(self.input_tile):
            raise ValueError(
                f"RandTileCropd: {first!r} has shape {tuple(d[first].shape)}, expected "
                f"(C, {len(self.input_tile)} spatial axes)."
            )
        for key in self.key_iterator(d):
            if tuple(d[key].shape[1:]) != spatial:
                raise ValueError(
                    f"RandTileCropd: {key!r} has spatial shape {tuple(d[key].shape[1:])}, "
                    f"{first!r} {spatial}; image, label and weight map must match."
                )
        labels = None
        if self.class_balanced:
            if self.label_key not in d:
                raise KeyError(
                    f"RandTileCropd: class_balanced needs the label key {self.label_key!r}."
                )
            lab = d[self.label_key]
            lab = lab.as_tensor() if hasattr(lab, "as_tensor") else lab
            labels = np.asarray(lab.cpu() if isinstance(lab, torch.Tensor) else lab)[0]
        self.randomize(spatial, labels)
        samples = []
        for start in self._starts:
            sample = dict(d)
            for key in self.key_iterator(d):
                sample[key] = self._crop(d[key], start)
            samples.append(sample)
        return samples[0] if self.num_samples == 1 else samples
