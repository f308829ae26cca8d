"""The short fuzz run (`make fuzz` sends a million): hostile OTLP through the real broker into
`foresight run`. Every message is accounted for, the sidecar keeps running, memory stays bounded."""
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench" / "fuzz"))

import fuzz  # noqa: E402

pytestmark = pytest.mark.integration


def test_hostile_messages_are_counted_and_the_sidecar_survives(tmp_path):
    r = fuzz.run(3000, seed=1, max_series=1000, max_rss_mb=1500, workdir=tmp_path, timeout=120)
    assert r["passed"], {name: ok for name, ok in r["checks"].items() if not ok}
    assert r["refused_by_producer"] == {"oversize": 1}  # over the broker's limit: refused at the producer
    bad = r["bad_input_total"]
    for reason in ("malformed_protobuf", "too_many_labels", "label_too_long", "timestamp_out_of_range",
                   "non_finite_value"):
        assert bad.get(reason, 0) > 0, reason
    assert r["series_evicted"]["max_series"] > 0 and r["series_tracked"] <= 1000  # the cardinality bombs, capped
    assert r["whole_message_drops"]["truncate"] > 0 and r["whole_message_drops"]["garbage"] > 0
