"""The one serialised form of Foresight state: round trips, and documents that must not load."""
import json
import math
import random
from collections import Counter, OrderedDict, deque

import numpy as np
import pytest

from foresight.lifecycle import FORMAT, VERSION, StateError, dumps, encode, loads
from foresight.predictors.anomaly.multivariate import MultivariateDetector
from foresight.predictors.anomaly.settings import MultivariateSettings
from foresight.predictors.anomaly.univariate import StreamingDetector
from foresight.predictors.exhaustion.calibration import GrowthCalibration
from foresight.predictors.logs.miner import TemplateMiner


def round_trip(value, kind="test"):
    return loads(dumps(encode(value), kind), kind)


def document(root, kind="test") -> str:
    return json.dumps({"format": FORMAT, "version": VERSION, "kind": kind, "root": root})


def test_plain_containers_survive_with_their_types():
    shared = [1, 2]
    value = {("svc", 1): [shared, shared], "inf": math.inf, "-inf": -math.inf, "counts": Counter(a=2),
             "order": OrderedDict(b=1, a=2), "set": {1, 2}, "frozen": frozenset({(1, 2)}), "bytes": b"\x00\xff",
             "ints": np.arange(6, dtype=np.int64).reshape(2, 3), "floats": np.array([0.5, math.nan]),
             "ring": deque([1.5, 2.5], maxlen=3), "numpy scalar": np.float64(0.25), "flag": np.bool_(True)}
    back = round_trip(value)
    assert back[("svc", 1)][0] is back[("svc", 1)][1]  # shared stays shared
    assert back["inf"] == math.inf and back["-inf"] == -math.inf
    assert type(back["counts"]) is Counter and type(back["order"]) is OrderedDict and list(back["order"]) == ["b", "a"]
    assert back["set"] == {1, 2} and back["frozen"] == frozenset({(1, 2)}) and back["bytes"] == b"\x00\xff"
    assert back["ints"].dtype == np.int64 and back["ints"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert back["floats"][0] == 0.5 and math.isnan(back["floats"][1])
    assert back["ring"].maxlen == 3 and list(back["ring"]) == [1.5, 2.5]
    assert back["numpy scalar"] == 0.25 and back["flag"] is True
    back["ints"][0, 0] = 9  # arrays come back writable


def test_a_streaming_detector_continues_exactly_where_it_stopped():
    rng = random.Random(1)
    values = [math.sin(i / 20) + rng.gauss(0, 0.1) + (3 if i == 900 else 0) for i in range(1000)]
    original = StreamingDetector()
    for i, v in enumerate(values[:700]):
        original.update(60.0 * i, v)
    copy = round_trip(original)
    scores = []
    for i, v in enumerate(values[700:], start=700):
        scores.append(original.update(60.0 * i, v))
        assert copy.update(60.0 * i, v) == scores[-1]
    # The spike was scored, by both: it reaches the alarm level (one extreme row alone goes
    # no further: the range check's two-part tail needs more evidence to reach alerting levels).
    spike = scores.index(max(scores)) + 700
    assert 900 <= spike <= 903 and max(scores) >= original.settings.alarm_level


def test_a_growth_calibration_keeps_its_record():
    record = GrowthCalibration(check_after=7200.0)
    for i in range(30):
        record.remember(60.0 * i, 10.0 + i, 1.0)
    record.observe(60.0 * 200, 300.0, -math.inf, 0.1)
    copy = round_trip(record)
    assert copy.ready() == record.ready() and copy.quantile(0.5) == record.quantile(0.5)
    assert copy.multipliers.maxlen == 150


def test_the_log_miner_keeps_its_templates_and_ids():
    lines = [f"GET /orders/{i} took {i % 50}ms from 10.0.0.{i % 9}" for i in range(50)]
    lines += ["db timeout after 30s", "user 42 logged in", "user 43 logged in", "cache miss for key abc"]
    original = TemplateMiner(max_templates=3)  # small, so the least recently used order matters
    for line in lines:
        original.template_id(line)
    copy = round_trip(original)
    later = ["user 44 logged in", "disk full on /var", "GET /orders/7 took 3ms from 10.0.0.1", "db timeout after 5s",
             "new thing happened", "user 45 logged in"]
    assert [copy.template_id(x) for x in later] == [original.template_id(x) for x in later]
    assert {i: copy.template(i) for i in copy.drain.id_to_cluster} == \
        {i: original.template(i) for i in original.drain.id_to_cluster}


def test_the_multivariate_model_is_refitted_not_stored():
    settings = MultivariateSettings(window=600.0, step=60.0, history=86400.0, min_history=3600.0, refit_every=3600.0,
                                    first_fit_spread=0.0, min_vectors=32, trees=20, explain_above=1.0)
    rng = random.Random(2)
    original = MultivariateDetector(["latency", "rate"], settings, group="g")
    samples = [(60.0 * i, {"latency": 0.2 + rng.gauss(0, 0.01), "rate": 100 + rng.gauss(0, 5)}) for i in range(300)]
    for t, values in samples[:200]:
        original.update(t, values)
    assert original.fitted
    text = dumps(encode(original), "test")
    assert "IsolationForest" not in text and "sklearn" not in text
    copy = loads(text, "test")
    assert copy.fitted and copy.fitted_at == original.fitted_at
    for t, values in samples[200:260]:  # the history still holds every vector of the last fit: the same forest
        a, b = original.update(t, dict(values)), copy.update(t, dict(values))
        assert (a is None) == (b is None)
        if a is not None:
            assert b.score == pytest.approx(a.score, abs=1e-12)


@pytest.mark.parametrize("root,message", [
    ({"$": "object", "class": "os:system", "attrs": {}}, "not a Foresight class"),
    ({"$": "object", "class": "builtins:eval", "attrs": {}}, "not a Foresight class"),
    ({"$": "object", "class": "foresight.predictors.logs.miner:Drain", "attrs": {}}, "not a class defined in"),
    ({"$": "object", "class": "foresight.predictors.logs.miner:mask", "attrs": {}}, "not a class defined in"),
    ({"$": "object", "class": "foresight.nowhere:Thing", "attrs": {}}, "no class"),
    ({"py/object": "os.system"}, "not a typed node"),
    ({"$": "reduce", "args": ["rm -rf /"]}, "unknown node type"),
    ({"$": "ndarray", "dtype": "|O", "shape": [1], "data": "AAAAAAAAAAA="}, "not state"),
    ({"$": "ndarray", "dtype": "<f8", "shape": [3], "data": "AAAAAAAAAAA="}, "do not fill"),
    ({"$": "bytes", "data": "not base64!"}, "not base64"),
    ({"$": "ref", "n": 7}, "unknown container"),
    ({"$": "object", "class": "foresight.predictors.exhaustion.calibration:GrowthCalibration",
      "attrs": {"check_after": "rm -rf /"}}, "root.check_after: expected"),
    ({"$": "object", "class": "foresight.predictors.exhaustion.calibration:GrowthCalibration",
      "attrs": {"check_after": 1.0, "__class__": "x"}}, "bad attribute name"),
    ({"$": "object", "class": "foresight.predictors.exhaustion.calibration:GrowthCalibration",
      "attrs": {"check_after": 1.0, "surprise": 1}}, "has no field 'surprise'"),
    ({"$": "dict", "items": [[[1], 2]]}, "cannot be a set member or dict key"),
])
def test_a_tampered_document_fails_with_a_clear_error(root, message):
    with pytest.raises(StateError, match=message):
        loads(document(root), "test")


@pytest.mark.parametrize("text,message", [
    ("not json", "not a JSON document"),
    (json.dumps({"py/object": "foresight.x"}), "not a Foresight state document"),
    (json.dumps({"format": FORMAT, "version": VERSION + 1, "kind": "test", "root": None}), "state version"),
    (document(None, kind="series"), "a 'series' document where 'test' was expected"),
])
def test_a_foreign_document_fails_with_a_clear_error(text, message):
    with pytest.raises(StateError, match=message):
        loads(text, "test")


def test_a_field_added_since_the_document_takes_its_default():
    root = {"$": "object", "class": "foresight.predictors.exhaustion.calibration:GrowthCalibration",
            "attrs": {"check_after": 60.0}}
    record = loads(document(root), "test")
    assert record.min_samples == 20 and len(record.multipliers) == 0 and record.multipliers.maxlen == 150


def test_what_is_not_state_is_refused_when_written():
    with pytest.raises(StateError, match=r"root\.f: .*not a Foresight class"):
        encode({"f": random.Random()})
    with pytest.raises(StateError, match="dtype object"):
        encode(np.array([object()]))


def test_every_configured_kind_exports_state_that_loads(tmp_path):
    """The whole engine's rows, through documents and back."""
    from state_helpers import CONFIG, scenario

    from foresight.runtime.engine import Engine

    engine = Engine(CONFIG)
    for batch in scenario(90):
        for signal, payload in batch:
            engine.ingest(signal, payload)
        engine.evaluate()
    rows = engine.export_state()
    assert {r[0] for r in rows} == {"store", "series", "config", "shared", "target", "policy", "incidents"}
    copy = Engine(CONFIG)
    report = copy.import_state([(s, n, round_trip(k), round_trip(v, s)) for s, n, k, v in rows])
    assert report.skipped == {} and report.rows == len(rows)
    assert copy.store.watermark == engine.store.watermark
