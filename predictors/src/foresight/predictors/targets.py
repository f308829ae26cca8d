"""Which series a predictor predicts: each one's target identity, and at most `max_targets`.

A target is its source series' labels minus the predictor's `drop_labels`
(contracts.predictions.output_labels). Series that differ only in dropped labels are one
target. Beyond `max_targets` a new target gets no prediction and is counted; a target
whose data stopped `release_after` seconds of event time ago gives its slot up, so
churning series (pods, containers) do not fill the slots for good.
"""
import logging

from foresight.contracts.predictions import output_labels

log = logging.getLogger(__name__)

RELEASE_AFTER = 3600.0  # as long as the publisher keeps a prediction that is not renewed


class TargetIndex:
    def __init__(self, predictor: str, drop_labels=(), max_targets: int = 10_000,
                 release_after: float = RELEASE_AFTER):
        self.predictor = predictor
        self.drop = tuple(sorted(drop_labels))
        self.max_targets = max_targets
        self.release_after = release_after
        self.dropped = 0  # series refused a slot, each counted when first refused
        self._key_of: dict[tuple, tuple] = {}  # series key -> prediction key, for admitted series
        self._refused: dict[tuple, tuple] = {}  # series key -> prediction key, for refused series
        self._last_data: dict[tuple, float] = {}  # admitted prediction key -> event time of its newest data
        self._swept_at = float("-inf")

    def __len__(self) -> int:
        return len(self._last_data)

    def identity(self, series_labels: dict) -> tuple:
        """The prediction key (predictor, sorted label items) of a series."""
        return (self.predictor, tuple(sorted(output_labels(series_labels, self.drop).items())))

    def admit(self, series_key: tuple, data_time: float) -> tuple | None:
        """The series' prediction key, or None when its target is beyond max_targets."""
        key = self._key_of.get(series_key)
        if key is None:
            key = self._refused.get(series_key) or self.identity(dict(series_key[1]))
            if key not in self._last_data and len(self._last_data) >= self.max_targets:
                self._release(data_time)
                if len(self._last_data) >= self.max_targets:
                    if series_key not in self._refused:
                        self._refused[series_key] = key
                        self.dropped += 1
                        if self.dropped == 1:
                            log.warning("predictor %s: more than max_targets=%d targets; the others get no "
                                        "prediction (counted in foresight_targets_dropped_total)",
                                        self.predictor, self.max_targets)
                    return None
            self._refused.pop(series_key, None)
            self._key_of[series_key] = key
        self._last_data[key] = max(data_time, self._last_data.get(key, data_time))
        return key

    def forget(self, series_keys: set):
        """Series the store evicted: a target left without any gives its slot up."""
        for key in series_keys:
            self._key_of.pop(key, None)
            self._refused.pop(key, None)
        held = set(self._key_of.values())
        for key in [k for k in self._last_data if k not in held]:
            del self._last_data[key]

    def _release(self, now: float):
        """Give up the slots of targets without data for `release_after`; at most once per
        `release_after / 60` of event time, so a full index is not swept at every series."""
        if now < self._swept_at + self.release_after / 60:
            return
        self._swept_at = now
        gone = {key for key, last in self._last_data.items() if last < now - self.release_after}
        if gone:
            for key in gone:
                del self._last_data[key]
            self._key_of = {series: key for series, key in self._key_of.items() if key not in gone}


__all__ = ["RELEASE_AFTER", "TargetIndex"]
