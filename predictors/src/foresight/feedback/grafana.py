"""The Grafana annotations endpoints Foresight uses, through grafana-client.

Only POST /api/annotations and GET /api/annotations. Errors become two kinds: worth a
retry (Grafana down, timeouts, 5xx, auth) and not (Grafana rejected the request).
"""
from urllib.parse import urlparse

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaUnauthorizedError

from .settings import FeedbackSettings


class GrafanaUnavailable(Exception):
    """Grafana could not be reached or failed; try again later."""


class GrafanaRejected(Exception):
    """Grafana refused the request as invalid; retrying will not help."""


def connect(settings: FeedbackSettings) -> GrafanaApi:
    """A GrafanaApi with bearer-token auth and the optional org header."""
    url = urlparse(settings.grafana_url)
    prefix = url.path.strip("/")
    return GrafanaApi(
        auth=settings.read_token(), protocol=url.scheme, host=url.hostname, port=url.port,
        url_path_prefix=f"{prefix}/" if prefix else "", timeout=settings.timeout,
        organization_id=settings.org_id)


class AnnotationClient:
    def __init__(self, api: GrafanaApi, dashboard_uid: str | None = None):
        self.api, self.dashboard_uid = api, dashboard_uid

    def add(self, time_ms: int, tags: list, text: str) -> int:
        response = self._call(self.api.annotations.add_annotation, dashboard_uid=self.dashboard_uid,
                              time_from=time_ms, tags=tags, text=text)
        if not isinstance(response, dict) or not isinstance(response.get("id"), int):
            raise GrafanaRejected(f"unexpected answer to POST /api/annotations: {response!r:.200}")
        return response["id"]

    def find(self, tags: list, from_ms: int, to_ms: int, limit: int) -> list[dict]:
        response = self._call(self.api.annotations.find_annotations, time_from=from_ms, time_to=to_ms,
                              tags=tags, limit=limit, ann_type="annotation")
        if not isinstance(response, list):
            raise GrafanaUnavailable(f"unexpected answer to GET /api/annotations: {response!r:.200}")
        return [a for a in response if isinstance(a, dict)]

    @staticmethod
    def _call(method, **kwargs):
        try:
            return method(**kwargs)
        except GrafanaUnauthorizedError as exc:
            raise GrafanaUnavailable(f"Grafana refused the token (401): {exc.message}") from None
        except GrafanaClientError as exc:
            if exc.status_code in (403, 404, 408, 429):  # permissions, proxies and rate limits change
                raise GrafanaUnavailable(f"HTTP {exc.status_code}: {exc.message}") from None
            raise GrafanaRejected(f"HTTP {exc.status_code}: {exc.message}") from None
        except GrafanaException as exc:
            raise GrafanaUnavailable(str(exc.message)) from None
        except (OSError, ValueError) as exc:  # niquests' connection errors are OSErrors; bad JSON bodies
            raise GrafanaUnavailable(f"{type(exc).__name__}: {exc}") from None
