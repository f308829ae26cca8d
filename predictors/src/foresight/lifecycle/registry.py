"""The model registry: an MLflow tracking server, over its REST API.

- A training is one MLflow run in the experiment `foresight`: its params are the config
  and the training window, its metrics the scores (`<predictor>.<score>`), its artifacts
  the bundles (`bundles/<predictor>/`), the config file, the scores and the plot.
- Each bundle becomes a new version of the registered model `foresight-<predictor>`,
  whose source is the bundle's folder in the run's artifacts; the new version gets the
  alias `challenger`. `promote` moves the alias `champion`; the sidecar follows it.

Bundles are plain artifacts, not MLflow "logged models" (whose flavours load with
pickle); versions are made with `model-versions/create` from the artifact URI. Artifacts
go through the server's artifact proxy (`mlflow server --artifacts-destination`, URIs
`mlflow-artifacts:/...`). The client is `requests` alone: the mlflow package is needed
for the server, never in the sidecar (it would pull in a web stack, and its cachetools
pin clashes with drain3's).
"""
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

from .bundles import MANIFEST

EXPERIMENT = "foresight"
CHAMPION, CHALLENGER = "champion", "challenger"
PREFIX = "foresight-"
_API = "/api/2.0/mlflow"
_ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
_NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


class RegistryError(Exception):
    """The registry cannot be reached or does not hold what was asked, with the URL."""


@dataclass
class Version:
    """One registered version of a predictor's model."""
    predictor: str
    number: int
    run_id: str
    source: str  # the bundle folder's artifact URI
    aliases: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)  # this predictor's scores from the run


def model_name(predictor: str) -> str:
    return PREFIX + predictor


def metric_key(predictor: str, score: str) -> str:
    """An MLflow metric key (letters, digits, _ - . / and spaces)."""
    return re.sub(r"[^A-Za-z0-9_.\-/ ]", "_", f"{predictor}.{score}")


class _Missing(RegistryError):
    """The server answered that the thing asked for does not exist."""


