"""Grafana annotation feedback: predictions written as annotations, engineer verdicts read
back, each predictor's alert threshold tuned from them. See docs/feedback.md."""
from .events_log import EVENTS_LOGGER, JsonLinesFormatter, log_events_as_json
from .loop import FeedbackLoop
from .settings import FeedbackSettings
from .tuning import tuned_threshold

__all__ = ["EVENTS_LOGGER", "FeedbackLoop", "FeedbackSettings", "JsonLinesFormatter", "log_events_as_json",
           "tuned_threshold"]
