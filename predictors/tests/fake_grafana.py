"""A local HTTP server implementing Grafana's documented annotations endpoints.

Grafana cannot run on this machine, so the feedback loop is tested against this server,
which follows https://grafana.com/docs/grafana/latest/developers/http_api/annotations/:

  POST   /api/annotations          create; answers {"message": "Annotation added", "id": N}
  GET    /api/annotations          find; filters from, to (epoch ms, overlap), tags (repeatable,
                                   all must match unless matchAny=true), type (annotation|alert),
                                   limit (default 100), dashboardUID, panelId; newest first
  PUT    /api/annotations/:id      replace time, timeEnd, text, tags
  PATCH  /api/annotations/:id      change only the fields given
  DELETE /api/annotations/:id

Every request needs `Authorization: Bearer <token>` with a known token (401 otherwise).
Tests can make it answer errors (`fail_with`) to play a Grafana in trouble.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeGrafana:
    def __init__(self, tokens: dict[str, str]):
        """`tokens`: bearer token -> login of the user it belongs to."""
        self.tokens = dict(tokens)
        self.annotations: dict[int, dict] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self.fail_with: int | None = None  # answer every request with this HTTP status
        self._next_id = 1
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # -- the API -----------------------------------------------------------------------
    def create(self, body: dict, login: str) -> tuple[int, dict]:
        if not isinstance(body, dict):
            return 400, {"message": "bad request data"}
        if not body.get("text"):
            return 400, {"message": "Failed to save annotation: text is required"}
        tags = body.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return 400, {"message": "bad request data: tags must be a list of strings"}
        now_ms = int(time.time() * 1000)
        start = body.get("time") or now_ms
        with self._lock:
            annotation_id = self._next_id
            self._next_id += 1
            self.annotations[annotation_id] = {
                "id": annotation_id, "alertId": 0, "alertName": "", "dashboardId": body.get("dashboardId") or 0,
                "dashboardUID": body.get("dashboardUID") or "", "panelId": body.get("panelId") or 0, "userId": 1,
                "newState": "", "prevState": "", "created": now_ms, "updated": now_ms, "time": start,
                "timeEnd": body.get("timeEnd") or start, "text": body["text"], "tags": list(tags),
                "login": login, "email": f"{login}@example.org", "avatarUrl": "", "data": body.get("data") or {}}
        return 200, {"message": "Annotation added", "id": annotation_id}

    def find(self, query: dict) -> tuple[int, list]:
        def one(name, default=None):
            return query.get(name, [default])[0]

        try:
            start, end = int(one("from", 0)), int(one("to", 0))
            limit = int(one("limit", 100))
            panel = int(one("panelId", 0))
        except ValueError:
            return 400, {"message": "bad request data"}
        tags, match_any = query.get("tags", []), one("matchAny", "false") == "true"
        kind, dashboard_uid = one("type"), one("dashboardUID")
        found = []
        for a in self.annotations.values():
            if start and end and not (a["time"] <= end and a["timeEnd"] >= start):
                continue
            if tags and not (any if match_any else all)(t in a["tags"] for t in tags):
                continue
            if kind == "alert" and not a["alertId"] or kind == "annotation" and a["alertId"]:
                continue
            if dashboard_uid and a["dashboardUID"] != dashboard_uid or panel and a["panelId"] != panel:
                continue
            found.append(a)
        found.sort(key=lambda a: (a["time"], a["timeEnd"]), reverse=True)
        return 200, [dict(a, tags=list(a["tags"])) for a in found[:limit]]

    def change(self, annotation_id: int, body: dict, replace: bool) -> tuple[int, dict]:
        a = self.annotations.get(annotation_id)
        if a is None:
            return 404, {"message": "Annotation not found"}
        if not isinstance(body, dict):
            return 400, {"message": "bad request data"}
        with self._lock:
            if replace:
                a.update(time=body.get("time") or a["time"], timeEnd=body.get("timeEnd") or a["time"],
                         text=body.get("text") or "", tags=list(body.get("tags") or []))
            else:  # Grafana's PATCH: a zero time, empty text or absent tags leave the field as it is
                if body.get("time"):
                    a["time"] = body["time"]
                if body.get("timeEnd"):
                    a["timeEnd"] = body["timeEnd"]
                if body.get("text"):
                    a["text"] = body["text"]
                if body.get("tags") is not None:
                    a["tags"] = list(body["tags"])
            a["updated"] = int(time.time() * 1000)
        return 200, {"message": "Annotation updated" if replace else "Annotation patched"}

    def delete(self, annotation_id: int) -> tuple[int, dict]:
        with self._lock:
            if self.annotations.pop(annotation_id, None) is None:
                return 404, {"message": "Annotation not found"}
        return 200, {"message": "Annotation deleted"}


def _handler(grafana: FakeGrafana):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def _answer(self, status: int, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method: str):
            grafana.requests.append((method, self.path))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if grafana.fail_with:
                return self._answer(grafana.fail_with, {"message": "fake Grafana told to fail"})
            auth = self.headers.get("Authorization", "")
            login = grafana.tokens.get(auth[len("Bearer "):]) if auth.startswith("Bearer ") else None
            if login is None:
                return self._answer(401, {"message": "Unauthorized"})
            url = urlparse(self.path)
            parts = url.path.rstrip("/").split("/")
            if parts[:3] != ["", "api", "annotations"] or len(parts) > 4:
                return self._answer(404, {"message": "Not found"})
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return self._answer(400, {"message": "bad request data"})
            if len(parts) == 3:
                if method == "POST":
                    return self._answer(*grafana.create(body, login))
                if method == "GET":
                    return self._answer(*grafana.find(parse_qs(url.query)))
                return self._answer(405, {"message": "Method not allowed"})
            try:
                annotation_id = int(parts[3])
            except ValueError:
                return self._answer(400, {"message": "annotationId is invalid"})
            if method in ("PUT", "PATCH"):
                return self._answer(*grafana.change(annotation_id, body, replace=method == "PUT"))
            if method == "DELETE":
                return self._answer(*grafana.delete(annotation_id))
            return self._answer(405, {"message": "Method not allowed"})

        def do_GET(self):
            self._route("GET")

        def do_POST(self):
            self._route("POST")

        def do_PUT(self):
            self._route("PUT")

        def do_PATCH(self):
            self._route("PATCH")

        def do_DELETE(self):
            self._route("DELETE")

    return Handler
