"""The tuning rule: a predictor's alert threshold from the episodes engineers judged.

    raise_to = highest dismissed peak + margin           (that episode would not alert again)
    ceiling  = lowest confirmed peak - margin             (every confirmed episode still alerts)
    threshold = clamp(min(raise_to, ceiling), base, max_threshold)

With no dismissals the threshold is the base. Only dismissals raise it and only
confirmations cap it, so a confirmation never costs recall. It is a pure function of the
judged episodes, so the order feedback arrives in does not matter.
"""


def tuned_threshold(base: float, dismissed_peaks: list[float], confirmed_peaks: list[float],
                    margin: float, max_threshold: float) -> float:
    if not dismissed_peaks:
        return base
    raise_to = max(dismissed_peaks) + margin
    ceiling = min(confirmed_peaks) - margin if confirmed_peaks else max_threshold
    threshold = min(raise_to, ceiling, max_threshold)
    return round(max(base, threshold), 4)
