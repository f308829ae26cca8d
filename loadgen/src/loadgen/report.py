"""What `loadgen run` tells its caller on stdout: JSON lines for machines or readable lines."""

import json
import sys
from typing import TextIO

from .scenarios import Failure
from .timeparse import format_instant


class Reporter:
    def __init__(self, as_json: bool, out: TextIO | None = None):
        self.as_json = as_json
        # Looked up per reporter, not at import, so a replaced sys.stdout is honoured.
        self.out = out or sys.stdout

    def _emit(self, event: dict, text: str) -> None:
        print(json.dumps(event) if self.as_json else text, file=self.out, flush=True)

    def start(self, scenario: str, sim_time: int, speed: float, duration: int, step: int, seed: int, target: str):
        pace = "as fast as possible" if speed == 0 else f"at {speed:g}x"
        self._emit(
            {"event": "start", "sim_time": sim_time, "scenario": scenario, "speed": speed,
             "duration": duration, "step": step, "seed": seed, "endpoint": target},
            f"start {scenario} at {format_instant(sim_time)} for {duration}s of simulated time, "
            f"step {step}s, seed {seed}, {pace}, sending to {target}",
        )

    def failure(self, failure: Failure) -> None:
        w = failure.watched
        self._emit(
            {"event": "failure", "sim_time": failure.time, "service": w.service, "resource": w.resource,
             "metric": w.metric, "limit": w.limit},
            f"failure at {format_instant(failure.time)}: {w.service} {w.resource} reached its limit "
            f"{_number(w.limit)} ({w.metric})",
        )

    def progress(self, sim_time: int, exported_points: int) -> None:
        self._emit(
            {"event": "progress", "sim_time": sim_time, "exported_points": exported_points},
            f"at {format_instant(sim_time)}: {exported_points} metric points exported",
        )

    def end(self, sim_time: int, exported_points: int, failed_exports: int) -> None:
        self._emit(
            {"event": "end", "sim_time": sim_time, "exported_points": exported_points,
             "failed_exports": failed_exports},
            f"end at {format_instant(sim_time)}: {exported_points} metric points exported, "
            f"{failed_exports} exports failed",
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
