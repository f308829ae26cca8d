"""The simulated services' log lines: realistic variables, bounded volume, an error template before failures."""
import re
from collections import Counter

import pytest

from loadgen.events import Severity, failure_events, step_events
from loadgen.registry import get_scenario
from loadgen.series import Timeline

START = 1767225600  # 2026-01-01T00:00:00Z
HOUR = 3600
STEP = 60

ACCESS_LINE = re.compile(r"^10\.\d+\.\d+\.\d+:\d+ - (GET|POST) /\S* \d{3} \d+ \d+\.\dms request_id=[0-9a-f]{16} "
                         r"user_id=\d+$")


def events_of(name: str, hours: float, seed: int = 1, first: int = START, cut: int | None = None):
    """Events and failures of a scenario run, with the timeline cut into batches of `cut` steps."""
    scenario = get_scenario(name)
    timeline = Timeline(scenario, START, STEP, seed, first=first)
    steps = int(hours * HOUR) // STEP
    events = []
    for begin in range(0, steps, cut or steps):
        events += step_events(timeline.next_batch(min(cut or steps, steps - begin)), STEP)
    end = first + steps * STEP
    return events, scenario.failures(START, end, seed)


def _shape(body: str) -> str:
    return re.sub(r"[0-9a-f]{16}|\d+(\.\d+)?", "#", body)


def test_lines_carry_ids_ips_and_durations_in_a_handful_of_templates_per_service():
    events, _ = events_of("healthy-day", 2)
    access = [e for e in events if e.severity is Severity.INFO and " - " in e.body]
    assert access and all(ACCESS_LINE.match(e.body) for e in access)
    # Every access line has its own request id.
    ids = [re.search("request_id=([0-9a-f]{16})", e.body).group(1) for e in access]
    assert len(set(ids)) == len(ids)
    shapes = Counter((e.service, _shape(e.body).split(" ")[2] if " - " in e.body else _shape(e.body)[:20])
                     for e in events)
    per_service = Counter(service for service, _ in shapes)
    assert all(2 <= n <= 12 for n in per_service.values()), per_service


def test_volume_per_step_is_bounded_whatever_the_traffic():
    events, _ = events_of("error-spike", 12)
    per_step = Counter((e.service, int(e.time) // STEP) for e in events)
    assert max(per_step.values()) <= 10


def test_lines_do_not_depend_on_how_the_run_is_cut_into_batches():
    whole, _ = events_of("memory-leak", 3)
    cut, _ = events_of("memory-leak", 3, cut=7)
    assert whole == cut
    other_seed, _ = events_of("memory-leak", 3, seed=2)
    assert other_seed != whole


@pytest.mark.parametrize("name, hours, new_error", [
    ("memory-leak", 9, "failed to allocate"),
    ("db-pool-saturation", 12, "timeout acquiring connection"),
    ("disk-fill", 30, "could not write temporary file"),
])
def test_a_new_error_template_appears_before_the_failure(name, hours, new_error):
    events, failures = events_of(name, hours)
    assert failures, f"{name} should fail within {hours} h"
    failure = failures[0].time
    errors = [e for e in events if e.body.startswith(new_error)]
    assert errors and all(e.severity is Severity.ERROR for e in errors)
    first = min(e.time for e in errors)
    assert failure - 6 * HOUR < first < failure  # shortly before, not from the start
    assert failure_events(failures)[0].time == failure


def test_a_healthy_day_has_only_background_request_failures():
    events, _ = events_of("healthy-day", 24)
    errors = [e for e in events if e.severity is Severity.ERROR]
    # A few failed requests are normal; the templates that precede failures never appear.
    assert all(re.match(r"request_id=[0-9a-f]{16} failed after \d+ms: \w+ returned 503", e.body) for e in errors)
    assert len(errors) < 0.1 * len(events)
