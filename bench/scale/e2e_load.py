"""Load for the end-to-end benchmark: a fleet of loadgen-shaped services, sent as OTLP/HTTP.

loadgen's five services (metrics, logs and traces of its healthy memory-leak scenario) are
copied `copies` times under new service names (`checkout-3`, one instance each), with trace
ids made distinct per copy so calls of different copies never join. Every 15 s step is
encoded once, before the clock starts, as three requests (one per signal) holding every
copy; the sender then only posts bytes, so its own cost stays small beside the pipeline's.
"""
import random
import threading
import time
from dataclasses import dataclass

import requests
from loadgen import otlp
from loadgen.events import step_events
from loadgen.registry import get_scenario
from loadgen.series import Timeline
from loadgen.traces import step_traces
from opentelemetry.exporter.otlp.proto.common._internal._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

START, STEP = 1_767_225_600, 15
PATHS = {"metrics": "/v1/metrics", "logs": "/v1/logs", "traces": "/v1/traces"}


@dataclass(frozen=True)
class Step:
    bodies: dict  # signal -> encoded request
    events: dict  # signal -> data points, log records or spans


def _rename(resource, copy: int):
    for kv in resource.attributes:
        if kv.key in ("service.name", "service.instance.id"):
            kv.value.string_value = f"{kv.value.string_value}-c{copy}"


def _points(req) -> int:
    return sum(len(getattr(m, m.WhichOneof("data")).data_points)
               for rm in req.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)


def fleet_steps(copies: int, steps: int, seed: int = 1) -> list[Step]:
    """`steps` consecutive 15 s steps of `copies` copies of loadgen's services."""
    first = START - steps * STEP
    timeline, ids = Timeline(get_scenario("memory-leak"), START, STEP, seed, first=first), random.Random(seed)
    out = []
    for _ in range(steps):
        batch = timeline.next_batch(1)
        base = {"metrics": encode_metrics(otlp.metrics_data(batch, first)),
                "logs": encode_logs(otlp.log_records(step_events(batch, STEP))),
                "traces": encode_spans(otlp.spans(step_traces(batch, STEP, seed, ids)))}
        metrics, logs, traces = ExportMetricsServiceRequest(), ExportLogsServiceRequest(), ExportTraceServiceRequest()
        for copy in range(copies):
            for rm in base["metrics"].resource_metrics:
                _rename(metrics.resource_metrics.add(resource=rm.resource, scope_metrics=rm.scope_metrics).resource,
                        copy)
            for rl in base["logs"].resource_logs:
                _rename(logs.resource_logs.add(resource=rl.resource, scope_logs=rl.scope_logs).resource, copy)
            for rs in base["traces"].resource_spans:
                new = traces.resource_spans.add(resource=rs.resource, scope_spans=rs.scope_spans)
                _rename(new.resource, copy)
                for ss in new.scope_spans:
                    for span in ss.spans:
                        span.trace_id = bytes([copy % 256]) + span.trace_id[1:]
        events = {"metrics": _points(metrics), "logs": sum(len(sl.log_records) for rl in logs.resource_logs
                                                           for sl in rl.scope_logs),
                  "traces": sum(len(ss.spans) for rs in traces.resource_spans for ss in rs.scope_spans)}
        out.append(Step({"metrics": metrics.SerializeToString(), "logs": logs.SerializeToString(),
                         "traces": traces.SerializeToString()}, events))
    return out


class Sender(threading.Thread):
    """Posts the steps in order to the collector's OTLP/HTTP endpoint at `rate` events per
    second (None: as fast as it answers). `sent` counts events the collector accepted."""

    def __init__(self, url: str, steps: list[Step], cycle: bool = False):
        super().__init__(daemon=True)
        # cycle: start the steps over when they run out (event times repeat: for a reader
        # that does not look at them only).
        self.url, self.steps, self.cycle = url, steps, cycle
        self.session = requests.Session()
        self.rate: float | None = None
        self.sent = 0
        self.failed = 0  # requests the collector refused or that did not reach it
        self.position = 0  # next step
        self.stop_event = threading.Event()
        self._paced_from = (time.monotonic(), 0)

    def set_rate(self, rate: float | None):
        self.rate = rate
        self._paced_from = (time.monotonic(), self.sent)

    @property
    def exhausted(self) -> bool:
        return not self.cycle and self.position >= len(self.steps)

    def run(self):
        headers = {"Content-Type": "application/x-protobuf"}
        while not self.stop_event.is_set() and not self.exhausted:
            step = self.steps[self.position % len(self.steps)]
            self.position += 1
            for signal, body in step.bodies.items():
                try:
                    ok = self.session.post(self.url + PATHS[signal], data=body, headers=headers, timeout=10).ok
                except requests.RequestException:
                    ok = False
                if ok:
                    self.sent += step.events[signal]
                else:
                    self.failed += 1
            if self.rate:
                since, base = self._paced_from
                due = since + (self.sent - base) / self.rate
                delay = due - time.monotonic()
                if delay > 0:
                    self.stop_event.wait(delay)

    def stop(self):
        self.stop_event.set()
        self.join(15)
