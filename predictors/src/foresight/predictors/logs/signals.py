"""Template rates per service, and the anomaly signals drawn from them.

`LogPatternDetector.add` is the hot path: it masks and mines each line and counts it in
an event-time bucket keyed by (service, template, severity, bucket). `evaluate(now)` folds
those counts into per-template series, drops what is older than the baseline, and for
each service reports new templates, surging warn/error templates and the top rates.
Nothing reads the wall clock, so replaying a recorded stream gives the same signals.
"""
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from .miner import TemplateMiner
from .records import SEVERITY_RANK, UNKNOWN_SERVICE, LogRecord, severity_name
from .settings import LogSettings

OTHER = "other"
_WARN_RANK = SEVERITY_RANK["WARN"]
# How strongly a newly seen template alone suggests trouble, by severity.
_NEW_TEMPLATE_WEIGHT = {"DEBUG": 0.2, "INFO": 0.3, "WARN": 0.6, "ERROR": 0.8, "FATAL": 0.9}


@dataclass
class TemplateRate:
    service: str
    template_id: str  # "t<n>", or "other" for the templates outside the top N
    template: str
    severity: str
    per_second: float


@dataclass
class LogSignal:
    service: str
    timestamp: float
    anomaly_score: float  # [0, 1]
    new_templates: list[str]  # templates first seen recently, after the service's warm-up
    surging: list[tuple[str, float]]  # (warn/error template, current rate / baseline rate)
    top_rates: list[TemplateRate]  # the top N templates, then one "other" entry per severity
    explanation: str
    warming_up: bool = False  # True while the service is younger than `warmup`: no signals yet


@dataclass
class _Series:
    """Line counts of one (service, template, severity) by bucket index."""
    counts: dict[int, int] = field(default_factory=dict)


