"""Windows per watched series, on event time, bounded in time and in series count.

Counters are turned into per-second rates (with resets detected); deltas into running
totals. Out-of-order, duplicate and future points (more than `max_skew` ahead of the
watermark, clock.py) are dropped and counted. A series idle for `series_ttl` of event time
is evicted, and at `max_series` a new series evicts the least recently updated one; the
engine reads the evicted keys (`sweep`) so the predictors forget them. The store never looks
at the wall clock.
"""
import logging
import math
from collections import Counter, OrderedDict
from dataclasses import dataclass

from foresight.contracts.points import COUNTER, DELTA, Point

from .clock import EventClock, producer_of
from .window import BIN_WIDTH, MAX_AGE, MAX_RAW, RAW_SPAN, Window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreSettings:
    raw_span: float = RAW_SPAN  # recent points kept as they came (raised to cover the predictors' lookback)
    bin_width: float = BIN_WIDTH  # older points kept as means of this much event time
    max_age: float = MAX_AGE
    max_raw: int = MAX_RAW
    max_series: int = 100_000
    max_skew: float = 600.0  # a point further ahead of the watermark is dropped as `future`
    series_ttl: float = 6 * 3600.0  # a series without points for this long is evicted

    def __post_init__(self):
        for name in ("bin_width", "max_age", "max_raw", "max_series", "max_skew", "series_ttl"):
            if not getattr(self, name) > 0:
                raise ValueError(f"store setting {name} must be positive, got {getattr(self, name)!r}")
        if self.raw_span < 0:
            raise ValueError(f"store setting raw_span must not be negative, got {self.raw_span!r}")


@dataclass(slots=True)  # read and written for every point
class _SeriesState:
    """What a series needs between points: the last point (for rates) and when it was updated."""
    last_time: float
    last_value: float
    touched: float  # the watermark when its last point was accepted
    pending: float = 0.0  # delta increments not yet turned into a rate


