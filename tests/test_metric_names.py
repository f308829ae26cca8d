"""One list of foresight_* metric names (foresight.contracts.metric_names): every name the
alert rules, the dashboards, the Alertmanager templates and the docs query is one the
sidecar publishes."""
import re

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from stack_helpers import REPO

from foresight.config import parse_config
from foresight.contracts.metric_names import exposed_names
from foresight.publish.metrics import HealthMetrics, PredictionCollector

NAME = re.compile(r"\bforesight_[a-z_]+[a-z]\b")
# Words of the form foresight_* that are not metric names: template names, tags, files, the
# alert label foresight_target.
NOT_METRICS = {"foresight_dashboard", "foresight_dev", "foresight_target"}
QUERYING = sorted([*(REPO / "prometheus" / "rules").glob("*.yml"), *(REPO / "grafana" / "dashboards").glob("*.json"),
                   *(REPO / "alertmanager").rglob("*.tmpl"), REPO / "docs" / "metrics.md", REPO / "docs" / "alerting.md",
                   REPO / "README.md"])


@pytest.mark.parametrize("path", QUERYING, ids=lambda p: str(p.relative_to(REPO)))
def test_every_metric_name_queried_is_published(path):
    mentioned = set(NAME.findall(path.read_text())) - NOT_METRICS
    assert mentioned - exposed_names() == set()


def test_the_check_sees_a_misspelt_name():
    assert "foresight_time_to_failure" not in exposed_names()
    assert {"foresight_time_to_failure_seconds", "foresight_bad_input_total"} <= exposed_names()


def test_the_publisher_uses_exactly_these_names():
    registry = CollectorRegistry()
    HealthMetrics(registry)
    registry.register(PredictionCollector(parse_config(
        "predictors:\n  - name: m\n    kind: exhaustion\n    series: used\n    limit: 1\n").predictors))
    published = {s.name for fam in text_string_to_metric_families(generate_latest(registry).decode()) for s in fam.samples}
    assert published and published <= exposed_names()
