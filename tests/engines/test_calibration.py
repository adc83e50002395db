"""Post-processing calibration on validation images, stored when the model is saved."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ignite.engine import Engine, Events

from medunet.engines import PostprocessCalibration, calibrate_postprocess


def _bridged_pair() -> tuple[np.ndarray, np.ndarray]:
    """Two true cells; the network's p(foreground) joins them by a 0.6 bridge."""
    truth = np.zeros((12, 20), np.int64)
    truth[2:10, 1:10] = 1
    truth[2:10, 10:19] = 2
    fg = np.zeros(truth.shape, np.float32)
    fg[2:10, 1:19] = 0.35
    fg[3:9, 2:9] = 0.95
    fg[3:9, 11:18] = 0.95
    fg[5:7, 9:11] = 0.6
    return np.stack([1.0 - fg, fg]), truth


def test_calibration_finds_thresholds_that_separate_and_restore():
    prob, truth = _bridged_pair()
    best = calibrate_postprocess([prob], [truth], "rand_error", min_sizes=(0,))
    assert best["seed_threshold"] >= 0.6 and best["mask_threshold"] <= 0.3
    assert best["score"] < 0.05 and best["images"] == 1
    ap = calibrate_postprocess([prob], [truth], "ap50", min_sizes=(0,))
    assert ap["score"] == 1.0


def test_calibration_grows_as_inference_will_without_small_seeds():
    """Membranes with a speck of seed inside a cell: calibrated as inference runs, with
    ``min_seed_size`` the speck starts no object and the cell scores whole."""
    truth = np.zeros((12, 21), np.int64)
    truth[:, :10], truth[:, 11:] = 1, 2
    fg = np.where(truth > 0, 0.95, 0.05).astype(np.float32)
    fg[3:8, 2:7] = 0.5  # a ring below every seed threshold ...
    fg[4:7, 3:6] = 0.95  # ... around a 9-pixel speck
    prob = np.stack([1.0 - fg, fg])
    specks = calibrate_postprocess([prob], [truth], "ap50", min_sizes=(0,))
    cells = calibrate_postprocess([prob], [truth], "ap50", min_sizes=(0,), min_seed_size=10)
    assert specks["score"] < 1.0 and cells["score"] == 1.0


def test_calibration_refuses_unknown_metrics_and_empty_input():
    prob, truth = _bridged_pair()
    with pytest.raises(ValueError, match="unknown metric"):
        calibrate_postprocess([prob], [truth], "accuracy")
    with pytest.raises(ValueError, match="at least one"):
        calibrate_postprocess([], [], "ap50")


def _evaluate(handler: PostprocessCalibration, best_epochs: set[int], epochs: int) -> Engine:
    prob, truth = _bridged_pair()

    def step(engine, batch):
        return [{"pred": prob, "truth_instances": truth[None]}]

    def mark(engine):  # what MONAI's key-metric comparison records, before the handlers
        epoch = engine.state.epoch
        engine.state.best_metric_epoch = epoch if epoch in best_epochs else -1

    evaluator = Engine(step)
    evaluator.add_event_handler(Events.EPOCH_COMPLETED, mark)
    handler.attach(evaluator)
    evaluator.run(range(2), max_epochs=epochs)
    return evaluator


def test_handler_writes_the_choice_when_the_model_is_saved(tmp_path):
    path = tmp_path / "models" / "postprocess.json"
    handler = PostprocessCalibration(path, metric="rand_error", min_sizes=(0,), keep="key")
    engine = _evaluate(handler, best_epochs=set(), epochs=1)
    assert engine.state.postprocess["seed_threshold"] >= 0.6 and not path.exists()
    _evaluate(handler, best_epochs={1}, epochs=1)
    saved = json.loads(path.read_text())
    assert saved["metric"] == "rand_error" and saved["images"] == 2  # both iterations


def _epochs(keep: str, path):
    """Epoch 2's network merges the two cells beyond any threshold (its bridge is 0.97),
    yet the uncalibrated key metric calls it the best."""
    good, truth = _bridged_pair()
    merged = good.copy()
    merged[1, 5:7, 9:11] = 0.97
    merged[0] = 1 - merged[1]
    handler = PostprocessCalibration(path, metric="rand_error", min_sizes=(0,), keep=keep)
    seen: list[tuple[int, int]] = []

    def step(engine, batch):
        pred = merged if engine.state.epoch == 2 else good
        return [{"pred": pred, "truth_instances": truth[None]}]

    def monai_key(engine):  # MONAI's comparison of the uncalibrated key: prefers epoch 2
        engine.state.best_metric_epoch = 2 if engine.state.epoch == 2 else engine.state.epoch

    evaluator = Engine(step)
    evaluator.add_event_handler(Events.EPOCH_COMPLETED, monai_key)
    handler.attach(evaluator)
    evaluator.add_event_handler(
        Events.EPOCH_COMPLETED, lambda e: seen.append((e.state.epoch, e.state.best_metric_epoch))
    )
    evaluator.run(range(2), max_epochs=3)
    first = calibrate_postprocess([good, good], [truth, truth], "rand_error", min_sizes=(0,))
    return evaluator, seen, first


