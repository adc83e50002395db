"""TTA turns: the tensor functions and the box maps agree, for every turn."""

from __future__ import annotations

import pytest
import torch

from medunet.inferers.turns import tta_turns


@pytest.mark.parametrize(("mode", "dims", "count"), [(None, 2, 1), ("flips", 2, 4),
                                                     ("flips", 3, 8), ("rot90", 2, 8),
                                                     ("rot90", 3, 8)])  # fmt: skip
def test_boxes_move_with_the_image(mode, dims, count):
    shape = (7, 9, 5)[:dims]
    x = torch.arange(torch.tensor(shape).prod().item(), dtype=torch.float32).view(1, 1, *shape)
    start, stop = (1, 2, 0)[:dims], (4, 8, 3)[:dims]
    box = x[(0, 0, *(slice(a, b) for a, b in zip(start, stop, strict=True)))]
    turns = tta_turns(mode, dims)
    assert len(turns) == count
    for turn in turns:
        turned = turn.forward(x)
        assert tuple(turned.shape[2:]) == turn.shape(shape)
        t_start, t_stop = turn.box(shape, start, stop)
        inside = turned[(0, 0, *(slice(a, b) for a, b in zip(t_start, t_stop, strict=True)))]
        assert sorted(inside.flatten().tolist()) == sorted(box.flatten().tolist())
        assert turn.box_back(shape, t_start, t_stop) == (start, stop)
        torch.testing.assert_close(turn.inverse(turned), x)


def test_unknown_mode():
    with pytest.raises(ValueError, match="tta must be one of"):
        tta_turns("rot45", 2)
