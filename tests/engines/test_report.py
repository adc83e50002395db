"""Validation scores in the log: a line per validation, a table per image."""

from __future__ import annotations

import logging

import torch
from ignite.engine import Engine, Events
from monai.data import MetaTensor

from medunet.engines.report import PerImageScores, ValidationReport


def test_one_line_per_validation_with_the_best_key_metric(caplog):
    evaluator = Engine(lambda engine, batch: None)

    def scores(engine):
        engine.state.metrics = {"val_ap50": 0.75, "val_rand_error": 0.125}
        engine.state.key_metric_name = "val_ap50"
        engine.state.best_metric, engine.state.best_metric_epoch = 0.75, engine.state.epoch

    evaluator.add_event_handler(Events.EPOCH_COMPLETED, scores)  # first, as MONAI's
    ValidationReport().attach(evaluator)
    with caplog.at_level(logging.INFO, logger="medunet.engines.report"):
        evaluator.run(range(1), max_epochs=1)
    assert "validation at epoch 1: val_ap50 0.7500, val_rand_error 0.1250; model.pt: epoch 1 " \
           "(val_ap50 0.7500)" in caplog.text  # fmt: skip


def test_per_image_table_names_each_file(caplog):
    batches = [
        [{"image": MetaTensor(torch.zeros(1, 2, 2), meta={"filename_or_obj": f"/d/{n}.tif"})}]
        for n in ("a", "b")
    ]
    evaluator = Engine(lambda engine, batch: None)

    def details(engine):
        engine.state.metric_details = {"ap50": torch.tensor([[1.0], [0.5]])}

    evaluator.add_event_handler(Events.COMPLETED, details)  # the metrics' details first
    PerImageScores().attach(evaluator)
    with caplog.at_level(logging.INFO, logger="medunet.engines.report"):
        evaluator.run(batches, max_epochs=1)
    assert "  a.tif: ap50 1.0000" in caplog.text and "  b.tif: ap50 0.5000" in caplog.text
