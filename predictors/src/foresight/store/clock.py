"""The stream's event time (the watermark), which no single producer's clock can drag forward.

A producer is one `job`/`instance` pair: one process, one clock. The watermark is the
second-newest timestamp among the live producers (the newest when only one is live), so one
producer with a clock an hour ahead is outvoted, while dead producers (pods gone) are left
behind rather than holding the stream back. A point more than `max_skew` ahead of the
watermark is future data: the store drops and counts it.

Liveness cannot be judged against the watermark itself (a dead producer could then hold it
still for ever), so it is judged against stream progress: each producer's clock advance,
capped at half the skew per step so one jump cannot count for much, and the furthest any
producer has advanced is the stream's progress. A producer is live while the stream has
progressed at most `max_skew` since its last point. With two producers the earlier one wins,
so a lone producer ahead can never move the watermark.
"""
import math
from collections import OrderedDict


def producer_of(labels: tuple) -> tuple[str, str]:
    """The (job, instance) that sent a point, from its sorted label pairs."""
    job = instance = ""
    for name, value in labels:
        if name == "job":
            job = value
        elif name == "instance":
            instance = value
    return job, instance


class EventClock:
    """Per-producer newest timestamps and the watermark derived from them."""

    def __init__(self, max_skew: float, max_producers: int):
        self.max_skew, self.max_producers = max_skew, max_producers
        # producer -> [newest timestamp, own progress, stream progress at its last point];
        # kept in order of arrival, so idle producers are at the front
        self._producers: OrderedDict = OrderedDict()
        self._progress = 0.0
        self._watermark = -math.inf
        self._dirty = False  # producers moved on since the watermark was computed: it may be low
        self._changed = False  # producers came or went: it may be high too

    def observe(self, producer: tuple, t: float):
        entry = self._producers.get(producer)
        if entry is None:
            if len(self._producers) >= self.max_producers:
                self._producers.popitem(last=False)
            # A new producer starts level with the stream, so it can carry progress at once.
            self._producers[producer] = [t, self._progress, self._progress]
            self._changed = True
        else:
            self._producers.move_to_end(producer)
            if t > entry[0]:
                entry[1] += min(t - entry[0], self.max_skew / 2)
                entry[0] = t
                if entry[1] > self._progress:
                    self._progress = entry[1]
            entry[2] = self._progress
        self._dirty = True

    @property
    def watermark(self) -> float:
        if self._dirty:
            self._recompute()
        return self._watermark

    @property
    def last_watermark(self) -> float:
        """The watermark as last computed (no recomputation: for per-point bookkeeping)."""
        return self._watermark

    def _recompute(self):
        newest = second = -math.inf
        live = 0
        for t, _, seen_at in self._producers.values():
            if self._progress - seen_at > self.max_skew:
                continue
            live += 1
            if t > newest:
                newest, second = t, newest
            elif t > second:
                second = t
        self._watermark = newest if live <= 1 else second
        self._dirty = self._changed = False

    def is_future(self, t: float) -> bool:
        """True for a point more than `max_skew` ahead of the watermark."""
        if self._changed:
            self._recompute()
        if t <= self._watermark + self.max_skew:  # a watermark that is only low can say no
            return False
        if self._dirty:
            self._recompute()
        return t > self._watermark + self.max_skew > -math.inf  # nothing to be ahead of: not future

    def forget_idle(self, idle_after: float):
        """Drop producers silent while the stream progressed more than `idle_after`."""
        dropped = False
        while self._producers:
            producer, entry = next(iter(self._producers.items()))
            if self._progress - entry[2] <= idle_after:
                break
            del self._producers[producer]
            dropped = True
        if dropped:
            self._dirty = self._changed = True

    def __len__(self):
        return len(self._producers)
