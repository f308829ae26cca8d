"""The series store: per watched series, recent points raw and older ones as bin means, on
event time, with a watermark no single producer's clock can drag forward."""
from .clock import EventClock, producer_of
from .series_store import SeriesStore, StoreSettings, same_target
from .window import Window, bin_starts, means_per_bin

__all__ = ["EventClock", "SeriesStore", "StoreSettings", "Window", "bin_starts", "means_per_bin", "producer_of", "same_target"]
