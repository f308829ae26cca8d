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


MEMORY_CONFIG = """
predictors:
  - name: memory
    kind: exhaustion
    series: used_bytes
    limit_series: limit_bytes
"""


def test_a_limit_at_or_below_zero_is_no_limit_for_a_resource_that_fills_up():
    """cAdvisor's container_spec_memory_limit_bytes is 0 for a container without a limit, and
    JMX and Micrometer write an undefined maximum as -1: those targets have no limit, so no
    prediction (before, they were "past their limit": failure probability 1, a page). A real
    limit beside them still gives its prediction, and one set later takes effect."""
    engine = Engine(parse_config(MEMORY_CONFIG))
    limits = {"unlimited-cadvisor": 0.0, "undefined-jmx": -1.0, "limited": 4 * GIB, "set-later": 0.0}
    seen = {}
    for i in range(180):
        t = T0 + 60 * i
        if i == 120:
            limits["set-later"] = 4 * GIB
        points = []
        for pod, limit in limits.items():
            key = (("pod", pod),)
            points += [Point("used_bytes", key, t, GIB * (1.0 + 0.001 * i), GAUGE),
                       Point("limit_bytes", key, t, limit, GAUGE)]
        engine.add_points("metrics", points)
        for prediction in engine.evaluate():
            seen.setdefault(prediction.labels["pod"], []).append(prediction)
        if i == 119:
            assert set(seen) == {"limited"}, set(seen)
            assert all(p.probability[3600.0] < 0.5 for p in seen["limited"])
    assert set(seen) == {"limited", "set-later"}
    assert seen["set-later"][-1].limit == 4 * GIB


def test_limit_value_reads_no_limit_only_for_a_resource_that_fills_up():
    from foresight.predictors.exhaustion.limits import limit_value

    class Window:
        def __init__(self, value):
            self.last_value = value

    assert limit_value(None, 1.0) is None
    assert limit_value(Window(0.0), 1.0) is None and limit_value(Window(-1.0), 1.0) is None
    assert limit_value(Window(float("nan")), 1.0) is None and limit_value(Window(float("nan")), -1.0) is None
    assert limit_value(Window(2.0), 1.0) == 2.0
    assert limit_value(Window(0.0), -1.0) == 0.0  # free space draining to a limit series of 0 is a limit
