"""Refits stay staggered across targets after a gap in the data, so no loop refits them all."""
import math
from collections import Counter

from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.predictors.exhaustion.state import next_due
from foresight.runtime.engine import Engine

T0 = 1_767_225_600
TARGETS = 60


def test_next_due_keeps_the_place_in_the_period_only_after_a_gap():
    assert next_due(-math.inf, 100, 300, 0) == 400  # never due before
    assert next_due(100, 160, 300, 60) == 460  # on time: a period from now, as always
    assert next_due(500, 160, 300, 60) == 460  # early (a reset): its schedule starts afresh
    assert next_due(100, 1060, 300, 60) == 1360  # late, though seen a minute ago (it waited for points)
    assert next_due(100, 1060, 300, 900) == 1300  # unseen for three periods: still at 100 + k * 300


def test_after_a_gap_the_targets_do_not_all_refit_in_the_same_loop():
    engine = Engine(parse_config("""
predictors:
  - name: used
    kind: exhaustion
    series: used
    limit: 100
    candidates: [robust-trend]
"""))
    predictor = engine.predictors[0]
    refits = Counter()
    refit = predictor._refit

    def counted(state, window, sign, limit, now):
        refits[now] += 1
        return refit(state, window, sign, limit, now)
    predictor._refit = counted
    minutes = list(range(120)) + list(range(160, 200))  # two hours, 40 minutes without data, 40 more
    for m in minutes:
        t = T0 + 60 * m
        engine.add_points("metrics", [Point("used", (("job", f"svc-{i}"),), t, 20 + 0.01 * m + i % 7, GAUGE)
                                      for i in range(TARGETS)])
        engine.evaluate()
    after = [refits[T0 + 60 * m] for m in range(161, 200)]  # the first loop after the gap refits all of them
    assert refits[T0 + 60 * 160] == TARGETS
    assert max(after) <= TARGETS // 2, after  # then about a fifth a minute (refit_every 5m), not all at once
    assert sum(after) >= 6 * TARGETS  # and every target still refits every five minutes
