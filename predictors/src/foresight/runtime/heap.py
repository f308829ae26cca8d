"""Python's cyclic garbage collector, set for a process that holds many targets' state.

With CPython's default thresholds (700, 10, 10), a sidecar evaluating 10,000 targets ran a
full collection about once per loop: each loop's predictions replace the last loop's, and
that many new long-lived objects trigger one. A full collection walks every tracked object
(about 300,000 there) and took 0.2 s, a fifth of the loop. Reference counting frees those
predictions anyway; the collector is only needed for reference cycles, which the data path
rarely makes. So the youngest generation is collected every 50,000 allocations instead of
700, and the state built at start-up (history, warm-up, a restored checkpoint) is frozen:
later full collections skip it.

What this costs: garbage in reference cycles waits longer (at most 50,000 allocations in the
youngest generation), and cycles among the objects frozen at start-up are never collected.

The collector also waits while a loop's predictions are made and published
(`collector_paused`): each young collection walks the predictions made so far, which is a
tenth of the time to the predictions at 10,000 targets. The walk happens after publication,
with the scheduled refits, at the first allocation once it is enabled again.
"""
import gc
from contextlib import contextmanager

THRESHOLDS = (50_000, 20, 10)  # allocations before a young collection; young, then middle collections before the next


def tune_collector():
    """Set the collector's thresholds for a long-running loop (`foresight run`, `backtest`, `train`)."""
    gc.set_threshold(*THRESHOLDS)


def freeze_startup_state():
    """Collect once, then move every object alive now out of the collector's sight: the
    windows, models and policies built at start stay for the life of the process."""
    gc.collect()
    gc.freeze()


@contextmanager
def collector_paused():
    """No cyclic collection inside the block (reference counting still frees what it can);
    the collector's state before the block is restored after it, also on an exception."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


__all__ = ["THRESHOLDS", "collector_paused", "freeze_startup_state", "tune_collector"]
