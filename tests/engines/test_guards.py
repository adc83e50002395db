"""NonFiniteLossGuard: a NaN/Inf loss stops training before the weights are saved."""

from __future__ import annotations

import math

import pytest
import torch
from ignite.engine import Engine

from medunet.engines import NonFiniteLossError, NonFiniteLossGuard, TrainingCheckpoint


def _trainer(losses, tmp_path, model):
    def step(engine, batch):
        return {"loss": torch.tensor(losses[engine.state.iteration - 1])}

    engine = Engine(step)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    NonFiniteLossGuard(tmp_path / "checkpoint.pt").attach(engine)
    TrainingCheckpoint(tmp_path, {"model": model, "optimizer": opt}).attach(engine)
    return engine


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_stops_at_the_bad_iteration_and_names_the_last_good_checkpoint(tmp_path, bad):
    model = torch.nn.Linear(2, 2)
    losses = [1.0, 0.9, 0.8, 0.7, bad, 0.5]  # epoch 1: iterations 1-3, epoch 2: 4-6
    engine = _trainer(losses, tmp_path, model)
    with pytest.raises(NonFiniteLossError) as info:
        engine.run([0, 1, 2], max_epochs=2)
    message = str(info.value)
    assert "at epoch 2, iteration 2 (step 5)" in message
    assert "checkpoint.pt (epoch 1)" in message and "\n" not in message
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert saved["trainer"]["iteration"] == 3  # the epoch-1 checkpoint is untouched


def test_no_checkpoint_yet_and_finite_runs_untouched(tmp_path):
    engine = _trainer([math.nan], tmp_path, torch.nn.Linear(2, 2))
    with pytest.raises(NonFiniteLossError, match="no checkpoint was saved yet"):
        engine.run([0], max_epochs=1)
    ok = _trainer([1.0, 2.0], tmp_path / "b", torch.nn.Linear(2, 2))
    ok.run([0, 1], max_epochs=1)
    assert ok.state.iteration == 2
