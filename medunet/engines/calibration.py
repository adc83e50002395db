"""Post-processing chosen on the validation images and stored with the model.

The network gives class probabilities; how they become objects (the seed and mask
thresholds of :class:`~medunet.transforms.ProbabilityToInstances` and the smallest object
kept) decides much of an instance score: on EM membranes a seed threshold of 0.8 with a
mask threshold of 0.3 halves the Rand error of the plain most-likely-class labels. Which
values are best depends on the data and on how far the network has trained, so
:class:`PostprocessCalibration` tries a small grid on the validation images at every
validation and writes its choice as ``postprocess.json`` beside ``model.pt``: the pair
inference runs is the network of one epoch and the post-processing calibrated on it (by
default the final epoch, see ``keep``). Inference reads it
(``ProbabilityToInstancesd(postprocess_file=...)``).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from ignite.engine import Engine, Events

from medunet.data.io import atomic_path
from medunet.messages import setting
from medunet.metrics import SCORE_NAMES, segmentation_scores
from medunet.ranks import is_main_process
from medunet.transforms.postprocess import ProbabilityToInstances, remove_small_objects

__all__ = ["KEEP", "ONE_SE", "PostprocessCalibration", "calibrate_postprocess"]

logger = logging.getLogger(__name__)

SEED_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
MASK_THRESHOLDS = (0.2, 0.3, 0.4, 0.5)
#: ``tolerance`` of the one-standard-error rule (:func:`calibrate_postprocess`)
ONE_SE = "1se"
#: which validated epoch the saved model is (:class:`PostprocessCalibration`'s ``keep``)
KEEP = ("last", "best", "key")


def _numpy(x) -> np.ndarray:
    x = x.as_tensor() if hasattr(x, "as_tensor") else x
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def calibrate_postprocess(
    probabilities: Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    metric: str = "ap50",
    border_class: bool = False,
    seed_thresholds: Sequence[float] = SEED_THRESHOLDS,
    mask_thresholds: Sequence[float] = MASK_THRESHOLDS,
    min_sizes: Sequence[int] = (15,),
    tolerance: float | str = 0.0,
    fill_holes: bool = False,
    min_seed_size: int = 0,
) -> dict:
    """The seed/mask thresholds and minimum size with the best mean ``metric``.

    Args:
        probabilities: per image, softmax probabilities ``(C, *spatial)``.
        truths: per image, true instance labels ``(*spatial)`` (0 = background).
        metric: a score of :data:`~medunet.metrics.SCORE_NAMES` (its direction is known).
        border_class: channel 2 is the touching-border class (seeds from ``p(interior)``).
        seed_thresholds, mask_thresholds, min_sizes: the grid (mask <= seed only).
        fill_holes: objects are filled as inference will fill them.
        min_seed_size: seed components smaller than this start no object, as in inference.
        tolerance: choose the *highest seed threshold* whose score is within this fraction
            of the best one's distance from perfect (0: the best score, the first in grid
            order on a tie; 0.2: an error of up to 1.2 times the best, or an AP missing up
            to 1.2 times as much), then its best mask threshold and size. A few validation
            images rank nearby thresholds by chance; a higher seed threshold is the safe
            side where merged objects cost most (EM membranes with gaps: one merge joins two
            whole cells).
            ``"1se"``: the one-standard-error rule (Breiman et al. 1984; glmnet's
            ``lambda.1se``), paired: the highest seed threshold whose mean shortfall from
            the best, image by image, is within one standard error of that shortfall
            (``std / sqrt(images)`` of the per-image differences). Every setting is scored
            on the same images, so the noise that matters is that of the differences, not
            how much the images differ in difficulty; how far the images cannot tell two
            settings apart is measured on them, not set by hand (one image: the best).

    Returns:
        ``{"seed_threshold", "mask_threshold", "min_size", "metric", "score", "images"}``.
    """
    tolerance = _checked_tolerance(tolerance)
    if metric not in SCORE_NAMES:
        raise ValueError(f"unknown metric {metric!r}; choose from {sorted(SCORE_NAMES)}.")
    if not probabilities or len(probabilities) != len(truths):
        raise ValueError("calibration needs one truth per probability map, and at least one.")
    higher = SCORE_NAMES[metric]
    scored: list[dict] = []
    for seed_t, mask_t in itertools.product(seed_thresholds, mask_thresholds):
        if mask_t > seed_t:
            continue
        rule = ProbabilityToInstances(
            border_class,
            0,
            seed_threshold=seed_t,
            mask_threshold=mask_t,
            fill_holes=fill_holes,
            min_seed_size=min_seed_size,
        )
        grown = [rule.grow(p) for p in probabilities]
        for min_size in min_sizes:
            values = [
                segmentation_scores(remove_small_objects(g, min_size), t, [metric])[metric]
                for g, t in zip(grown, truths, strict=True)
            ]
            if not all(map(math.isnan, values)):
                scored.append(
                    {
                        "seed_threshold": float(seed_t),
                        "mask_threshold": float(mask_t),
                        "min_size": int(min_size),
                        "metric": metric,
                        "score": float(np.nanmean(values)),
                        "images": len(probabilities),
                        "_values": np.asarray(values, np.float64),
                    }
                )
    if not scored:
        raise ValueError(f"no threshold gave a finite {metric} on the validation images.")

    def loss(item: dict) -> float:  # distance from a perfect score
        return 1.0 - item["score"] if higher else item["score"]

    chosen = best = min(scored, key=loss)  # on a tie the first in the grid
    if tolerance != 0:
        if tolerance == ONE_SE:
            near = [item for item in scored if _within_one_se(item, best, higher)]
        else:
            limit = loss(best) * (1.0 + tolerance) + 1e-12
            near = [item for item in scored if loss(item) <= limit]
        top = max(item["seed_threshold"] for item in near)
        chosen = min((item for item in scored if item["seed_threshold"] == top), key=loss)
    return {k: v for k, v in chosen.items() if not k.startswith("_")}


def _checked_tolerance(tolerance: float | str, name: str = "tolerance") -> float | str:
    """``tolerance`` as a float >= 0 or :data:`ONE_SE`; anything else is refused."""
    if isinstance(tolerance, str) and tolerance != ONE_SE:
        raise ValueError(f"{name} must be a number >= 0 or {ONE_SE!r}, got {tolerance!r}.")
    if not isinstance(tolerance, str) and tolerance < 0:
        raise ValueError(f"{name} must be >= 0, got {tolerance}.")
    return tolerance if tolerance == ONE_SE else float(tolerance)


def _within_one_se(item: dict, best: dict, higher: bool) -> bool:
    """``item`` falls short of ``best`` by at most one standard error of the per-image
    shortfall (images where both scored)."""
    shortfall = best["_values"] - item["_values"] if higher else item["_values"] - best["_values"]
    shortfall = shortfall[~np.isnan(shortfall)]
    if shortfall.size == 0:
        return False
    se = float(np.std(shortfall, ddof=1)) / math.sqrt(shortfall.size) if shortfall.size > 1 else 0.0
    return float(shortfall.mean()) <= se + 1e-12


class PostprocessCalibration:
    """Choose the post-processing on each validation; store it when the model is saved.

    Attach to the validation evaluator, after the post-processing that puts the softmax
    probabilities under ``prob_key`` and the true instance labels under ``truth_key``.

    Args:
        save_path: ``postprocess.json`` beside the saved model (rank 0 writes it).
        metric: the score to optimise (e.g. ``"ap50"``; ``"rand_error"`` for EM).
        border_class: the network has the touching-border class.
        min_sizes: smallest-object sizes to try, in pixels (voxels).
        seed_thresholds, mask_thresholds, tolerance: the grid and the choice
            (:func:`calibrate_postprocess`).
        fill_holes: inference fills the objects' holes (calibrate as it will run).
        min_seed_size: inference starts no object from smaller seed components (likewise).
        prob_key, truth_key: output keys of the evaluator.
        keep: which validated epoch ``model.pt`` (and this file) hold:
            ``"last"``: the latest, so a run ends with its final weights, calibrated (the
            learning rate has decayed to 0 there; nnU-Net's final checkpoint);
            ``"best"``: the best calibrated score (``val_calibrated_<metric>``);
            ``"key"``: the evaluator's own key metric decides (MONAI's comparison).
            A few validation images rank epochs by chance: on nih3t3 the best
            calibrated epoch was at times an early one, far worse on held-out images than
            the run's final weights. With ``"last"`` or ``"best"``, attach
            this handler first among the evaluator's handlers, so the log and the
            best-model saver see its choice.

    The result of the last validation is ``engine.state.postprocess`` and its score is
    logged beside the metrics as ``calibrated <metric>``.
    """

    def __init__(
        self,
        save_path: str | Path,
        metric: str = "ap50",
        border_class: bool = False,
        min_sizes: Sequence[int] = (15,),
        seed_thresholds: Sequence[float] = SEED_THRESHOLDS,
        mask_thresholds: Sequence[float] = MASK_THRESHOLDS,
        tolerance: float | str = 0.0,
        fill_holes: bool = False,
        min_seed_size: int = 0,
        prob_key: str = "pred",
        truth_key: str = "truth_instances",
        keep: str = "last",
    ) -> None:
        if metric not in SCORE_NAMES:
            raise ValueError(f"unknown metric {metric!r}; choose from {sorted(SCORE_NAMES)}.")
        self.save_path = Path(save_path)
        self.metric = metric
        self.border_class = bool(border_class)
        self.min_sizes = tuple(int(m) for m in min_sizes)
        self.seed_thresholds = tuple(float(t) for t in seed_thresholds)
        self.mask_thresholds = tuple(float(t) for t in mask_thresholds)
        try:
            self.tolerance = _checked_tolerance(tolerance, "calibrate_tolerance")
        except ValueError as err:
            hint = setting("calibrate_tolerance", ONE_SE)
            raise ValueError(f"{str(err).rstrip('.')}; e.g. {hint}.") from None
        self.fill_holes = bool(fill_holes)
        self.min_seed_size = int(min_seed_size)
        self.prob_key = prob_key
        self.truth_key = truth_key
        if keep not in KEEP:
            raise ValueError(
                f"keep_model must be one of {', '.join(KEEP)}, got {keep!r}; e.g. "
                f"{setting('keep_model', 'last')}."
            )
        self.keep = keep
        self._best: tuple[float, int] | None = None
        self._probs: list[np.ndarray] = []
        self._truths: list[np.ndarray] = []

    def _select(self, engine: Engine, score: float) -> None:
        """Make the calibrated score the evaluator's key metric and this epoch the one to
        keep when it is the latest (``"last"``) or the best so far (``"best"``)."""
        higher = SCORE_NAMES[self.metric]
        better = self._best is None or (score > self._best[0] if higher else score < self._best[0])
        if self.keep == "last" or better:
            self._best = (score, engine.state.epoch)
        name = f"val_calibrated_{self.metric}"
        engine.state.metrics[name] = score
        engine.state.key_metric_name = name
        engine.state.best_metric, engine.state.best_metric_epoch = self._best

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.EPOCH_STARTED, self._reset)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._collect)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._calibrate)

    def _reset(self, engine: Engine) -> None:
        self._probs, self._truths = [], []

    def _collect(self, engine: Engine) -> None:
        output = engine.state.output
        for item in output if isinstance(output, list) else [output]:
            self._probs.append(_numpy(item[self.prob_key]).astype(np.float32))
            self._truths.append(_numpy(item[self.truth_key])[0].astype(np.int64))

    def _calibrate(self, engine: Engine) -> None:
        if not self._probs:
            return
        result = calibrate_postprocess(
            self._probs,
            self._truths,
            self.metric,
            self.border_class,
            self.seed_thresholds,
            self.mask_thresholds,
            self.min_sizes,
            self.tolerance,
            self.fill_holes,
            self.min_seed_size,
        )
        engine.state.postprocess = result
        logger.info(
            "calibrated %s %.4f with seed threshold %.2f, mask threshold %.2f, min size %d",
            self.metric,
            result["score"],
            result["seed_threshold"],
            result["mask_threshold"],
            result["min_size"],
        )
        self._reset(engine)
        if self.keep != "key":
            self._select(engine, result["score"])
        best_epoch = getattr(engine.state, "best_metric_epoch", -1)
        if best_epoch == engine.state.epoch and is_main_process():
            with atomic_path(self.save_path, overwrite=True) as tmp:
                tmp.write_text(json.dumps(result, indent=2))
