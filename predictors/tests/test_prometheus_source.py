"""Reading Prometheus history: the chunks of a long range, and the kind of each series."""
import pytest

from foresight.contracts.points import COUNTER, GAUGE
from foresight.sources.prometheus import MAX_POINTS_PER_QUERY, chunks, point_kind


def grid_of(pieces, step):
    """Every step time the chunks cover, in order (query_range includes both ends)."""
    times = []
    for start, end in pieces:
        assert (end - start) / step <= MAX_POINTS_PER_QUERY  # what Prometheus accepts
        times += [start + i * step for i in range(round((end - start) / step) + 1)]
    return times


@pytest.mark.parametrize("span_steps, max_points, expected_chunks", [
    (0, 11000, 1), (10999, 11000, 1), (11000, 11000, 2), (25000, 11000, 3), (9, 3, 4),
])
def test_chunks_cover_every_step_once(span_steps, max_points, expected_chunks):
    start, step = 1_767_225_600.0, 60.0
    pieces = chunks(start, start + span_steps * step, step, max_points)
    assert len(pieces) == expected_chunks
    assert all(round((end - begin) / step) + 1 <= max_points for begin, end in pieces)
    assert grid_of(pieces, step) == [start + i * step for i in range(span_steps + 1)]


def test_an_end_between_steps_stops_at_the_last_whole_step():
    assert chunks(0.0, 150.0, 60.0) == [(0.0, 120.0)]


def test_chunks_refuse_a_bad_range():
    with pytest.raises(ValueError):
        chunks(10.0, 0.0, 60.0)
    with pytest.raises(ValueError):
        chunks(0.0, 10.0, 0.0)


@pytest.mark.parametrize("metric, kind", [
    ("node_disk_written_bytes_total", COUNTER), ("http_server_request_duration_seconds_count", COUNTER),
    ("http_server_request_duration_seconds_sum", COUNTER), ("http_server_request_duration_seconds_bucket", COUNTER),
    ("node_filesystem_avail_bytes", GAUGE), ("process_memory_usage_bytes", GAUGE),
])
def test_counters_are_known_by_their_names(metric, kind):
    assert point_kind(metric) == kind
