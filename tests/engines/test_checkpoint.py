"""TrainingCheckpoint: atomic saves, exact resume, no silent overwrite."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from ignite.engine import Engine, Events

from medunet.engines import ModelCheckpointLoader, TrainingCheckpoint


def _setup(tmp_path, **kwargs):
    net = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)

    def step(engine, batch):
        opt.zero_grad()
        loss = net(torch.ones(1, 2)).sum()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    engine = Engine(step)
    engine.add_event_handler(Events.EPOCH_COMPLETED, lambda e: sched.step())
    ckpt = TrainingCheckpoint(
        tmp_path, {"model": net, "optimizer": opt, "lr_scheduler": sched}, **kwargs
    )
    ckpt.attach(engine)  # last, as in the bundles: saves after the scheduler's step
    return engine, net, opt, sched


def test_resume_continues_epochs_and_restores_everything(tmp_path):
    engine, net, _, _ = _setup(tmp_path)
    engine.run(range(3), max_epochs=2)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert saved["trainer"]["iteration"] == 6 and saved["trainer"]["epoch_length"] == 3
    assert set(saved) == {"model", "optimizer", "lr_scheduler", "trainer", "rng"}
    weights = net.weight.detach().clone()
    torch.manual_seed(123)  # resuming must restore the RNG state of the checkpoint
    random.seed(5)

    engine2, net2, opt2, sched2 = _setup(tmp_path, resume=True)
    started = {}
    engine2.add_event_handler(
        Events.EPOCH_STARTED, lambda e: started.setdefault("epoch", e.state.epoch)
    )
    engine2.run(range(3), max_epochs=3)
    assert started["epoch"] == 3 and engine2.state.iteration == 9
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["trainer"]["iteration"] == 9
    assert sched2.last_epoch == 3 and opt2.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)
    assert not torch.equal(net2.weight, weights)


def test_fresh_run_refuses_to_overwrite(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"trained")
    engine, *_ = _setup(tmp_path)
    with pytest.raises(FileExistsError, match=r"model\.pt exists from an earlier run.*resume"):
        engine.run(range(2), max_epochs=1)
    assert (tmp_path / "model.pt").read_bytes() == b"trained"
    engine, *_ = _setup(tmp_path, overwrite=True)
    engine.run(range(2), max_epochs=1)
    assert (tmp_path / "checkpoint.pt").is_file()


def test_damaged_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"\x00truncated")
    engine, *_ = _setup(tmp_path, resume=True)
    with pytest.raises(ValueError, match=r"checkpoint\.pt could not be loaded"):
        engine.run(range(2), max_epochs=1)


def test_model_loader_says_where_it_looked(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"no trained model at .*model\.pt; train one first"
    ):
        ModelCheckpointLoader(tmp_path / "model.pt", {"model": torch.nn.Linear(1, 1)})


def test_rng_states_roundtrip():
    from medunet.engines import rng_state, set_rng_state

    state = rng_state()
    expected = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    set_rng_state(state)
    again = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1])
    assert expected[2] == again[2]