class SeriesStore:
    """Holds windows for the series some predictor watches, keyed by (metric, labels)."""

    def __init__(self, wanted, settings: StoreSettings | None = None):
        self.wanted = wanted  # callable(metric, labels_dict) -> bool
        self.settings = settings or StoreSettings()
        self.windows: dict[tuple, Window] = {}
        self._series: OrderedDict[tuple, _SeriesState] = OrderedDict()  # least recently updated first
        self._wanted_cache: dict[tuple, bool] = {}
        self._producer_cache: dict[tuple, tuple] = {}  # labels -> (job, instance), for the clock
        self._matching: dict = {}  # selector -> (generation when computed, [(key, window)])
        self._generation = 0  # changes whenever a series is added or evicted
        self.clock = EventClock(self.settings.max_skew, self.settings.max_series)
        self.bad = Counter()
        self.derived_dropped = Counter()  # the predictors' own points (add_derived) dropped, by reason
        self._unreadable_seen: set = set()  # exception types logged (once each)
        self.counter_resets = 0
        self.evicted = Counter()  # by reason: idle, max_series
        self.stream_time: dict = {}  # stream (the engine's signal) -> newest timestamp it brought, accepted
        self._evicted_keys: list[tuple] = []
        # Replicas: the Kafka partition ("topic/partition") each series' points came from, and
        # the partitions this replica owns (None: all). Only owned series are targets.
        self.origin: dict[tuple, str] = {}
        self.owned: set | None = None
        self._owned_generation = 0

    @property
    def watermark(self) -> float:
        """The stream's event time (clock.py); -inf before any point."""
        return self.clock.watermark

    @property
    def max_age(self) -> float:
        return self.settings.max_age

    def _is_wanted(self, key) -> bool:
        hit = self._wanted_cache.get(key)
        if hit is None:
            if len(self._wanted_cache) > 4 * self.settings.max_series:
                self._wanted_cache.clear()  # bound memory under label churn
            hit = self._wanted_cache[key] = bool(self.wanted(key[0], dict(key[1])))
        return hit

    def add_points(self, points: list[Point], stream: str | None = None, origin: str | None = None) -> int:
        """Add a batch of points; returns how many were accepted (the rest are counted by reason).

        Every producer's clock is read first, so a batch that moves the whole stream on
        (after an outage) is judged against where the stream is now. `stream` names where
        the points came from (a Kafka topic's signal), for `stream_time`; `origin` the Kafka
        partition, for `targets_matching`."""
        self._observe(points)
        return self._add_all(points, stream, origin)

    def _unreadable(self, exc: Exception):
        """A point the store could not take (a defect, not bad data): counted, never raised."""
        self.bad["unreadable_point"] += 1
        if type(exc) not in self._unreadable_seen:
            self._unreadable_seen.add(type(exc))
            log.warning("point refused (%s: %s)", type(exc).__name__, exc)

    def _observe(self, points: list[Point]):
        """Each producer's clock. A run of points of one producer at one time (a scrape) is one
        observation: the same call again would change nothing."""
        observe, producers = self.clock.observe, self._producer_cache
        last_producer = last_t = None
        for p in points:
            try:
                labels, t = p[1], p[2]
                producer = producers.get(labels)
                if producer is None:
                    if len(producers) > 4 * self.settings.max_series:
                        producers.clear()  # bound memory under label churn
                    producer = producers[labels] = producer_of(labels)
                if t == last_t and producer == last_producer:
                    continue
                observe(producer, t)
                last_producer, last_t = producer, t
            except Exception:  # noqa: BLE001 - an unreadable point: `_add_all` counts it
                continue

    def _add_all(self, points: list[Point], stream, origin) -> int:
        """The clock's verdict (future), the selectors' (wanted), then each series' window. A gauge
        or counter point newer than its series' last one is the common case, taken here; new
        series, deltas and late points go through `_store`."""
        clock, skew = self.clock, self.settings.max_skew
        clock.is_future(-math.inf)  # the watermark brought up to date if producers came or went
        touched = clock.last_watermark
        bound = touched + skew  # a point at or before this is not future: no need to ask the clock
        wanted_cache, series, windows, origins = self._wanted_cache, self._series, self.windows, self.origin
        accepted, newest = 0, self.stream_time.get(stream, -math.inf)
        for p in points:
            try:
                metric, labels, t, value, kind = p
                if t > bound:
                    future = clock.is_future(t)
                    touched = clock.last_watermark
                    bound = touched + skew
                    if future:
                        self.bad["future"] += 1
                        continue
                key = (metric, labels)
                state = series.get(key)  # a series held is wanted: one lookup fewer
                if state is not None or wanted_cache.get(key) or self._is_wanted(key):
                    if origin is not None and origins.get(key) != origin:
                        origins[key] = origin
                        self._owned_generation += 1
                    if state is None or kind == DELTA or t <= state.last_time:
                        if not self._store(key, state, p, touched, self.bad):
                            continue
                    else:
                        if kind == COUNTER:
                            increase = value - state.last_value
                            if increase < 0:  # the process restarted: the counter began again from zero
                                self.counter_resets += 1
                                increase = value
                            state.last_value, value = value, increase / (t - state.last_time)
                        else:
                            state.last_value = value
                        state.last_time = t
                        window = windows.get(key)
                        (window if window is not None else self._window(key)).append(t, value)
                        state.touched = touched
                        series.move_to_end(key)
            except Exception as exc:  # noqa: BLE001 - never raised out of the store
                self._unreadable(exc)
                continue
            accepted += 1
            if t > newest:
                newest = t
        if stream is not None and newest > -math.inf:
            self.stream_time[stream] = newest
        return accepted

    def add(self, p: Point) -> bool:
        """Add one point. Returns False when it was dropped (and counted why)."""
        return self.add_points([p]) == 1

    def add_derived(self, p: Point) -> bool:
        """Add a point the sidecar made itself (a predictor's output): no producer's clock. One
        dropped is counted in `derived_dropped`, not as bad input: it was never input."""
        if self.clock.is_future(p.timestamp):
            self.derived_dropped["future"] += 1
            return False
        key = (p.metric, p.labels)
        if not self._is_wanted(key):
            return True
        return self._store(key, self._series.get(key), p, self.clock.last_watermark, self.derived_dropped)

    def _store(self, key, state: _SeriesState | None, p: Point, touched: float, bad: Counter) -> bool:
        """A wanted point into its series; False when dropped (and counted why in `bad`)."""
        if state is None:
            if len(self._series) >= self.settings.max_series:  # make room: the stalest series goes
                self._evict(next(iter(self._series)), "max_series")
            # The first point of a counter or delta only sets the baseline for a rate.
            self._series[key] = _SeriesState(p.timestamp, 0.0 if p.kind == DELTA else p.value, touched)
            if p.kind not in (COUNTER, DELTA):
                self._window(key).append(p.timestamp, p.value)
            return True
        if p.kind == DELTA:
            # Increments add up whatever their order; a rate is emitted when time advances.
            state.pending += p.value
            if p.timestamp > state.last_time:
                self._window(key).append(p.timestamp, state.pending / (p.timestamp - state.last_time))
                state.last_time, state.pending = p.timestamp, 0.0
            self._touch(key, state, touched)
            return True
        if p.timestamp < state.last_time:
            bad["out_of_order"] += 1
            return False
        if p.timestamp == state.last_time:
            bad["duplicate"] += 1
            return False
        value = p.value
        if p.kind == COUNTER:
            increase = p.value - state.last_value
            if increase < 0:  # the process restarted: the counter began again from zero
                self.counter_resets += 1
                increase = p.value
            value = increase / (p.timestamp - state.last_time)
        state.last_time, state.last_value = p.timestamp, p.value
        self._window(key).append(p.timestamp, value)
        self._touch(key, state, touched)
        return True

    def _touch(self, key, state: _SeriesState, touched: float):
        state.touched = touched
        self._series.move_to_end(key)

    def _window(self, key) -> Window:
        window = self.windows.get(key)
        if window is None:
            s = self.settings
            window = self.windows[key] = Window(s.raw_span, s.bin_width, s.max_age, s.max_raw)
            self._generation += 1
        return window

    def _evict(self, key, reason: str):
        del self._series[key]
        self.origin.pop(key, None)
        if self.windows.pop(key, None) is not None:
            self._generation += 1
        self.evicted[reason] += 1
        self._evicted_keys.append(key)

    def last_accepted(self, key: tuple) -> float:
        """The watermark when the series' last point was accepted (-inf for a series not
        held): how long a series has been quiet is measured on the stream's clock, not its
        own timestamps, so a producer whose clock runs behind is not quiet while it sends."""
        state = self._series.get(key)
        return -math.inf if state is None else state.touched

    def sweep(self) -> list[tuple]:
        """Evict series idle past `series_ttl` of event time; returns every key evicted since
        the last sweep (here or to make room at `max_series`)."""
        watermark = self.clock.watermark
        stale = watermark - self.settings.series_ttl
        while self._series:
            key, state = next(iter(self._series.items()))
            if state.touched >= stale:
                break
            self._evict(key, "idle")
        self.clock.forget_idle(self.settings.series_ttl)
        evicted, self._evicted_keys = self._evicted_keys, []
        return evicted

    # -- what a restart keeps (foresight.lifecycle serialises these) --------------------
    def export_series(self) -> dict:
        """Per series, least recently updated first: its window and what its next point needs."""
        return {key: {"window": self.windows.get(key), "series": state} for key, state in self._series.items()}

    def import_series(self, key: tuple, state: dict) -> bool:
        """Take one series back (in the order `export_series` gave); False when no predictor wants it now."""
        window, series = state["window"], state["series"]
        if not (window is None or isinstance(window, Window)) or not isinstance(series, _SeriesState):
            raise ValueError(f"series {key[0]}: the state holds no window or series state")
        if not self._is_wanted(key):
            return False
        self._series[key] = series
        if window is not None:
            cfg = self.settings  # today's settings apply from the next point on
            window.raw_span, window.bin_width, window.max_age, window.max_raw = (
                cfg.raw_span, cfg.bin_width, cfg.max_age, cfg.max_raw)
            self.windows[key] = window
            self._generation += 1
        return True

    def import_clock(self, clock: EventClock):
        """Take the stream's event time back (`self.clock`, exported as it is)."""
        if not isinstance(clock, EventClock):
            raise ValueError("the store's clock state is not an event clock")
        clock.max_skew, clock.max_producers = self.settings.max_skew, self.settings.max_series  # today's settings
        self.clock = clock

    def own(self, partitions: set | None):
        """The partitions this replica owns (None: every series is its own)."""
        self.owned = None if partitions is None else set(partitions)
        self._owned_generation += 1

    def tag(self, key: tuple, partition: str):
        """Say which partition a series held here comes from (a handed-over series)."""
        if key in self._series:
            self.origin[key] = partition
            self._owned_generation += 1

    def drop(self, keys, reason: str = "handover") -> list[tuple]:
        """Evict these series now (their partitions went to another replica)."""
        gone = [key for key in keys if key in self._series]
        for key in gone:
            self._evict(key, reason)
        return gone

    def targets_matching(self, selector) -> list[tuple[tuple, Window]]:
        """`matching`, of the series this replica owns: those whose points came from its
        partitions. Limits and drivers read any series (`matching`)."""
        pairs = self.matching(selector)
        if self.owned is None:
            return pairs
        cached = self._matching.get(("owned", selector))
        stamp = (self._generation, self._owned_generation)
        if cached is None or cached[0] != stamp:
            owned, origin = self.owned, self.origin
            cached = self._matching[("owned", selector)] = (stamp, [(k, w) for k, w in pairs if origin.get(k) in owned])
        return cached[1]

    def matching(self, selector) -> list[tuple[tuple, Window]]:
        """(key, window) of every series the selector matches; cached until a series comes or goes."""
        cached = self._matching.get(selector)
        if cached is None or cached[0] != self._generation:
            pairs = [(key, w) for key, w in self.windows.items() if selector.matches(key[0], dict(key[1]))]
            cached = self._matching[selector] = (self._generation, pairs)
        return cached[1]


def same_target(target_labels: dict, candidates: list[tuple[tuple, Window]]) -> Window | None:
    """The candidate series of the target's own service (and instance, where both have one);
    a lone candidate when the driver is not per service (e.g. a shared database)."""
    best = None
    for key, window in candidates:
        labels = dict(key[1])
        if labels.get("job") != target_labels.get("job"):
            continue
        if "instance" in labels and "instance" in target_labels and labels["instance"] != target_labels["instance"]:
            continue
        best = window
        break
    if best is None and len(candidates) == 1:
        best = candidates[0][1]
    return best
