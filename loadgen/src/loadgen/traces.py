"""A few sampled traces per step: frontend -> checkout -> (db, payments), one SERVER span per service.

Span timings follow the step's conditions; ids are random so repeated runs never merge
traces in a backend.
"""

import random
from dataclasses import dataclass, field

import numpy as np

from . import noise
from .series import LATENCY_SPREAD, Batch
from .topology import caller_of, service

TRACES_PER_STEP = 2
DB_QUERY_MEDIAN_S = 0.004
DB_SPAN_ATTRIBUTES = {"db.system.name": "postgresql", "db.operation.name": "SELECT", "db.collection.name": "orders"}


@dataclass(frozen=True)
class SpanPlan:
    service: str
    name: str
    trace_id: int
    span_id: int
    parent_span_id: int | None
    start: float  # unix seconds
    end: float
    failed: bool
    attributes: dict = field(default_factory=dict)


def step_traces(batch: Batch, step: int, seed: int, ids: random.Random) -> list[SpanPlan]:
    """Spans of TRACES_PER_STEP traces ending within each step that saw requests."""
    spans = []
    c = batch.conditions
    for i, moment in enumerate(batch.times.tolist()):
        if batch.requests["frontend"][i] == 0:
            continue
        for j in range(TRACES_PER_STEP):
            draw = _Draws(seed, moment * TRACES_PER_STEP + j)
            latency = {name: factor[i] for name, factor in c.latency_factor.items()}
            errors = {name: ratio[i] for name, ratio in c.error_ratio.items()}
            spans += _one_trace(moment, step, draw, latency, errors, float(c.pool_wait_s[i]), ids)
    return spans


class _Draws:
    """Deterministic random draws for one trace, keyed by its time slot."""

    def __init__(self, seed: int, key: int):
        self._seed, self._key = seed, np.array([key])

    def uniform(self, what: str) -> float:
        return float(noise.uniform(self._seed, f"trace/{what}", self._key)[0])

    def lognormal(self, what: str, median: float) -> float:
        return median * float(np.exp(LATENCY_SPREAD * noise.normal(self._seed, f"trace/{what}", self._key)[0]))


def _one_trace(moment, step, draw, latency, errors, pool_wait, ids) -> list[SpanPlan]:
    payments_s = draw.lognormal("payments", service("payments").latency_median_s * latency["payments"])
    db_s = draw.lognormal("db", DB_QUERY_MEDIAN_S)
    checkout_own_s = pool_wait + draw.lognormal("checkout", 0.3 * service("checkout").latency_median_s)
    checkout_s = checkout_own_s + db_s + payments_s
    frontend_s = checkout_s + draw.lognormal("frontend", 0.3 * service("frontend").latency_median_s)
    # The trace ends somewhere inside the step that leads up to this point.
    end = moment - draw.uniform("offset") * step * 0.9
    start = end - frontend_s
    checkout_failed = draw.uniform("checkout-error") < errors["checkout"]
    payments_failed = draw.uniform("payments-error") < errors["payments"]
    frontend_failed = checkout_failed or draw.uniform("frontend-error") < errors["frontend"]

    checkout_start = start + (frontend_s - checkout_s) / 2
    db_start = checkout_start + checkout_own_s
    payments_start = db_start + db_s
    timing = {
        "frontend": (start, end, frontend_failed, _http(frontend_failed)),
        "checkout": (checkout_start, checkout_start + checkout_s, checkout_failed, _http(checkout_failed)),
        "db": (db_start, db_start + db_s, False, DB_SPAN_ATTRIBUTES),
        "payments": (payments_start, payments_start + payments_s, payments_failed, _http(payments_failed)),
    }
    trace_id = ids.getrandbits(128)
    span_ids = {name: ids.getrandbits(64) for name in timing}
    plans = []
    for name, (span_start, span_end, failed, attributes) in timing.items():
        caller = caller_of(name)
        parent = span_ids[caller] if caller else None
        plans.append(SpanPlan(name, service(name).span_name, trace_id, span_ids[name], parent,
                              span_start, span_end, failed, attributes))
    return plans


def _http(failed: bool) -> dict:
    return {"http.response.status_code": 500 if failed else 200}
