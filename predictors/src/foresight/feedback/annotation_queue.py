"""Annotations on their way to Grafana: written in order, kept while Grafana is down.

A write that Grafana rejects is dropped and counted; one that finds Grafana unreachable
waits for the next poll. The queue is bounded: when full, the oldest is dropped.
"""
import logging
import math
from collections import deque

from .events_log import emit
from .grafana import GrafanaRejected, GrafanaUnavailable
from .metrics import FeedbackMetrics
from .settings import FeedbackSettings

log = logging.getLogger(__name__)


class AnnotationQueue:
    def __init__(self, client, settings: FeedbackSettings, metrics: FeedbackMetrics):
        """`client`: an AnnotationClient, or None when the loop writes no annotations."""
        self.client, self.settings, self.metrics = client, settings, metrics
        self.pending: deque = deque()
        self.retry_at = -math.inf

    def add(self, episode, role: str, at: float, tags: list, text: str):
        if len(self.pending) >= self.settings.max_pending:
            dropped = self.pending.popleft()
            self.metrics.annotations_dropped.labels("queue_full").inc()
            emit("annotation_dropped", logging.WARNING, reason="queue_full", episode=dropped["episode"],
                 role=dropped["role"])
        self.pending.append({"episode": episode.id, "role": role, "time_ms": int(round(at * 1000)),
                             "tags": tags, "text": text})
        self.metrics.queue.set(len(self.pending))

    def flush(self, now: float, history: dict, force: bool = False):
        """Write queued annotations in order; after a failure wait until the next poll.
        Each written annotation's id is kept on its episode in `history`."""
        if self.client is None:
            self.pending.clear()
            return
        if not force and now < self.retry_at:
            return
        self.retry_at = -math.inf
        while self.pending:
            item = self.pending[0]
            try:
                annotation_id = self.client.add(item["time_ms"], item["tags"], item["text"])
            except GrafanaUnavailable as exc:
                self.grafana_error("write", exc)
                self.retry_at = now + self.settings.poll_every
                break
            except GrafanaRejected as exc:
                self.pending.popleft()
                self.metrics.annotations_dropped.labels("rejected").inc()
                emit("annotation_dropped", logging.WARNING, reason="rejected", error=str(exc),
                     episode=item["episode"], role=item["role"])
                continue
            self.pending.popleft()
            self.metrics.annotations_written.inc()
            episode = history.get(item["episode"])
            if episode is not None:
                setattr(episode, f"{item['role']}_annotation_id", annotation_id)
            emit("annotation_written", annotation_id=annotation_id, episode=item["episode"], role=item["role"])
        self.metrics.queue.set(len(self.pending))

    def grafana_error(self, operation: str, exc: Exception):
        self.metrics.grafana_errors.labels(operation).inc()
        log.warning("Grafana %s failed at %s: %s (retrying at the next poll)", operation,
                    self.settings.grafana_url, exc)
        emit("grafana_error", logging.WARNING, operation=operation, error=str(exc), url=self.settings.grafana_url)