def test_best_keeps_the_best_calibrated_epoch(tmp_path):
    path = tmp_path / "postprocess.json"
    evaluator, seen, first = _epochs("best", path)
    assert seen == [(1, 1), (2, 1), (3, 1)]  # epoch 3 only ties epoch 1: not better
    assert evaluator.state.key_metric_name == "val_calibrated_rand_error"
    assert json.loads(path.read_text())["score"] == pytest.approx(first["score"])
    assert evaluator.state.best_metric == pytest.approx(first["score"])
    assert evaluator.state.metrics["val_calibrated_rand_error"] == pytest.approx(first["score"])


def test_last_keeps_every_latest_epoch_and_its_calibration(tmp_path):
    path = tmp_path / "postprocess.json"
    _, seen, first = _epochs("last", path)
    assert seen == [(1, 1), (2, 2), (3, 3)]  # the saver writes each; the run ends with the last
    assert json.loads(path.read_text())["score"] == pytest.approx(first["score"])  # epoch 3's
    with pytest.raises(ValueError, match="keep_model must be one of last, best, key"):
        PostprocessCalibration(path, keep="first")


def test_tolerance_prefers_the_highest_seed_threshold_among_near_best():
    """Two cells joined by a 0.85 bridge: seeds above 0.85 keep them apart. A validation
    image where the bridge is missing ranks every seed threshold alike; with a tolerance the
    choice is the safe, high one."""
    prob, truth = _bridged_pair()
    prob = prob.copy()
    prob[1, 5:7, 9:11] = 0.85
    prob[0] = 1 - prob[1]
    plain = calibrate_postprocess([prob], [truth], "rand_error", min_sizes=(0,))
    assert plain["seed_threshold"] == 0.9  # only the highest grid value separates them
    easy, _ = _bridged_pair()
    easy[1, 5:7, 9:11] = 0.0  # no bridge: every seed threshold is as good
    easy[0] = 1 - easy[1]
    first = calibrate_postprocess([easy], [truth], "rand_error", min_sizes=(0,))
    safe = calibrate_postprocess([easy], [truth], "rand_error", min_sizes=(0,), tolerance=0.2)
    assert first["seed_threshold"] == 0.5 and safe["seed_threshold"] == 0.9
    with pytest.raises(ValueError, match="tolerance"):
        calibrate_postprocess([easy], [truth], "rand_error", tolerance=-1)


def _split_at_09(cells: int) -> tuple[np.ndarray, np.ndarray]:
    """The pair without a bridge, ``cells`` of them with a 0.85 dip across the middle of
    their interior: seeds above 0.85 split those cells in two."""
    prob, truth = _bridged_pair()
    prob = prob.copy()
    prob[1, 5:7, 9:11] = 0.0
    for c in range(cells):
        prob[1, 3:9, (5, 14)[c]] = 0.85
    prob[0] = 1 - prob[1]
    return prob, truth


@pytest.mark.parametrize("cells, high", [(1, 0.9), (2, 0.8)])
def test_one_standard_error_rule_takes_the_safe_side_only_as_far_as_the_images_allow(cells, high):
    """One validation image merges two cells below 0.9 and five split ``cells`` at 0.9: the
    lower thresholds score best. Image by image, 0.9 falls short of them by less than one
    standard error when it splits one cell (it is chosen: the safe side), and by more when
    it splits both (the highest of the tied best, 0.8, is chosen)."""
    bridged, truth = _bridged_pair()
    bridged = bridged.copy()
    bridged[1, 5:7, 9:11] = 0.85
    bridged[0] = 1 - bridged[1]
    split, _ = _split_at_09(cells)
    probs, truths = [bridged] + [split] * 5, [truth] * 6
    best = calibrate_postprocess(probs, truths, "rand_error", min_sizes=(0,))
    assert best["seed_threshold"] == 0.5  # the first of the tied best
    chosen = calibrate_postprocess(probs, truths, "rand_error", min_sizes=(0,), tolerance="1se")
    assert chosen["seed_threshold"] == high and "_values" not in chosen
    with pytest.raises(ValueError, match="1se"):
        calibrate_postprocess(probs, truths, "rand_error", tolerance="2se")
    with pytest.raises(ValueError, match="calibrate_tolerance must be a number >= 0 or '1se'"):
        PostprocessCalibration("postprocess.json", "rand_error", tolerance="2se")