class LogPatternDetector:
    def __init__(self, settings: LogSettings | None = None):
        self.settings = s = settings or LogSettings()
        self.miner = TemplateMiner(s.similarity, s.depth, s.max_templates, s.cache_size)
        self.bad: Counter = Counter()  # reason -> records skipped
        self.late = 0  # accepted records whose bucket had already left the baseline when folded
        self._pending: dict[tuple, int] = {}  # (service, template id, severity, bucket) -> lines
        self._services: dict[str, float | None] = {}  # service -> first bucket start seen
        self._series: dict[tuple[str, int, str], _Series] = {}
        self._first_seen: dict[tuple[str, int], float] = {}  # (service, template id) -> first bucket start

    def forget_service(self, service: str):
        """Drop a service's counts (its logs now go to another replica)."""
        self._services.pop(service, None)
        self._series = {k: v for k, v in self._series.items() if k[0] != service}
        self._first_seen = {k: v for k, v in self._first_seen.items() if k[0] != service}
        self._pending = {k: v for k, v in self._pending.items() if k[0] != service}

    def keeps(self, service: str) -> bool:
        return service in self._services

    def export_service(self, service: str) -> dict | None:
        """A service's counts, for the replica its logs go to next (None: nothing kept). Its
        templates travel as text: ids are this miner's own."""
        if not self.keeps(service):
            return None
        live = self.miner.drain.id_to_cluster
        series = [[tid, severity, sorted(one.counts.items())]
                  for (svc, tid, severity), one in self._series.items() if svc == service]
        pending = [[tid, severity, index, n] for (svc, tid, severity, index), n in self._pending.items() if svc == service]
        first_seen = [[tid, t] for (svc, tid), t in self._first_seen.items() if svc == service]
        used = {entry[0] for part in (series, pending, first_seen) for entry in part}
        templates = [[tid, list(live[tid].log_template_tokens)] for tid in sorted(used) if live.get(tid) is not None]
        return {"start": self._services[service], "templates": templates, "series": series, "pending": pending,
                "first_seen": first_seen}

    def import_service(self, service: str, state: dict):
        """Take a service's counts from another replica's export_service: each template joins
        this miner's (found or learnt by its text), counts add up, the earliest first-seen
        times stay. ValueError if the state is malformed or the service limit is reached."""
        if service not in self._services and len(self._services) >= self.settings.max_services:
            raise ValueError(f"logs: service {service!r} not taken over: max_services reached")
        try:  # all of it read before anything is taken: a bad row leaves no trace
            templates = [(int(tid), [str(token) for token in tokens]) for tid, tokens in state["templates"]]
            series = [(int(tid), _severity(severity), [(int(i), int(n)) for i, n in counts])
                      for tid, severity, counts in state["series"]]
            pending = [(int(tid), _severity(severity), int(i), int(n)) for tid, severity, i, n in state["pending"]]
            first_seen = [(int(tid), _finite(t)) for tid, t in state["first_seen"]]
            start = None if state["start"] is None else _finite(state["start"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"logs: the state of service {service!r}: {type(exc).__name__}: {exc}") from None
        ids = {tid: self.miner.adopt(tokens) for tid, tokens in templates}
        series = [(ids[tid], severity, counts) for tid, severity, counts in series if tid in ids]
        pending = [(ids[tid], severity, i, n) for tid, severity, i, n in pending if tid in ids]
        first_seen = [(ids[tid], t) for tid, t in first_seen if tid in ids]
        for tid, severity, counts in series:
            merged = self._series.setdefault((service, tid, severity), _Series()).counts
            for i, n in counts:
                merged[i] = merged.get(i, 0) + n
        for tid, severity, i, n in pending:
            key = (service, tid, severity, i)
            self._pending[key] = self._pending.get(key, 0) + n
        for tid, t in first_seen:
            self._first_seen[service, tid] = min(t, self._first_seen.get((service, tid), math.inf))
        known = self._services.get(service)
        self._services[service] = start if known is None else known if start is None else min(known, start)

    def add(self, records: Iterable[LogRecord]) -> int:
        """Mine and count records; returns how many were accepted. Bad ones are counted in .bad."""
        bucket = self.settings.bucket
        max_services = self.settings.max_services
        pending, services, bad = self._pending, self._services, self.bad
        template_id = self.miner.template_id
        accepted = 0
        for r in records:
            try:
                body, ts, service, severity = r.body, r.timestamp, r.service, r.severity
            except AttributeError:
                bad["not a log record"] += 1
                continue
            if type(body) is not str or not body or body.isspace():
                bad["empty body"] += 1
                continue
            try:
                index = int(ts // bucket)
                if ts <= 0:
                    raise ValueError
            except (TypeError, ValueError, OverflowError):  # None, text, NaN, inf, <= 0
                bad["bad timestamp"] += 1
                continue
            service = service or UNKNOWN_SERVICE
            if service not in services:
                if type(service) is not str:
                    bad["bad service"] += 1
                    continue
                if len(services) >= max_services:
                    bad["too many services"] += 1
                    continue
                services[service] = None
            if severity not in SEVERITY_RANK:
                severity = severity_name(str(severity))
            key = (service, template_id(body), severity, index)
            pending[key] = pending.get(key, 0) + 1
            accepted += 1
        return accepted

    def evaluate(self, now: float) -> list[LogSignal]:
        """One signal per service seen, as of event time `now` (unix seconds)."""
        if not isinstance(now, (int, float)) or not math.isfinite(now):
            raise ValueError(f"LogPatternDetector.evaluate: now must be a finite unix time, got {now!r}")
        s = self.settings
        # The window is the buckets starting in [now - window, now): whole buckets, so a line
        # stamped exactly `now` waits for the next evaluation.
        window_start = math.ceil((now - s.window) / s.bucket)
        now_index = math.ceil(now / s.bucket) - 1  # last bucket starting before now
        oldest = window_start - max(1, round(s.baseline / s.bucket))  # first bucket of the baseline
        self._fold(oldest)
        self._expire(oldest)
        by_service: dict[str, list] = {}
        for key, one in self._series.items():
            by_service.setdefault(key[0], []).append((key, one))
        return [self._signal(service, by_service.get(service, []), now, now_index, window_start, oldest)
                for service in sorted(self._services) if self._services[service] is not None]

    def _fold(self, oldest: int) -> None:
        bucket, series, first_seen, services = self.settings.bucket, self._series, self._first_seen, self._services
        used = set()
        for (service, tid, severity, index), n in self._pending.items():
            if index < oldest:
                self.late += n
                continue
            used.add(tid)
            key = (service, tid, severity)
            counts = series.setdefault(key, _Series()).counts
            counts[index] = counts.get(index, 0) + n
            start = index * bucket
            if first_seen.get((service, tid), math.inf) > start:
                first_seen[service, tid] = start
            if services[service] is None or services[service] > start:
                services[service] = start
        self._pending = {}
        evicted = set(self.miner.touch(used))
        if evicted:
            self._series = {k: v for k, v in self._series.items() if k[1] not in evicted}

    def _expire(self, oldest: int) -> None:
        """Drop buckets older than the baseline, then series, templates and services left empty."""
        for key, one in list(self._series.items()):
            one.counts = {i: n for i, n in one.counts.items() if i >= oldest}
            if not one.counts:
                del self._series[key]
        live = self.miner.drain.id_to_cluster
        # A template stays "known" while Drain keeps it, so a rare but old template is not news.
        self._first_seen = {k: t for k, t in self._first_seen.items() if live.get(k[1]) is not None}
        active = {k[0] for k in self._series} | {k[0] for k in self._pending}
        for service in list(self._services):
            if service not in active:
                del self._services[service]
                self._first_seen = {k: t for k, t in self._first_seen.items() if k[0] != service}

    def _signal(self, service: str, series: list, now: float, now_index: int, window_start: int,
                oldest: int) -> LogSignal:
        s = self.settings
        service_start = self._services[service]
        # A service younger than the window has its age as window.
        window_seconds = max(now - max(window_start * s.bucket, service_start), s.bucket)
        baseline_from = max(oldest * s.bucket, service_start)
        baseline_seconds = window_start * s.bucket - baseline_from
        warming_up = now - service_start < s.warmup

        rates = []  # (per_second, template id, severity, lines in window, baseline per_second)
        for (_, tid, severity), one in series:
            current = sum(n for i, n in one.counts.items() if window_start <= i <= now_index)
            before = sum(n for i, n in one.counts.items() if i < window_start)
            base_rate = before / baseline_seconds if baseline_seconds > 0 else math.nan
            rates.append((current / window_seconds, tid, severity, current, base_rate))
        rates.sort(key=lambda r: (-r[0], r[1], r[2]))

        strengths, notes, new, surging = [], [], [], []
        if not warming_up:
            new_ids = {tid for (svc, tid), t in self._first_seen.items()
                       if svc == service and t >= service_start + s.warmup and now - t <= s.new_template_grace}
            reported = set()
            for rate, tid, severity, current, base_rate in rates:
                if tid in new_ids:
                    # A new template has no baseline to surge over: report it once, as new.
                    if current and tid not in reported:
                        reported.add(tid)
                        text = self.miner.template(tid)
                        new.append(text)
                        strengths.append(_NEW_TEMPLATE_WEIGHT[severity] * min(1.0, current / s.new_template_min_count))
                        notes.append((strengths[-1], f'new {severity.lower()} "{text}" at {_per(rate)}'))
                    continue
                if SEVERITY_RANK[severity] < _WARN_RANK or current < s.min_surge_count or math.isnan(base_rate):
                    continue
                ratio = rate / max(base_rate, 1 / baseline_seconds)  # an unseen template counts as one line
                if ratio >= s.surge_ratio:
                    text = self.miner.template(tid)
                    surging.append((text, ratio))
                    strength = min(1.0, 0.5 * math.log(ratio) / math.log(s.surge_ratio))
                    strengths.append(strength * (1.0 if severity != "WARN" else 0.8))
                    notes.append((strengths[-1], f'"{text}" x{ratio:.3g} over its baseline'))

        score = 1.0 - math.prod(1.0 - x for x in strengths)
        notes.sort(key=lambda n: -n[0])
        if warming_up:
            explanation = f"warming up: learning {service}'s usual log templates for {s.warmup:g}s"
        elif notes:
            explanation = "; ".join(text for _, text in notes[:3]) + (f"; and {len(notes) - 3} more" if len(notes) > 3
                                                                      else "")
        else:
            explanation = "no new or surging log templates"
        return LogSignal(service, now, score, new, surging, self._top(service, rates), explanation, warming_up)

    def _top(self, service: str, rates: list) -> list[TemplateRate]:
        """The top N templates by current rate; the others summed per severity as template "other"."""
        shown = [r for r in rates if r[0] > 0]
        top = [TemplateRate(service, f"t{tid}", self.miner.template(tid), severity, rate)
               for rate, tid, severity, _, _ in shown[:self.settings.top_templates]]
        rest: dict[str, float] = {}
        for rate, _, severity, _, _ in shown[self.settings.top_templates:]:
            rest[severity] = rest.get(severity, 0.0) + rate
        top += [TemplateRate(service, OTHER, OTHER, severity, rate) for severity, rate in
                sorted(rest.items(), key=lambda kv: SEVERITY_RANK[kv[0]])]
        return top


def _severity(name) -> str:
    if name not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {name!r}")
    return name


def _finite(value) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"time {value!r} is not finite")
    return value


def _per(rate: float) -> str:
    return f"{rate:.3g}/s" if rate >= 1 else f"{rate * 60:.3g}/min"
