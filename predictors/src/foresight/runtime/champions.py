"""`foresight run --registry`: each predictor starts from its champion bundle and follows
the alias.

- At start, each configured predictor's `champion` version (registered model
  `foresight-<predictor>`) is downloaded and checked (lifecycle.bundles). Without a
  checkpoint its models and the series windows it was trained on are taken in, so the
  sidecar warm-starts instead of going blind: the first new points continue the trained
  windows, the daily profiles, forecaster choice and track records are there. With a
  checkpoint, the checkpoint's models stay (they have learnt since); the champion seen at
  start is taken as the one they grew from.
- A thread asks the registry every `every` seconds which version is `champion`. A moved
  alias is downloaded and checked there; the consumer thread then swaps the predictor's
  models (`apply_pending`, between polls): its windows and alert levels stay.
- The same thread asks which version is `challenger`. One that differs from the champion
  runs in shadow beside it (runtime.shadow), until it is promoted or the alias moves on.
- A bundle that fails its checks, or that cannot run here (another kind, other series, more
  raw history than the store keeps), is refused with an error naming it; the predictor
  keeps the models it has. A champion trained with another model config that fits runs
  with that model config (the config file's policy, alerting and words stay).
"""
import dataclasses
import logging
import queue
import shutil
import tempfile
import threading
from pathlib import Path

from prometheus_client import Gauge

from foresight.contracts.metric_names import MODEL_VERSION
from foresight.explain import Explainer
from foresight.lifecycle.bundles import BundleError, read_bundle
from foresight.lifecycle.registry import CHALLENGER, Registry, RegistryError, model_name
from foresight.predictors import build_predictor
from foresight.sources.csv_table import format_timestamp

from .engine_state import import_rows, model_config
from .shadow import check_fits

log = logging.getLogger(__name__)


def apply_bundle(engine, bundle, with_series: bool):
    """Give the bundle's predictor fresh models from the bundle (and, `with_series`, the
    series windows it was trained on).
    Raises BundleError when it cannot run here (runtime.shadow.check_fits)."""
    names = [p.config.name for p in engine.predictors]
    if bundle.predictor not in names:
        raise BundleError(f"bundle {bundle.path}: predictor {bundle.predictor!r} is not configured here")
    index = names.index(bundle.predictor)
    old = engine.predictors[index]
    trained, config = bundle.typed_config, old.config
    if type(trained) is not type(old.config) or model_config(trained) != model_config(old.config):
        check_fits(engine, trained, f"bundle {bundle.path} (config_sha256 {bundle.config_sha256[:12]})")
        config = dataclasses.replace(trained, policy=old.config.policy, alerting=old.config.alerting,
                                     action=old.config.action, resource=old.config.resource, unit=old.config.unit)
        log.info("predictor %s: the bundle's model config replaces the configured one", bundle.predictor)
    fresh = build_predictor(config)
    fresh.errors = old.errors  # counters go on across a swap
    engine.predictors[index] = fresh
    engine.explainers[bundle.predictor] = Explainer(fresh)
    engine.log_readers = [p for p in engine.predictors if p.reads_logs]
    rows = bundle.section("config", "shared", "target") + (bundle.section("series") if with_series else [])
    report = import_rows(engine, rows)
    fresh.targets.dropped = old.targets.dropped
    return report


