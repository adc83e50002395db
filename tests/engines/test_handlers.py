"""The handler sets every bundle trains and validates with, in the order that matters."""

from __future__ import annotations

import pytest
import torch
from monai.handlers import CheckpointLoader, IgniteMetricHandler, MetricsSaver

from medunet.engines import PeriodicValidation, PostprocessCalibration, TimeBudget
from medunet.engines.checkpoint import BestModelSaver, ModelCheckpointLoader, TrainingCheckpoint
from medunet.engines.handlers import (
    ReleaseHandedOn,
    evaluation_handlers,
    metric_handlers,
    training_handlers,
    validation_handlers,
)


def _training(tmp_path, **kwargs):
    net = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=10)
    save = {"model": net, "optimizer": opt, "lr_scheduler": sched}
    return training_handlers(None, sched, opt, None, tmp_path, save, **kwargs)


def test_the_budget_decides_before_validation_and_the_checkpoint_comes_last(tmp_path):
    handlers = _training(tmp_path, time_budget=60.0)
    kinds = [type(h) for h in handlers]
    assert kinds.index(TimeBudget) < kinds.index(PeriodicValidation)
    assert kinds.index(PeriodicValidation) < kinds.index(ReleaseHandedOn)
    assert kinds[-1] is TrainingCheckpoint
    validation = handlers[kinds.index(PeriodicValidation)]
    assert validation.time_share == 0.1 and validation.interval == 5


def test_without_a_budget_validation_follows_the_interval_alone(tmp_path):
    handlers = _training(tmp_path, val_interval=3)
    validation = next(h for h in handlers if isinstance(h, PeriodicValidation))
    assert validation.time_share is None and validation.interval == 3
    assert not any(isinstance(h, CheckpointLoader) for h in handlers)


def test_pretrained_weights_load_first_unless_resuming(tmp_path):
    weights = tmp_path / "pretrained.pt"
    torch.save(torch.nn.Linear(1, 1).state_dict(), weights)
    assert isinstance(_training(tmp_path, pretrained=weights)[0], CheckpointLoader)
    resumed = _training(tmp_path, pretrained=weights, resume=True)
    assert not any(isinstance(h, CheckpointLoader) for h in resumed)


def test_calibration_comes_first_and_the_best_model_last(tmp_path):
    calibration = PostprocessCalibration(tmp_path / "postprocess.json")
    handlers = validation_handlers(None, tmp_path, torch.nn.Linear(1, 1), calibration=calibration)
    assert handlers[0] is calibration and isinstance(handlers[-1], BestModelSaver)
    plain = validation_handlers(None, tmp_path, torch.nn.Linear(1, 1))
    assert not any(isinstance(h, PostprocessCalibration) for h in plain)


def test_evaluation_and_metric_handlers(tmp_path):
    model = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(1, 1).state_dict(), model)
    handlers = evaluation_handlers(model, torch.nn.Linear(1, 1), tmp_path / "eval")
    assert isinstance(handlers[0], ModelCheckpointLoader) and isinstance(handlers[-1], MetricsSaver)
    metrics = metric_handlers(["dice", "hd95"], kind="volume")
    assert list(metrics) == ["val_mean_dice", "val_hd95"]
    assert all(isinstance(m, IgniteMetricHandler) for m in metrics.values())
    assert list(metric_handlers(["ap50", "rand_error"])) == ["val_ap50", "val_rand_error"]
    with pytest.raises(ValueError, match="'segmentation' or 'volume'"):
        metric_handlers(["dice"], kind="pixels")
