"""`loadgen run`: plays a scenario against an OTLP endpoint, paced by the simulated clock.

Each flush exports every point that has come due since the last one, as one export per
signal, so high speeds cost a few large requests instead of many small ones.
"""

import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from . import otlp
from .clock import SimClock
from .events import failure_events, step_events
from .exporters import OtlpSender, Signal
from .report import Reporter
from .scenarios import Failure, Scenario
from .series import Batch, Timeline
from .traces import step_traces

FLUSH_INTERVAL_S = 0.5
PROGRESS_INTERVAL_S = 5.0
# At --speed 0 (and for the history) each flush covers this much simulated time: at a 15 s
# step, 5 minutes of every service's series is about 0.1 MB of OTLP, well under the 1 MB a
# Kafka broker accepts per message by default, even after a collector merges a few.
UNPACED_FLUSH_SIM_S = 300


@dataclass(frozen=True)
class RunPlan:
    scenario: Scenario
    start: int
    duration: int
    step: int
    seed: int
    speed: float  # 0 = as fast as possible
    history: int = 0  # healthy history before start, played as fast as possible

    @property
    def first(self) -> int:
        return self.start - self.history

    @property
    def end(self) -> int:
        return self.start + self.duration

    @property
    def total_steps(self) -> int:
        """Points at first + k * step that fall before the end."""
        return math.ceil((self.end - self.first) / self.step)


class Player:
    def __init__(
        self,
        plan: RunPlan,
        sender: OtlpSender,
        reporter: Reporter,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.plan = plan
        self.sender = sender
        self.reporter = reporter
        self._sleep = sleep
        self._monotonic = monotonic
        self._timeline = Timeline(plan.scenario, plan.start, plan.step, plan.seed, first=plan.first)
        self._pending_failures = deque(plan.scenario.failures(plan.start, plan.end, plan.seed))
        self._span_ids = random.Random()
        self._done_steps = 0

    def play(self) -> None:
        plan = self.plan
        clock = None  # paced from `start` on; the history before it goes as fast as possible
        self.reporter.start(plan.scenario.name, plan.start, plan.speed, plan.duration, plan.step, plan.seed,
                            self.sender.endpoint)
        last_progress = self._monotonic()
        sim_time = plan.first
        while self._done_steps < plan.total_steps:
            if clock is None and plan.speed > 0 and sim_time >= plan.start - plan.step:
                clock = SimClock(max(sim_time, plan.start), plan.speed, self._monotonic)
            due = self._due_steps(clock)
            if due > self._done_steps:
                batch = self._timeline.next_batch(due - self._done_steps)
                self._done_steps = due
                sim_time = int(batch.times[-1])
                self._flush(batch, self._failures_until(sim_time))
            if self._monotonic() - last_progress >= PROGRESS_INTERVAL_S:
                self.reporter.progress(sim_time, self.sender.stats.metric_points)
                last_progress = self._monotonic()
            if clock is not None and self._done_steps < plan.total_steps:
                next_point = plan.first + self._done_steps * plan.step
                self._sleep(max(FLUSH_INTERVAL_S, clock.wall_seconds_until(next_point)))
        if clock is not None:
            self._sleep(max(0.0, clock.wall_seconds_until(plan.end)))
        # Failures after the last point but before the end still happen within the run.
        late = self._failures_until(plan.end)
        if late:
            self.sender.send(Signal.LOGS, otlp.log_records(failure_events(late)))
            for failure in late:
                self.reporter.failure(failure)
        stats = self.sender.stats
        self.reporter.end(plan.end, stats.metric_points, sum(stats.failed.values()))

    def _due_steps(self, clock: SimClock | None) -> int:
        plan = self.plan
        if clock is None:
            unpaced = self._done_steps + max(1, UNPACED_FLUSH_SIM_S // plan.step)
            if plan.speed > 0:  # the history ends at `start`: pacing begins there
                unpaced = min(unpaced, math.ceil(plan.history / plan.step))
            return min(plan.total_steps, max(unpaced, self._done_steps + 1))
        elapsed_steps = math.floor((clock.now() - plan.first) / plan.step) + 1
        return min(plan.total_steps, elapsed_steps)

    def _failures_until(self, sim_time: int) -> list[Failure]:
        passed = []
        while self._pending_failures and self._pending_failures[0].time <= sim_time:
            passed.append(self._pending_failures.popleft())
        return passed

    def _flush(self, batch: Batch, failures: list[Failure]) -> None:
        plan = self.plan
        self.sender.send(Signal.METRICS, otlp.metrics_data(batch, plan.first), batch.point_count())
        events = sorted(step_events(batch, plan.step) + failure_events(failures), key=lambda e: e.time)
        self.sender.send(Signal.LOGS, otlp.log_records(events))
        self.sender.send(Signal.TRACES, otlp.spans(step_traces(batch, plan.step, plan.seed, self._span_ids)))
        # Reported after the export so a listener finds the data leading up to the failure.
        for failure in failures:
            self.reporter.failure(failure)