class Champions:
    def __init__(self, engine, url: str, every: float = 30.0, metrics_registry=None, watch=None):
        self.engine, self.every = engine, every
        self.watch = watch  # runtime.shadow.ModelWatch: challengers in shadow, the scorecard; None = no shadow
        self._seen_challenger: dict[str, int] = {}  # predictor -> challenger version last fetched (or refused)
        self.registry = Registry(url)
        self.in_use: dict[str, int] = {}  # predictor -> version whose models it runs
        self.trained_until: float | None = None  # the newest training window end taken at start
        self._seen: dict[str, int] = {}  # predictor -> version last fetched (or refused)
        self._pending: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = None
        self._folder = Path(tempfile.mkdtemp(prefix="foresight-champions-"))
        self.refused = 0  # bundles that failed their checks or did not fit
        self.gauge = Gauge(MODEL_VERSION, "Registry version of the model bundle each predictor runs "
                                          "(registered model foresight-<predictor>)", ["predictor"],
                           registry=metrics_registry) if metrics_registry is not None else None

    def _names(self) -> list:
        return [p.config.name for p in self.engine.predictors if p.config.series is not None]

    def _fetch(self, name: str, number: int, seen: dict | None = None):
        """The checked bundle of one version, or None (logged) when it cannot be had."""
        seen = self._seen if seen is None else seen
        seen[name] = number
        folder = self._folder / name / str(number)
        try:
            version = self.registry.version(name, number=number)
            bundle = read_bundle(self.registry.download(version, folder))
        except BundleError as exc:
            self.refused += 1
            log.error("version %d of %s refused: %s", number, model_name(name), exc)
            return None
        except RegistryError as exc:
            del seen[name]  # the registry may answer next time
            log.error("version %d of %s not fetched: %s", number, model_name(name), exc)
            return None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return bundle

    def start(self, restored: bool) -> list:
        """Take each champion in (not its models when a checkpoint was restored); start
        following the alias. Returns the predictors that warm-started from a bundle."""
        started = []
        for name in self._names():
            try:
                number = self.registry.champion_number(name)
            except RegistryError as exc:
                log.error("%s; predictor %s starts without a champion", exc, name)
                continue
            if number is None:
                log.info("%s has no champion yet; predictor %s starts without one", model_name(name), name)
                continue
            if restored:
                self._seen[name] = number
                self._use(name, number, "keeps its checkpoint's models, grown from")
                continue
            bundle = self._fetch(name, number)
            if bundle is not None and self._apply(name, number, bundle, with_series=True):
                started.append(name)
                end = float(bundle.window.get("end", 0.0))
                self.trained_until = end if self.trained_until is None else max(self.trained_until, end)
        self._thread = threading.Thread(target=self._follow, name="foresight-champions", daemon=True)
        self._thread.start()
        return started

    def _follow(self):
        while not self._stop.wait(self.every):
            self.check()

    def check(self):
        """Ask which version is champion; fetch a moved one for `apply_pending`."""
        for name in self._names():
            try:
                number = self.registry.champion_number(name)
            except RegistryError as exc:
                log.warning("%s (asked again in %.0fs)", exc, self.every)
                return
            if number is not None and number != self._seen.get(name):
                bundle = self._fetch(name, number)
                if bundle is not None:
                    self._pending.put(("champion", name, number, bundle))
            if self.watch is not None:
                self._check_challenger(name, number)

    def _check_challenger(self, name: str, champion):
        try:
            found = self.registry.version(name, alias=CHALLENGER)
        except RegistryError as exc:
            log.warning("%s (asked again in %.0fs)", exc, self.every)
            return
        number = found.number if found is not None and found.number != champion else None
        if number == self._seen_challenger.get(name):
            return
        if number is None:
            self._seen_challenger.pop(name, None)
            self._pending.put(("stop", name, None, None))
            return
        bundle = self._fetch(name, number, self._seen_challenger)
        if bundle is not None:
            self._pending.put(("challenger", name, number, bundle))

    def apply_pending(self) -> list:
        """On the consumer thread: swap in the bundles `check` fetched. Returns the predictors swapped."""
        swapped = []
        while True:
            try:
                what, name, number, bundle = self._pending.get_nowait()
            except queue.Empty:
                return swapped
            if what == "stop":
                if self.watch.shadow.stop(name):
                    self.watch.stopped(name)
            elif what == "challenger":
                self._shadow(name, number, bundle)
            elif self._apply(name, number, bundle, with_series=False):
                swapped.append(name)
                if self.watch is not None:
                    self.watch.swapped(name)

    def _shadow(self, name: str, number: int, bundle):
        try:
            self.watch.shadow.start(number, bundle)
        except BundleError as exc:
            self.refused += 1
            log.error("version %d of %s refused as the challenger: %s", number, model_name(name), exc)
            return
        self.watch.started(name, number)

    def _apply(self, name: str, number: int, bundle, with_series: bool) -> bool:
        try:
            report = apply_bundle(self.engine, bundle, with_series)
        except BundleError as exc:
            self.refused += 1
            log.error("version %d of %s refused: %s", number, model_name(name), exc)
            return False
        before = self.in_use.get(name)
        self._use(name, number, "now runs" if before else "starts from", f" (was version {before})" if before else "")
        log.info("predictor %s: %d state rows from the bundle trained on %s .. %s%s", name, report.rows,
                 format_timestamp(bundle.window["start"]), format_timestamp(bundle.window["end"]),
                 f"; skipped {report.skipped}" if report.skipped else "")
        return True

    def _use(self, name: str, number: int, what: str, after: str = ""):
        self.in_use[name] = number
        if self.gauge is not None:
            self.gauge.labels(name).set(number)
        log.info("predictor %s %s version %d of %s%s", name, what, number, model_name(name), after)

    def close(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        shutil.rmtree(self._folder, ignore_errors=True)


__all__ = ["Champions", "apply_bundle"]
