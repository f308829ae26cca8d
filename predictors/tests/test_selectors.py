"""Series selectors: parsing, the errors a user can act on, and labels written as PromQL."""
import pytest

from foresight.config import ConfigError, parse_config
from foresight.contracts.selectors import format_labels, parse_selector, sanitize_name
from foresight.sources.otlp import prometheus_name


@pytest.mark.parametrize("text, suggestion", [
    ("node-3_system.memory.used.pct", "'node_3_system_memory_used_pct'"),
    ('system.memory.usage{job="checkout"}', "'system_memory_usage{job=\"checkout\"}'"),
    ("3xx.count", "'_3xx_count'"),
])
def test_an_invalid_metric_name_gets_the_prometheus_name(text, suggestion):
    with pytest.raises(ValueError) as err:
        parse_selector(text)
    message = str(err.value)
    assert "is not a Prometheus metric name" in message and f"use {suggestion}" in message
    assert "after the metric name" not in message
    parse_selector(eval(suggestion))  # the suggestion itself parses


def test_the_suggestion_is_the_name_otlp_metrics_get():
    # The same function names OTLP metrics, so the suggested selector matches them.
    assert sanitize_name("node-3_system.memory.used.pct") == prometheus_name("node-3_system.memory.used.pct")


def test_a_promql_expression_is_not_a_selector():
    with pytest.raises(ValueError, match="is a PromQL expression; give a series selector"):
        parse_selector("rate(http_requests_total[5m])")


def test_other_selector_errors_are_unchanged():
    with pytest.raises(ValueError, match="expected '{label=\"value\", ...}' after the metric name"):
        parse_selector('used{job="a"')
    with pytest.raises(ValueError, match="cannot read the label matcher"):
        parse_selector("used{job=a}")


def test_the_config_error_names_file_field_and_suggestion():
    with pytest.raises(ConfigError) as err:
        parse_config("predictors:\n  - name: m\n    kind: exhaustion\n    series: node-3_system.memory.used.pct\n"
                     "    limit: 100\n", "p.yaml")
    assert str(err.value).startswith("p.yaml: predictors[0].series: ")
    assert "use 'node_3_system_memory_used_pct'" in str(err.value)


def test_format_labels_sorts_and_quotes_like_promql():
    assert format_labels({"mountpoint": "/data", "job": "node"}) == '{job="node",mountpoint="/data"}'
    assert format_labels({"a": 'say "hi"\\now\n'}) == '{a="say \\"hi\\"\\\\now\\n"}'
    assert format_labels({}) == "{}"
