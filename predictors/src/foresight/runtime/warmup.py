"""Warm-up without a checkpoint: the history the predictors need, replayed from Prometheus.

How far back: the longest `history_needed()` of the configured predictors (the policy's
`min_history`, the daily profile's `season_history`), unless `--warmup` says otherwise.
The history is read an hour at a time across all selectors and added in time order, as
the Kafka stream would have brought it. Over its last day the predictors are evaluated
every five minutes of event time, so their track records, model choice and alert levels
build up as if the sidecar had been running; the older part only fills the windows.
"""
import bisect
import logging

from foresight.sources.prometheus import PrometheusError, chunks, query_range

log = logging.getLogger(__name__)

EVALUATE_EVERY = 300.0  # event seconds between evaluations during the replay
EVALUATED_SPAN = 86400.0  # the replay's last day is evaluated; before it, points only
CHUNK = 3600.0  # event seconds of history per query


def history_needed(engine, max_age: float) -> float:
    """The longest history any configured predictor needs, within what the windows keep."""
    need = max((p.history_needed() for p in engine.predictors), default=0.0)
    return min(max(need, 3600.0), max_age)


def replay_history(engine, url: str, start: float, end: float, step: float, publish) -> int:
    """Add the selectors' history between start and end in time order, evaluating as it
    goes (each evaluation's predictions go to `publish`). Returns the points added."""
    selectors, loaded = list(engine.selectors), 0
    next_evaluation = max(start, end - EVALUATED_SPAN)
    for first, last in chunks(start, end, step, max_points=max(1, int(CHUNK / step))):
        points = []
        for selector in list(selectors):
            try:
                points += query_range(url, selector.promql(), first, last, step)
            except PrometheusError as exc:  # one failure per selector, not one per hour of history
                log.warning("warm-up of %s skipped: %s", selector, exc)
                selectors.remove(selector)
        points.sort(key=lambda p: p.timestamp)
        times = [p.timestamp for p in points]
        done = 0
        while done < len(points):
            upto = bisect.bisect_left(times, next_evaluation, lo=done)
            loaded += engine.add_points("metrics", points[done:upto])
            done = upto
            if done < len(points):  # the next point is past an evaluation time
                publish(engine.evaluate())
                while next_evaluation <= times[done]:
                    next_evaluation += EVALUATE_EVERY
        if not selectors:
            break
    publish(engine.evaluate())
    return loaded


__all__ = ["CHUNK", "EVALUATED_SPAN", "EVALUATE_EVERY", "history_needed", "replay_history"]
