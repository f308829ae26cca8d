"""How well a replay's predictions did: what `foresight train` reports and the exhaustion
benchmark (bench/exhaustion/score.py) scores with.

Definitions (times in seconds, f = a failure time: a known crossing of the limit, that is
the series reaching it or coming within 1% of it):
- lead time of a warned failure: f - max(start, f - 24 h) of the latest alert episode that
  began before f - 30 min and was active in [f - 24 h, f - 30 min]; leads are capped at 24 h.
- TTF error: rows in [f - 6 h, f - 10 min], the last row of each minute: |p50 - true| / true
  with true = f - row time (an `inf` or missing p50 counts as 1.0). Coverage: the share of
  those rows with p10 <= true <= p90.
- forecast error scaled like MASE at horizon h: mean |p50 forecast made at t - value at
  t + h| over a target's evaluations, divided by the mean |value at t + h - value at t|
  (the naive forecast that nothing changes, over the same pairs).
"""
import math

import numpy as np

MIN_WARNING = 30 * 60
LOOK_BACK = 24 * 3600
TTF_WINDOW = (6 * 3600, 10 * 60)


def lead_time(eps, failure: float) -> float | None:
    """Lead of the latest episode (start, end) warning for `failure`, or None when not warned."""
    best = None
    for s, e in eps:
        if s < failure - MIN_WARNING and e >= failure - LOOK_BACK:
            best = failure - max(s, failure - LOOK_BACK)
    return best


def ttf_rows(times, p10, p50, p90, failures):
    """(relative errors of p50, covered flags) over rows in the 6 h before each failure."""
    errors, covered = [], []
    times = np.asarray(times, dtype=np.float64)
    for f in failures:
        sel = np.flatnonzero((times >= f - TTF_WINDOW[0]) & (times <= f - TTF_WINDOW[1]))
        # The last row of each minute before f: one row a minute whatever the step.
        minute = np.floor((f - times[sel]) / 60.0)
        sel = sel[np.r_[minute[1:] != minute[:-1], True]] if sel.size else sel
        for t, a, b, c in zip(times[sel], p10[sel], p50[sel], p90[sel]):
            true = f - t
            errors.append(1.0 if (math.isnan(b) or math.isinf(b)) else abs(b - true) / true)
            covered.append((not math.isnan(a)) and (not math.isnan(c)) and a <= true <= c)
    return errors, covered


REACHED = 0.01  # within 1% of the limit is reaching it: the last scrape before an OOM kill is just short


def crossings(times, observed, limit, direction: str = "up") -> list[float]:
    """Times a series reached its limit (within REACHED of it): each first evaluation there
    after one short of it."""
    observed, limit = np.asarray(observed, dtype=float), np.asarray(limit, dtype=float)
    margin = REACHED * np.abs(limit)
    reached = observed >= limit - margin if direction == "up" else observed <= limit + margin
    reached &= np.isfinite(limit)
    starts = np.flatnonzero(reached[1:] & ~reached[:-1]) + 1
    return [float(times[i]) for i in starts]


def scaled_error(times, observed, forecast, horizon: float, tolerance: float) -> tuple[float, float, int]:
    """(sum of |forecast - actual|, sum of |naive - actual|, pairs) at `horizon`; the actual
    is the evaluation nearest t + horizon, within `tolerance`."""
    times = np.asarray(times, dtype=float)
    observed, forecast = np.asarray(observed, dtype=float), np.asarray(forecast, dtype=float)
    if times.size < 2:
        return 0.0, 0.0, 0
    j = np.clip(np.searchsorted(times, times + horizon), 0, times.size - 1)
    ok = (np.abs(times[j] - (times + horizon)) <= tolerance) & np.isfinite(forecast) & np.isfinite(observed[j])
    actual = observed[j][ok]
    return (float(np.abs(forecast[ok] - actual).sum()), float(np.abs(observed[ok] - actual).sum()),
            int(ok.sum()))


def mase(parts: list[tuple[float, float, int]]) -> float | None:
    """Mean over targets of each target's scaled error (targets whose series never moved left out)."""
    values = [model / naive for model, naive, n in parts if n and naive > 0]
    return float(np.mean(values)) if values else None


def _median(values) -> float | None:
    return float(np.median(values)) if len(values) else None


def exhaustion_scores(targets: dict, episodes: dict, direction: str, tolerance: float) -> dict:
    """Scores of one exhaustion predictor over a replay. `targets`: key -> column arrays
    (t, observed, limit, p10, p50, p90, f1h, f6h, model); `episodes`: key -> [(start, end)]."""
    leads, errors, covered, missed, failures = [], [], [], 0, 0
    one_hour, six_hours, models = [], [], {}
    for key, c in targets.items():
        found = crossings(c["t"], c["observed"], c["limit"], direction)
        failures += len(found)
        for f in found:
            lead = lead_time(episodes.get(key, []), f)
            if lead is None:
                missed += 1
            else:
                leads.append(lead)
        e, cov = ttf_rows(c["t"], c["p10"], c["p50"], c["p90"], found)
        errors += e
        covered += cov
        one_hour.append(scaled_error(c["t"], c["observed"], c["f1h"], 3600.0, tolerance))
        six_hours.append(scaled_error(c["t"], c["observed"], c["f6h"], 6 * 3600.0, tolerance))
        for name in c["model"]:
            models[name] = models.get(name, 0) + 1
    evaluations = sum(models.values())
    scores = {
        "targets": len(targets), "evaluations": evaluations, "known_crossings": failures,
        "crossings_warned": len(leads), "crossings_missed": missed,
        "lead_time_median_seconds": _median(leads), "lead_time_min_seconds": min(leads) if leads else None,
        "ttf_p50_relative_error_median": _median(errors),
        "ttf_p10_p90_coverage": float(np.mean(covered)) if covered else None,
        "forecast_mase_1h": mase(one_hour), "forecast_mase_6h": mase(six_hours),
    }
    scores.update({f"model_share.{name}": n / evaluations for name, n in sorted(models.items())})
    return scores


def anomaly_scores(targets: dict, episodes: dict) -> dict:
    """Scores of one anomaly predictor: alarms (alert episodes) per target-day, the share of
    evaluations at risk, the median score."""
    days = sum((c["t"][-1] - c["t"][0]) / 86400.0 for c in targets.values() if len(c["t"]) > 1)
    alarms = sum(len(episodes.get(key, [])) for key in targets)
    at_risk = [c["risk"] > 0 for c in targets.values()]
    scores = [c["score"][np.isfinite(c["score"])] for c in targets.values()]
    flat = np.concatenate(scores) if scores else np.array([])
    return {
        "targets": len(targets), "evaluations": int(sum(len(c["t"]) for c in targets.values())),
        "alarms": alarms, "target_days": days, "alarm_rate_per_target_day": alarms / days if days else None,
        "at_risk_share": float(np.mean(np.concatenate(at_risk))) if at_risk else None,
        "anomaly_score_median": float(np.median(flat)) if flat.size else None,
    }


__all__ = ["LOOK_BACK", "MIN_WARNING", "TTF_WINDOW", "anomaly_scores", "crossings", "exhaustion_scores", "lead_time",
           "mase", "scaled_error", "ttf_rows"]
