"""The optimiser switch: the paper's SGD with momentum 0.99, or Adam."""

from __future__ import annotations

import pytest
import torch

from medunet.engines.optim import build_optimizer


def test_sgd_carries_the_papers_momentum_and_adam_ignores_it():
    params = [torch.nn.Parameter(torch.zeros(3))]
    sgd = build_optimizer(params, "SGD", lr=0.001)
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.defaults["momentum"] == 0.99 and sgd.defaults["lr"] == 0.001
    adam = build_optimizer(params, "adam", lr=1e-3, momentum=0.5, weight_decay=1e-4)
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["weight_decay"] == 1e-4


def test_unknown_optimisers_are_refused():
    with pytest.raises(ValueError, match="'sgd' or 'adam'"):
        build_optimizer([torch.nn.Parameter(torch.zeros(1))], "lbfgs")
