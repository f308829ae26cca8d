"""What Foresight writes to Grafana: the tags and plain-words text of its annotations.

Tag convention (see docs/feedback.md):
  start: foresight, prediction, predictor:<name>, service:<svc>, severity:<level>, episode:<id>
  end:   the same, plus resolved and outcome:<failure|receded|withdrawn>
Engineers add `foresight:confirmed` or `foresight:dismissed` to either one.
"""
import math

from foresight.contracts.severities import SEVERITY_NAMES

BASE_TAG = "foresight"
CONFIRMED, DISMISSED = "confirmed", "dismissed"
VERDICT_TAGS = {f"{BASE_TAG}:{CONFIRMED}": CONFIRMED, f"{BASE_TAG}:{DISMISSED}": DISMISSED}
OUTCOME_TEXT = {
    "failure": "the failure happened (the limit was reached)",
    "receded": "the risk receded",
    "withdrawn": "the prediction was withdrawn (too little data to renew it)",
}


def episode_tags(episode, resolved: bool = False) -> list[str]:
    severity = SEVERITY_NAMES[episode.peak_level if resolved else episode.start_level]
    tags = [BASE_TAG, "prediction", f"predictor:{episode.predictor}",
            f"service:{episode.labels.get('service', '')}", f"severity:{severity}", f"episode:{episode.id}"]
    if resolved:
        tags += ["resolved", f"outcome:{episode.outcome}"]
    return tags


def start_text(episode, prediction, probability: float) -> str:
    """What, when (with its range) and how likely, in plain words; then why and what to do."""
    severity = SEVERITY_NAMES[episode.start_level]
    target = target_name(episode.labels)
    if not prediction.probability and prediction.anomaly_score is not None:
        text = (f"Foresight predictor {episode.predictor} sees unusual behaviour of {target}: "
                f"anomaly score {prediction.anomaly_score:.2f}. Severity {severity}.")
    else:
        low, mid, high = (prediction.ttf.get(q, math.inf) for q in (0.1, 0.5, 0.9))
        when = ("no crossing expected within the horizon" if math.isinf(mid) else
                f"in about {human_duration(mid)} (between {human_duration(low)} and {human_duration(high)})")
        text = (f"Foresight predictor {episode.predictor} predicts that {target} reaches its limit {when}. "
                f"Probability {probability:.0%}. Severity {severity}.")
    if prediction.drivers:
        text += f" Why: {prediction.drivers[0]}"
    if prediction.action:
        text += f" Action: {prediction.action}"
    return text


def end_text(episode) -> str:
    return (f"Resolved: {OUTCOME_TEXT[episode.outcome]}. {target_name(episode.labels)}, predictor "
            f"{episode.predictor}: peak {peak_name(episode)} {episode.peak_probability:.0%}, highest severity "
            f"{SEVERITY_NAMES[episode.peak_level]}, lasted {human_duration(episode.end - episode.start)}.")


def peak_name(episode) -> str:
    return "anomaly score" if episode.scored else "probability"


def target_name(labels: dict) -> str:
    """'node (host-1:9100, mountpoint=/data)': the service, its instance, the target's other labels."""
    service = labels.get("service") or "(no service)"
    details = [labels["service_instance"]] if labels.get("service_instance") else []
    details += [f"{k}={v}" for k, v in sorted(labels.items()) if k not in ("service", "service_instance")]
    return f"{service} ({', '.join(details)})" if details else service


def human_duration(seconds: float) -> str:
    if math.isinf(seconds) or math.isnan(seconds):
        return "beyond the horizon"
    seconds = max(0, int(round(seconds)))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{seconds}s"


def verdict_of(tags: list) -> str | None:
    """`confirmed`, `dismissed`, None when untagged, or `conflict` when both tags are present."""
    found = {VERDICT_TAGS[t] for t in tags if t in VERDICT_TAGS}
    if len(found) > 1:
        return "conflict"
    return found.pop() if found else None


def tag_value(tags: list, prefix: str) -> str | None:
    """The value of the first `prefix:<value>` tag, e.g. tag_value(tags, 'episode')."""
    for tag in tags:
        if isinstance(tag, str) and tag.startswith(prefix + ":"):
            return tag[len(prefix) + 1:]
    return None
