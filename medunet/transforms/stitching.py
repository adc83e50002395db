"""Instance labels of an image labelled block by block, objects whole across block borders.

:class:`~medunet.transforms.ProbabilityToInstances` makes objects from probabilities: the
connected components of a seed mask, grown over a foreground mask by a seeded watershed.
:class:`BlockInstances` does the same for an image whose probabilities arrive a block at a
time (streamed inference), with the result of the whole image up to the numbering:

- each block is labelled in a window that reaches ``margin`` pixels into its neighbours, so
  the seed a pixel joins is found even when it lies in the next block (exact while the
  flooding reaches every foreground pixel from its seed within ``margin``; the flooding
  order, elevation then raster position, is the whole image's in every window);
- with ``min_seed_size`` (small seed components start no object) a seed component is
  judged as on the whole image wherever it joins blocks: a component that reaches
  ``min_seed_size`` pixels inside the window's edges is either wholly in view or at least
  that long (exact while ``margin >= min_seed_size``); one nearer the edge that touches it
  is kept for the growth only (the whole image may drop it: the two then differ only for
  pixels farther than ``margin - min_seed_size`` from their seed);
- a block's objects get new global ids; where its window covers seed pixels that blocks
  labelled before gave an id (in their cores, or claimed in their margins, which reach into
  this block), the two ids are joined (union-find): a seed component crossing block
  borders is one object, however it winds, and a pixel grown from a seed beyond its block's
  border belongs to that seed's object;
- sizes are counted per id, so :meth:`BlockInstances.final_ids` removes objects smaller
  than ``min_size`` and numbers the rest 1..K, as the whole-image path does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medunet.transforms.postprocess import ProbabilityToInstances

__all__ = ["BlockInstances", "UnionFind"]


class UnionFind:
    """Disjoint sets of ids 1..n (0 is background, never joined)."""

    def __init__(self) -> None:
        self.parent = np.zeros(1, np.int64)

    def __len__(self) -> int:
        return len(self.parent) - 1

    def add(self, n: int) -> int:
        """``n`` new ids; returns the first."""
        first = len(self.parent)
        self.parent = np.concatenate([self.parent, np.arange(first, first + n, dtype=np.int64)])
        return first

    def find(self, a: int) -> int:
        root = a
        while self.parent[root] != root:
            root = int(self.parent[root])
        while self.parent[a] != root:
            self.parent[a], a = root, int(self.parent[a])
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(int(a)), self.find(int(b))
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the smaller (earlier) id is the root

    def roots(self) -> np.ndarray:
        """The root of every id (index = id)."""
        roots = self.parent.copy()
        while True:
            nxt = roots[roots]
            if np.array_equal(nxt, roots):
                return roots
            roots = nxt


class BlockInstances:
    """Label blocks of probabilities into one consistent instance image.

    Args:
        rule: the post-processing (:class:`ProbabilityToInstances`: thresholds, border
            class, connectivity, ``min_size``).
        margin: pixels each block's labelling window reaches into its neighbours.
    """

    def __init__(self, rule: ProbabilityToInstances, margin: int = 64) -> None:
        if margin < 1:
            raise ValueError(f"margin must be at least 1 pixel, got {margin}.")
        self.rule = rule
        self.margin = int(margin)
        self.ids = UnionFind()
        self.counts = np.zeros(1, np.int64)
        self.joins: list[tuple[int, int]] = []

    def label(
        self,
        prob: np.ndarray,
        core: tuple[slice, ...],
        labelled: np.ndarray | None = None,
        open_sides: Sequence[tuple[bool, bool]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Global ids of a block's pixels.

        Args:
            prob: class probabilities ``(C, *window)`` of the block's labelling window.
            core: the block's pixels within the window.
            labelled: ids earlier blocks gave the window's pixels (their cores, and the seed
                pixels they claimed beyond them), 0 where none, ``(*window)``; at seed pixels
                they join this block's objects.
            open_sides: per spatial axis ``(low, high)``, True where the window is cut
                inside the image (not at its edge); None: every side is the image's edge.

        Returns:
            ``(core ids, seed ids)``: the block's ids ``(*core)`` (0 = background), and the
            ids of the window's seed pixels ``(*window)`` (0 elsewhere), which the caller
            keeps where the window reaches into blocks not labelled yet (their claims).
        """
        seed_labels, mask = self.rule.seed_labels(prob, open_sides)
        local = self.rule.grow_from(seed_labels, mask, prob)
        seeds = self._sure_seeds(seed_labels, core, open_sides)
        n = int(local.max())
        first = self.ids.add(n)
        to_global = np.zeros(n + 1, np.int64)
        to_global[1:] = np.arange(first, first + n)
        ids = to_global[local]
        if labelled is not None:
            shared = seeds & (labelled > 0)
            pairs = np.unique(np.stack([ids[shared], labelled[shared]]), axis=1)
            for a, b in pairs.T:
                self.ids.union(int(a), int(b))
                self.joins.append((int(a), int(b)))
        out = ids[core]
        self.counts = np.concatenate([self.counts, np.zeros(n, np.int64)])
        self.counts += np.bincount(out.ravel(), minlength=len(self.counts))[: len(self.counts)]
        return out, np.where(seeds, ids, 0)

    def _sure_seeds(
        self,
        seed_labels: np.ndarray,
        core: tuple[slice, ...],
        open_sides: Sequence[tuple[bool, bool]] | None,
    ) -> np.ndarray:
        """The window's seed pixels that start objects, as on the whole image ``(*window)``,
        of its seed components ``seed_labels`` (:meth:`ProbabilityToInstances.seed_labels`).

        Without ``min_seed_size`` every seed. With it, a component touching an open side is
        kept for the growth (it may go on beyond), but it joins and claims only when it
        reaches ``min_seed_size`` pixels (at most ``margin``) inside the open sides: then it
        is either wholly in view or longer than ``min_seed_size``, so kept on the whole
        image too. Every window judging a seed alike, no block joins through a seed that
        another block gave to the cells around it.
        """
        size = self.rule.min_seed_size
        if size <= 1:
            return seed_labels > 0
        band = min(size, self.margin)
        inner = []
        for axis, (low, high) in enumerate(open_sides or [(False, False)] * seed_labels.ndim):
            start, stop, n = core[axis].start or 0, core[axis].stop, seed_labels.shape[axis]
            stop = n if stop is None else stop
            inner.append(
                slice(min(band, start) if low else 0, n - min(band, n - stop) if high else n)
            )
        sure = np.unique(seed_labels[tuple(inner)])
        return np.isin(seed_labels, sure[sure > 0])

    def restore(self, n_ids: int, counts: np.ndarray, joins: np.ndarray) -> None:
        """Continue from a saved state: ``n_ids`` ids with their ``counts`` and the joins."""
        self.ids = UnionFind()
        self.ids.add(int(n_ids))
        self.counts = np.asarray(counts, np.int64).copy()
        self.joins = [(int(a), int(b)) for a, b in np.asarray(joins).reshape(-1, 2)]
        for a, b in self.joins:
            self.ids.union(a, b)

    def final_ids(self) -> tuple[np.ndarray, int]:
        """``(map, K)``: ``map[id]`` is the final label (1..K, 0 for background and for
        objects smaller than ``min_size``), numbered in the order objects first appear."""
        roots = self.ids.roots()
        sizes = np.bincount(roots, weights=self.counts, minlength=len(roots))
        keep = sizes >= max(self.rule.min_size, 1)
        keep[0] = False
        number = np.zeros(len(roots), np.int64)
        number[keep] = np.arange(1, int(keep.sum()) + 1)
        return number[roots], int(keep.sum())
