"""Which limit series is each target's: on the labels both share, unless limit_match_on says."""
from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.runtime.engine import Engine

T0 = 1_767_225_600
GIB = 2 ** 30


def labels(mountpoint: str, job: str = "node") -> tuple:
    return tuple(sorted({"job": job, "instance": "host-1:9100", "device": f"/dev/{mountpoint[1:] or 'root'}",
                         "fstype": "ext4", "mountpoint": mountpoint}.items()))


def run(config: str, size_job: str = "node") -> dict:
    engine = Engine(parse_config(config))
    sizes = {"/": 50 * GIB, "/data": 500 * GIB}
    for i in range(120):
        t = T0 + 60 * i
        points = []
        for mountpoint, size in sizes.items():
            used = 0.5 * size + (0.001 * size * i if mountpoint == "/data" else 0)
            points += [Point("node_filesystem_used_bytes", labels(mountpoint), t, used, GAUGE),
                       Point("node_filesystem_size_bytes", labels(mountpoint, size_job), t, size, GAUGE)]
        engine.add_points("metrics", points)
        engine.evaluate()
    return _limits(engine)


def _limits(engine) -> dict:
    predictor = engine.predictors[0]
    found = {}
    for key, window in engine.store.matching(predictor.config.series):
        found[dict(key[1])["mountpoint"]] = predictor.limit_for(dict(key[1]), engine.store)
    return found


CONFIG = """
predictors:
  - name: disk
    kind: exhaustion
    series: node_filesystem_used_bytes
    limit_series: node_filesystem_size_bytes
"""


def test_each_mountpoint_gets_its_own_size_without_configuration():
    assert run(CONFIG) == {"/": 50 * GIB, "/data": 500 * GIB}


def test_series_of_another_exporter_need_limit_match_on():
    # kube-state-metrics and cAdvisor style: the limit comes from another job, so job differs.
    assert run(CONFIG, size_job="other") == {"/": None, "/data": None}
    assert run(CONFIG + "    limit_match_on: [instance, mountpoint]\n", size_job="other") == \
        {"/": 50 * GIB, "/data": 500 * GIB}
