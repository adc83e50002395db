"""The optimiser as a config switch: the paper's SGD (momentum 0.99) or Adam."""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["build_optimizer"]


def build_optimizer(
    params: Iterable[torch.nn.Parameter],
    name: str = "sgd",
    lr: float = 0.01,
    momentum: float = 0.99,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """``"sgd"``: SGD with (the paper's high) momentum; ``"adam"``: Adam (``momentum`` unused).

    The paper trains with one large tile per step and momentum 0.99, so that "a large number
    of the previously seen training samples determine the update in the current step".
    """
    key = str(name).lower()
    if key == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if key == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {name!r}.")
