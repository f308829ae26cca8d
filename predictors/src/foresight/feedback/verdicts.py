"""Engineers' verdicts, read back from Grafana annotations, and what they say of each episode."""
import logging

from . import annotations as ann
from .events_log import emit
from .metrics import FeedbackMetrics


def apply_verdict(annotation: dict, history: dict, processed: dict, predictors, metrics: FeedbackMetrics) -> bool:
    """Apply one verdict annotation once: record it on its episode in `history`, and the
    annotation in `processed`. Returns True when the state changed."""
    tags = annotation.get("tags")
    if isinstance(annotation.get("id"), bool) or not isinstance(annotation.get("id"), int) \
            or not isinstance(tags, list):
        metrics.feedback_skipped.labels("malformed").inc()
        emit("feedback_skipped", logging.WARNING, reason="malformed", annotation=repr(annotation)[:300])
        return False
    annotation_id = str(annotation["id"])
    tags = [t for t in tags if isinstance(t, str)]
    verdict = ann.verdict_of(tags)
    if verdict is None or processed.get(annotation_id) == verdict:
        return False
    processed[annotation_id] = verdict
    episode = history.get(ann.tag_value(tags, "episode") or "")
    reason = ("conflicting_tags" if verdict == "conflict" else
              "unknown_episode" if episode is None else
              "unknown_predictor" if episode.predictor not in predictors else None)
    if episode is not None and verdict == "conflict":
        episode.verdicts.pop(annotation_id, None)  # an earlier verdict on this annotation no longer holds
    if reason:
        metrics.feedback_skipped.labels(reason).inc()
        emit("feedback_skipped", logging.WARNING, reason=reason, annotation_id=annotation_id, tags=tags)
        return True
    episode.verdicts[annotation_id] = verdict
    metrics.feedback.labels(episode.predictor, verdict).inc()
    emit("feedback", verdict=verdict, annotation_id=annotation_id, predictor=episode.predictor,
         labels=episode.labels, episode=episode.id, peak_probability=round(episode.peak_probability, 4),
         episode_verdict=episode.verdict)
    return True


def judged_peaks(history: dict, predictor: str) -> tuple[list, list]:
    """(peaks of dismissed episodes, peaks of confirmed ones) of one predictor.

    An episode that ended in the failure is a true alert even if nobody said so; what
    counts for it is the probability before the failure, when an alert was still useful.
    """
    judged = [e for e in history.values() if e.predictor == predictor]
    dismissed = [e.peak_probability for e in judged if e.verdict == "dismissed"]
    confirmed = [e.pre_failure_peak if e.failure_seen else e.peak_probability for e in judged
                 if e.verdict == "confirmed" or (e.verdict is None and e.outcome == "failure")]
    return dismissed, confirmed
