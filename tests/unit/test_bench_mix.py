"""The write bench reports each mix as its median run by what reads kept, with every run's
share beside it."""

from __future__ import annotations

from bench.load import WrkResult
from bench.writes import MixRow, median_mix


def _run(alone: int, mixed: int) -> MixRow:
    def result(requests: int) -> WrkResult:
        return WrkResult(requests, 10.0, 1.0, 2.0, 0, 0)

    return MixRow("paved", result(alone), result(mixed), result(950), 100)


def test_the_median_run_is_reported_with_every_run_s_share() -> None:
    runs = [_run(6000, 5400), _run(6000, 4800), _run(5000, 4600)]  # 90 %, 80 %, 92 %
    median = median_mix(runs)
    assert median.reads_mixed.requests == 5400
    assert [round(kept, 2) for kept in median.kept_runs] == [0.9, 0.8, 0.92]


def test_one_run_is_its_own_median() -> None:
    only = median_mix([_run(6000, 3000)])
    assert (only.kept, only.kept_runs) == (0.5, (0.5,))
