"""Work the consumer thread must not wait for: Grafana calls and state writes.

A slow Grafana (5 s timeouts) or a slow state store on the consumer thread would push it
past Kafka's poll interval and out of its consumer group. A `Worker` is one thread that
runs what it is handed, in order, a batch at a time (everything queued when it wakes), so
a slow call delays the next batch, never the consumer. Its queue is bounded and `submit`
waits when it is full: nothing handed over is dropped. `close` runs what is queued, then
ends the thread.
"""
import logging
import math
import queue
import threading

log = logging.getLogger(__name__)

_STOP = object()


class Worker:
    def __init__(self, name: str, run_batch, max_pending: int = 10_000):
        self.name = name
        self._run_batch = run_batch
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._pending = 0  # handed over and not yet done
        self._lock = threading.Lock()
        self.failures = 0  # batches that raised (logged; the thread goes on)
        self._thread = threading.Thread(target=self._loop, name=f"foresight-{name}", daemon=True)
        self._thread.start()

    def submit(self, item):
        with self._lock:
            self._pending += 1
        self._queue.put(item)

    def pending(self) -> int:
        with self._lock:
            return self._pending

    def flush(self):
        """Wait until everything submitted so far is done."""
        self._queue.join()

    def close(self, timeout: float | None = None) -> bool:
        """Run what is queued and end the thread; False when it is still busy after `timeout`."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self):
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            items = [item for item in batch if item is not _STOP]
            try:
                if items:
                    self._run_batch(items)
            except Exception:  # the worker must outlive one bad batch; the failure is logged
                self.failures += 1
                log.exception("%s: a batch of %d item(s) failed", self.name, len(items))
            finally:
                with self._lock:
                    self._pending -= len(items)
                for _ in batch:
                    self._queue.task_done()
            if len(items) < len(batch):
                return


class BackgroundFeedback:
    """The feedback loop (feedback.FeedbackLoop) on a worker thread.

    The consumer hands over each evaluation's predictions (`observe`); polls for verdicts
    are asked every `poll_every` of event time. The loop's Grafana writes and reads and its
    state file writes all run on the worker, once per batch; thresholds learnt from
    verdicts come back through `take_thresholds`.
    """

    def __init__(self, loop, max_pending: int = 10_000):
        self.loop = loop
        self._changed: dict = {}
        self._lock = threading.Lock()
        self._next_poll = -math.inf
        self.worker = Worker("feedback", self._run, max_pending)

    def observe(self, predictions: list, now: float, withdrawn=()):
        self.worker.submit(("observe", list(predictions), now, list(withdrawn)))
        if now >= self._next_poll:
            self._next_poll = now + self.loop.settings.poll_every
            self.worker.submit(("poll", now))

    def take_thresholds(self) -> dict:
        """{predictor: threshold} learnt since the last call."""
        with self._lock:
            changed, self._changed = self._changed, {}
        return changed

    def _run(self, items: list):
        last, poll_at = None, None
        for item in items:
            if item[0] == "observe":
                self.loop.observe(item[1], item[2], item[3], write=False)
                last = item[2]
            else:
                poll_at = item[1] if poll_at is None else max(poll_at, item[1])
        if poll_at is not None:
            changed = self.loop.poll(poll_at)  # retries the annotations too
            if changed:
                with self._lock:
                    self._changed.update(changed)
        if last is not None:
            self.loop.write(last)

    def close(self, timeout: float | None = None) -> bool:
        return self.worker.close(timeout)


__all__ = ["BackgroundFeedback", "Worker"]
