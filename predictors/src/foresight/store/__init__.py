"""The series store: a bounded window of recent points per watched series, on event time."""
from .series_store import SeriesStore, same_target
from .window import Window

__all__ = ["SeriesStore", "Window", "same_target"]
