"""Ranks in one process (tests/engines/test_distributed.py runs two gloo ranks)."""

from __future__ import annotations

from medunet.ranks import is_main_process, rank, rank_seed


def test_one_process_is_rank_zero():
    assert rank() == 0 and is_main_process() and rank_seed(11) == 11
