"""A few sampled traces per step, one SERVER span per service call.

frontend calls inventory (stock check) and then checkout; checkout queries db and then
calls payments; inventory queries db. Span timings follow the step's conditions; ids are
random so repeated runs never merge traces in a backend.
"""

import random
from dataclasses import dataclass, field

import numpy as np

from . import noise
from .series import LATENCY_SPREAD, Batch
from .topology import DB_QUERY_MEDIAN_S, QUERIES_PER_REQUEST, service

TRACES_PER_STEP = 2
DB_SPAN_ATTRIBUTES = {"db.system.name": "postgresql", "db.operation.name": "SELECT", "db.collection.name": "orders"}
STOCK_QUERY_ATTRIBUTES = {"db.system.name": "postgresql", "db.operation.name": "SELECT", "db.collection.name": "stock"}


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
        now = _Moment(
            latency={name: float(factor[i]) for name, factor in c.latency_factor.items()},
            errors={name: float(ratio[i]) for name, ratio in c.error_ratio.items()},
            pool_wait={name: float(wait[i]) for name, wait in c.pools_wait_s.items()},
            query_s=DB_QUERY_MEDIAN_S * float(c.db_query_factor[i]),
        )
        for j in range(TRACES_PER_STEP):
            draw = _Draws(seed, moment * TRACES_PER_STEP + j)
            spans += _one_trace(moment, step, draw, now, ids)
    return spans


@dataclass
class _Moment:
    """The conditions one step's traces are drawn from."""
    latency: dict
    errors: dict
    pool_wait: dict
    query_s: float


class _Draws:
    """Deterministic random draws for one trace, keyed by its time slot."""

    def __init__(self, seed: int, key: int):
        self._seed, self._key = seed, np.array([key])

    def uniform(self, what: str) -> float:
        return float(noise.uniform(self._seed, f"trace/{what}", self._key)[0])

    def lognormal(self, what: str, median: float) -> float:
        return median * float(np.exp(LATENCY_SPREAD * noise.normal(self._seed, f"trace/{what}", self._key)[0]))


def _one_trace(moment, step, draw, now: _Moment, ids) -> list[SpanPlan]:
    payments_s = draw.lognormal("payments", service("payments").latency_median_s * now.latency["payments"])
    db_s = draw.lognormal("db", now.query_s)
    stock_db_s = draw.lognormal("inventory-db", now.query_s)
    # A client's own time includes its wait for a pool connection and the slowdown of the
    # queries not drawn as spans.
    checkout_own_s = now.pool_wait["checkout"] + _untraced_slowdown("checkout", now) + draw.lognormal(
        "checkout", 0.3 * service("checkout").latency_median_s)
    inventory_own_s = now.pool_wait["inventory"] + _untraced_slowdown("inventory", now) + draw.lognormal(
        "inventory", 0.3 * service("inventory").latency_median_s)
    checkout_s = checkout_own_s + db_s + payments_s
    inventory_s = inventory_own_s + stock_db_s
    frontend_own_s = draw.lognormal("frontend", 0.3 * service("frontend").latency_median_s)
    frontend_s = frontend_own_s + inventory_s + checkout_s
    # The trace ends somewhere inside the step that leads up to this point.
    end = moment - draw.uniform("offset") * step * 0.9
    start = end - frontend_s
    checkout_failed = draw.uniform("checkout-error") < now.errors["checkout"]
    payments_failed = draw.uniform("payments-error") < now.errors["payments"]
    inventory_failed = draw.uniform("inventory-error") < now.errors["inventory"]
    frontend_failed = checkout_failed or inventory_failed or draw.uniform("frontend-error") < now.errors["frontend"]

    inventory_start = start + frontend_own_s / 2
    checkout_start = inventory_start + inventory_s
    db_start = checkout_start + checkout_own_s
    stock_db_start = inventory_start + inventory_own_s
    trace_id = ids.getrandbits(128)
    plans: list[SpanPlan] = []

    def add(name, parent, span_start, span_end, failed, attributes, span_name=None) -> int:
        span_id = ids.getrandbits(64)
        plans.append(SpanPlan(name, span_name or service(name).span_name, trace_id, span_id, parent,
                              span_start, span_end, failed, attributes))
        return span_id

    frontend = add("frontend", None, start, end, frontend_failed, _http(frontend_failed))
    inventory = add("inventory", frontend, inventory_start, inventory_start + inventory_s, inventory_failed,
                    _http(inventory_failed))
    add("db", inventory, stock_db_start, stock_db_start + stock_db_s, False, STOCK_QUERY_ATTRIBUTES, "SELECT stock")
    checkout = add("checkout", frontend, checkout_start, checkout_start + checkout_s, checkout_failed,
                   _http(checkout_failed))
    add("db", checkout, db_start, db_start + db_s, False, DB_SPAN_ATTRIBUTES)
    add("payments", checkout, db_start + db_s, db_start + db_s + payments_s, payments_failed, _http(payments_failed))
    return plans


def _untraced_slowdown(client: str, now: _Moment) -> float:
    return (QUERIES_PER_REQUEST[client] - 1) * (now.query_s - DB_QUERY_MEDIAN_S)


def _http(failed: bool) -> dict:
    return {"http.response.status_code": 500 if failed else 200}
