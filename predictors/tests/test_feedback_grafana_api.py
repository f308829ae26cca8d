"""The fake Grafana behaves as the documented annotations API, seen through grafana-client."""
import pytest
from fake_grafana import FakeGrafana
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaUnauthorizedError

from foresight.feedback.grafana import AnnotationClient, GrafanaRejected, GrafanaUnavailable

TOKEN = "t0ken"


@pytest.fixture
def grafana():
    with FakeGrafana({TOKEN: "alice"}) as server:
        yield server


@pytest.fixture
def api(grafana):
    return GrafanaApi.from_url(grafana.url, credential=TOKEN)


def test_find_filters_by_all_tags_time_type_and_limit(api):
    for t, tags in ((1000, ["a"]), (2000, ["a", "b"]), (3000, ["a", "b", "c"]), (9000, ["a", "b"])):
        api.annotations.add_annotation(time_from=t, tags=tags, text=f"at {t}")
    found = api.annotations.find_annotations(tags=["a", "b"], time_from=1500, time_to=5000)
    assert [a["time"] for a in found] == [3000, 2000]  # newest first; 9000 is outside the range
    assert [a["time"] for a in api.annotations.find_annotations(tags=["a"], limit=2)] == [9000, 3000]
    assert api.annotations.find_annotations(ann_type="alert") == []
    assert len(api.annotations.find_annotations(ann_type="annotation")) == 4


def test_update_patch_and_delete(api, grafana):
    created = api.annotations.add_annotation(time_from=1000, tags=["a"], text="first")
    assert created["message"] == "Annotation added"
    annotation_id = created["id"]
    api.annotations.partial_update_annotation(annotation_id, tags=["a", "foresight:dismissed"])
    assert grafana.annotations[annotation_id]["tags"] == ["a", "foresight:dismissed"]
    assert grafana.annotations[annotation_id]["text"] == "first"  # PATCH keeps what it was not given
    api.annotations.update_annotation(annotation_id, time_from=2000, tags=["b"], text="second")
    assert (grafana.annotations[annotation_id]["time"], grafana.annotations[annotation_id]["text"]) == (2000, "second")
    api.annotations.delete_annotations_by_id(annotation_id)
    with pytest.raises(GrafanaClientError) as missing:
        api.annotations.delete_annotations_by_id(annotation_id)
    assert missing.value.status_code == 404


def test_a_token_is_required(grafana):
    with pytest.raises(GrafanaUnauthorizedError):
        GrafanaApi.from_url(grafana.url, credential="wrong").annotations.find_annotations(tags=["a"])
    assert grafana.annotations == {}


def test_the_annotation_client_sends_only_the_documented_requests(api, grafana):
    client = AnnotationClient(api)
    annotation_id = client.add(1_000, ["foresight", "x"], "text")
    assert client.find(["foresight", "foresight:dismissed"], 0 + 1, 5_000, 50) == []
    assert [a["id"] for a in client.find(["foresight"], 1, 5_000, 50)] == [annotation_id]
    assert grafana.requests[0] == ("POST", "/api/annotations")
    method, path = grafana.requests[1]
    assert (method, path) == ("GET", "/api/annotations?from=1&to=5000&type=annotation&tags=foresight"
                                     "&tags=foresight:dismissed&limit=50")


def test_the_annotation_client_sorts_errors_into_retry_or_give_up(api, grafana):
    client = AnnotationClient(api)
    with pytest.raises(GrafanaRejected):
        client.add(1_000, ["foresight"], "")  # Grafana refuses an annotation without text
    grafana.fail_with = 500
    with pytest.raises(GrafanaUnavailable):
        client.add(1_000, ["foresight"], "text")


def test_connect_builds_the_api_url_token_and_org_header(monkeypatch, grafana):
    from foresight.feedback.grafana import connect
    from foresight.feedback.settings import FeedbackSettings
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    settings = FeedbackSettings.from_mapping({"grafana_url": "https://grafana.example:8443/grafana",
                                              "state_path": "s.json", "org_id": 3})
    api = connect(settings)
    assert api.client.url == "https://grafana.example:8443/grafana/api"
    assert api.client.s.headers["X-Grafana-Org-Id"] == "3"
    local = connect(FeedbackSettings.from_mapping({"grafana_url": grafana.url, "state_path": "s.json"}))
    assert AnnotationClient(local).find(["foresight"], 1, 2, 10) == []  # the token from GRAFANA_TOKEN works
