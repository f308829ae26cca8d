"""Log signals on loadgen's scenarios: how long before each failure the `logs` detector speaks up,
and how often it speaks up on a healthy day.

Each scenario's log lines (loadgen/src/loadgen/events.py, seed 1, 60 s steps) are fed to a
LogPatternDetector in time order, with evaluate() every 5 minutes of event time.
"""
from foresight.predictors.logs import LogPatternDetector, LogRecord
from loadgen.events import failure_events, step_events
from loadgen.registry import get_scenario
from loadgen.series import Timeline

START = 1767225600
HOUR = 3600
STEP = 60
EVALUATE_EVERY = 300
ALERT_SCORE = 0.5
CASES = [("memory-leak", 9), ("db-pool-saturation", 12), ("disk-fill", 30), ("error-spike", 12),
         ("db-degradation", 12), ("healthy-day", 24)]


def run_case(name: str, hours: int, seed: int = 1) -> dict:
    scenario = get_scenario(name)
    end = START + hours * HOUR
    failures = scenario.failures(START, end, seed)
    events = step_events(Timeline(scenario, START, STEP, seed).next_batch(hours * HOUR // STEP), STEP)
    events = sorted(events + failure_events(failures[:1]), key=lambda e: e.time)
    detector = LogPatternDetector()
    watched = scenario.watched.service if failures else None
    first_failure = failures[0].time if failures else end
    alerts, first_alert, explanation = 0, None, ""
    cursor = 0
    for now in range(START + EVALUATE_EVERY, end + 1, EVALUATE_EVERY):
        batch = []
        while cursor < len(events) and events[cursor].time < now:
            e = events[cursor]
            batch.append(LogRecord(float(e.time), e.service, e.severity.name, e.body))
            cursor += 1
        detector.add(batch)
        if now > first_failure:
            break
        for signal in detector.evaluate(now):
            if signal.anomaly_score >= ALERT_SCORE:
                alerts += 1
                if first_alert is None and (watched is None or signal.service == watched):
                    first_alert, explanation = now, f"{signal.service}: {signal.explanation}"
    return {
        "scenario": name, "hours": hours,
        "failure_at_h": round((first_failure - START) / HOUR, 2) if failures else None,
        "first_alert_at_h": round((first_alert - START) / HOUR, 2) if first_alert else None,
        "lead_minutes": round((first_failure - first_alert) / 60) if failures and first_alert else None,
        "evaluations_with_score_over_0.5": alerts, "first_alert_explanation": explanation,
    }


def run_all() -> list[dict]:
    return [run_case(name, hours) for name, hours in CASES]


if __name__ == "__main__":
    for row in run_all():
        print(row)