class Registry:
    def __init__(self, url: str, experiment: str = EXPERIMENT, timeout: float = 30.0):
        if not url:
            raise RegistryError("no registry URL given (--registry, or env FORESIGHT_REGISTRY)")
        self.url, self.experiment, self.timeout = url.rstrip("/"), experiment, timeout
        self.session = requests.Session()

    # -- REST ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, what: str, **kwargs):
        try:
            response = self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise RegistryError(f"registry {self.url}: {what}: {type(exc).__name__}: {exc}") from None
        if response.ok:
            return response
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text[:200]}
        message = f"registry {self.url}: {what}: HTTP {response.status_code} {body.get('message', '')}".rstrip()
        raise (_Missing if body.get("error_code") in _NOT_FOUND else RegistryError)(message)

    def _get(self, path: str, what: str, **params) -> dict:
        return self._call("GET", f"{_API}/{path}", what, params=params).json()

    def _post(self, path: str, what: str, body: dict) -> dict:
        return self._call("POST", f"{_API}/{path}", what, json=body).json()

    def _artifact_path(self, uri: str) -> str:
        """The proxy path of an `mlflow-artifacts:` URI."""
        match = re.fullmatch(r"mlflow-artifacts:(//[^/]*)?/*(.*)", uri)
        if match is None:
            raise RegistryError(f"registry {self.url}: artifact URI {uri!r} is not served by the tracking server; "
                                f"run it with --artifacts-destination (Foresight reads and writes bundles through it)")
        return match.group(2).rstrip("/")

    # -- training ----------------------------------------------------------------------------
    def log_training(self, params: dict, metrics: dict, bundles: dict, files: list, run_name: str = "") -> tuple:
        """One run with params, metrics (predictor -> score -> value) and artifacts; each
        bundle (predictor -> folder) registered as a new version aliased `challenger`.
        Returns (run_id, {predictor: version number})."""
        try:
            experiment_id = self._get("experiments/get-by-name", "find the experiment",
                                      experiment_name=self.experiment)["experiment"]["experiment_id"]
        except _Missing:
            experiment_id = self._post("experiments/create", "create the experiment",
                                       {"name": self.experiment})["experiment_id"]
        now = int(time.time() * 1000)
        run = self._post("runs/create", "create a run", {
            "experiment_id": experiment_id, "run_name": run_name, "start_time": now,
            "tags": [{"key": "foresight.command", "value": "train"}]})["run"]["info"]
        run_id, artifacts = run["run_id"], self._artifact_path(run["artifact_uri"])
        status = "FAILED"
        try:
            values = [{"key": metric_key(p, k), "value": float(v), "timestamp": now, "step": 0}
                      for p, scores in metrics.items() for k, v in scores.items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
            pairs = [{"key": k, "value": str(v)[:6000]} for k, v in params.items()]
            for i in range(0, max(len(values), len(pairs)), 100):  # the API takes 100 params per call
                self._post("runs/log-batch", "log params and metrics",
                           {"run_id": run_id, "params": pairs[i:i + 100], "metrics": values[i:i + 100]})
            for path in files:
                self._upload(Path(path), f"{artifacts}/{Path(path).name}")
            for predictor, folder in bundles.items():
                for path in sorted(Path(folder).iterdir()):
                    self._upload(path, f"{artifacts}/bundles/{predictor}/{path.name}")
            status = "FINISHED"
        finally:
            self._post("runs/update", "end the run", {"run_id": run_id, "status": status,
                                                      "end_time": int(time.time() * 1000)})
        versions = {}
        for predictor in bundles:
            name = model_name(predictor)
            try:
                self._get("registered-models/get", "find the registered model", name=name)
            except _Missing:
                self._post("registered-models/create", f"create the registered model {name}",
                           {"name": name, "description": f"Foresight model bundles of predictor {predictor}"})
            version = self._post("model-versions/create", f"register a version of {name}", {
                "name": name, "source": f"{run['artifact_uri']}/bundles/{predictor}", "run_id": run_id,
                "tags": [{"key": "foresight.predictor", "value": predictor}]})["model_version"]["version"]
            self._post("registered-models/alias", f"set the alias {CHALLENGER}",
                       {"name": name, "alias": CHALLENGER, "version": str(version)})
            versions[predictor] = int(version)
        return run_id, versions

    def _upload(self, path: Path, target: str):
        with open(path, "rb") as handle:
            self._call("PUT", f"{_ARTIFACTS}/{quote(target)}", f"upload {path.name}", data=handle)

    # -- versions and aliases --------------------------------------------------------------
    def version(self, predictor: str, number: int | None = None, alias: str | None = None) -> Version | None:
        """A version by number, or by alias (None when the alias is not set)."""
        name = model_name(predictor)
        try:
            if number is not None:
                found = self._get("model-versions/get", f"{name} version {number}", name=name, version=str(number))
            else:
                found = self._get("registered-models/alias", f"{name} alias {alias!r}", name=name, alias=alias)
        except _Missing:
            if number is None:
                return None
            raise
        return self._version(predictor, found["model_version"])

    def _version(self, predictor: str, found: dict) -> Version:
        metrics = {}
        if found.get("run_id"):
            run = self._get("runs/get", f"read run {found['run_id']}", run_id=found["run_id"])["run"]
            prefix = metric_key(predictor, "")
            metrics = {m["key"][len(prefix):]: m["value"] for m in run["data"].get("metrics", [])
                       if m["key"].startswith(prefix)}
        return Version(predictor, int(found["version"]), found.get("run_id", ""), found["source"],
                       list(found.get("aliases", [])), metrics)

    def champion(self, predictor: str) -> Version | None:
        return self.version(predictor, alias=CHAMPION)

    def champion_number(self, predictor: str) -> int | None:
        """Only the number behind `champion` (one call, for polling)."""
        name = model_name(predictor)
        try:
            found = self._get("registered-models/alias", f"{name} alias {CHAMPION!r}", name=name, alias=CHAMPION)
        except _Missing:
            return None
        return int(found["model_version"]["version"])

    def promote(self, predictor: str, number: int):
        self._post("registered-models/alias", f"move {CHAMPION} to version {number}",
                   {"name": model_name(predictor), "alias": CHAMPION, "version": str(number)})

    def download(self, version: Version, destination) -> Path:
        """The files of a version's bundle folder, downloaded into `destination`."""
        destination = Path(destination)
        destination.mkdir(parents=True, exist_ok=True)
        what = f"version {version.number} of {model_name(version.predictor)}"
        source = self._artifact_path(version.source)
        listed = self._call("GET", _ARTIFACTS, f"list {what}", params={"path": source}).json().get("files", [])
        files = [f["path"] for f in listed if not f.get("is_dir")]
        if MANIFEST not in files:
            raise RegistryError(f"registry {self.url}: {what} ({version.source}) holds no Foresight bundle")
        for name in files:  # every file, so a bundle's own check sees anything added to it
            if "/" in name or name in ("", ".", ".."):
                raise RegistryError(f"registry {self.url}: {what}: bad artifact name {name!r}")
            response = self._call("GET", f"{_ARTIFACTS}/{quote(source)}/{quote(name)}", f"download {name} of {what}",
                                  stream=True)
            with open(destination / name, "wb") as handle:
                for block in response.iter_content(1 << 20):
                    handle.write(block)
        return destination


__all__ = ["CHALLENGER", "CHAMPION", "EXPERIMENT", "Registry", "RegistryError", "Version", "metric_key",
           "model_name"]
