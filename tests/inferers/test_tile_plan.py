"""TilePlan: the windows the owning tiles read, for any box."""

from __future__ import annotations

from medunet.inferers import TilePlan


def test_windows_of_aligned_and_unaligned_boxes():
    plan = TilePlan.over((100,), roi=(30,), offset=(8,), stride=(12,))
    assert plan.tiles == (9,) and plan.pads == [(8, 18)]  # (9 - 1) * 12 + 30 = 100 + 8 + 18
    assert plan.window((24,), (48,)) == ((16,), (42,))  # tiles 2 and 3: 24-8 .. 36-8+30
    assert plan.core((24,), (48,)) == (slice(8, 32),)
    start, size = plan.window((25,), (40,))  # not on the grid: tiles 2 and 3 still own it
    assert (start, size) == ((16,), (42,)) and plan.core((25,), (40,)) == (slice(9, 24),)
