"""The scenario suites, as `timestamp,used,limit` CSVs plus ground truth in a manifest.

Two generators:
- `loadgen`: loadgen's resource kinds (loadgen/src/loadgen/resource_scenarios.py and the
  modules it draws on), each sampled at its own step (60 s, some 15 s or 30 s);
- `second`: the independent generator `generator2.py` (families `g2-<name>`; 15, 30 or
  60 s by seed, dropped scrapes, one family starting mid-week). Only its interface is
  used here: FAMILIES and generate().

Generation is deterministic and cached under WORK/suite-<key>/, where the key covers the
generator, kinds, seeds, days, the generator's source and this module's.
"""
import hashlib
import inspect
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from loadgen import noise, resource_cycles, resource_families, resource_kind
from loadgen import resource_scenarios as rs

from . import generator2

START = 1767571200  # 2026-01-05T00:00:00Z, a Monday
GENERATORS = ("loadgen", "second")
LOADGEN_SOURCES = (rs, resource_kind, resource_cycles, resource_families, noise)


@dataclass
class Case:
    name: str  # <kind>-s<seed>
    kind: str
    seed: int
    csv: Path
    failing: bool
    failures: list  # unix seconds
    failures_after: list  # failures in the day after the series ends: an alert at the end is judged by them
    ramp_starts: list  # unix seconds, one per failure
    start: int  # first timestamp
    end: int  # last timestamp
    step: int = 60  # median spacing of the rows, to 15 s (jitter aside), seconds
    rows: int = 0


def kinds_of(generator: str) -> list[str]:
    if generator == "loadgen":
        return list(rs.KINDS)
    if generator == "second":
        return list(generator2.FAMILIES)
    raise ValueError(f"unknown generator {generator!r} (valid: {', '.join(GENERATORS)})")


def _key(generator, kinds, seeds, days) -> str:
    modules = LOADGEN_SOURCES if generator == "loadgen" else (generator2,)
    # This module's own source too: a change in how cases are written remakes the suite.
    src = "".join(inspect.getsource(m) for m in modules) + Path(__file__).read_text()
    text = json.dumps([generator, kinds, seeds, days, START]) + src
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _generate(generator: str, kind: str, seed: int, days: int):
    if generator == "loadgen":
        return rs.generate(kind, START, days * 86400, None, seed)
    return generator2.generate(kind, START, days * 86400, seed)


def check_series(label: str, times, used, limit, failures, ramp_starts, end: int) -> None:
    """A generated series the scoring can trust, or a ValueError naming the series and what is wrong."""
    times, used, limit = np.asarray(times), np.asarray(used, dtype=np.float64), np.asarray(limit, dtype=np.float64)
    if not (times.size == used.size == limit.size) or times.size < 2:
        raise ValueError(f"{label}: times, used and limit differ in length or hold < 2 rows "
                         f"({times.size}, {used.size}, {limit.size})")
    if np.any(np.diff(times) <= 0):
        at = int(np.flatnonzero(np.diff(times) <= 0)[0])
        raise ValueError(f"{label}: timestamps not strictly increasing at row {at + 1} ({times[at]}, {times[at + 1]})")
    for name, values in (("used", used), ("limit", limit)):
        if not np.all(np.isfinite(values)):
            row = int(np.argmin(np.isfinite(values)))
            raise ValueError(f"{label}: {name} has a value that is not finite at row {row}")
    if len(failures) != len(ramp_starts):
        raise ValueError(f"{label}: {len(failures)} failures but {len(ramp_starts)} ramp starts")
    for f, r in zip(failures, ramp_starts):
        if not (r <= f < end):
            raise ValueError(f"{label}: failure {f} (ramp start {r}) is not within the series (end {end})")


def _nominal_step(times) -> int:
    return int(max(15, round(float(np.median(np.diff(times))) / 15) * 15))


def build_suite(work: Path, seeds: int = 3, days: int = 7, kinds=None, first_seed: int = 1,
                generator: str = "loadgen") -> list[Case]:
    kinds = list(kinds or kinds_of(generator))
    unknown = sorted(set(kinds) - set(kinds_of(generator)))
    if unknown:
        raise ValueError(f"unknown {generator} kinds {unknown} (valid: {', '.join(kinds_of(generator))})")
    seed_list = list(range(first_seed, first_seed + seeds))
    folder = Path(work) / f"suite-{_key(generator, kinds, seed_list, days)}"
    manifest = folder / "manifest.json"
    if not manifest.exists():
        # Built aside and renamed into place: runs started together (each its own bench) may
        # build the same suite, and none may read another's half-written CSV.
        building = folder.with_name(f"{folder.name}.building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        entries = []
        for kind in kinds:
            for seed in seed_list:
                r = _generate(generator, kind, seed, days)
                name = f"{r.kind}-s{seed}"
                check_series(f"{generator} {name}", r.times, r.used, r.limit, r.failures, r.ramp_starts,
                             START + days * 86400)
                with (building / f"{name}.csv").open("w") as f:
                    f.write("timestamp,used,limit\n")
                    for t, u, l in zip(r.times.tolist(), r.used.tolist(), r.limit.tolist()):
                        f.write(f"{int(t)},{int(u)},{int(l)}\n")
                entries.append(dict(name=name, kind=r.kind, seed=seed, csv=f"{name}.csv", failing=bool(r.failing),
                                    failures=[int(f) for f in r.failures],
                                    ramp_starts=[int(x) for x in r.ramp_starts],
                                    failures_after=[int(f) for f in r.failures_after],
                                    start=int(r.times[0]), end=int(r.times[-1]),
                                    step=_nominal_step(r.times), rows=int(r.times.size)))
        (building / "manifest.json").write_text(json.dumps({"generator": generator, "seeds": seed_list, "days": days,
                                                            "start": START, "cases": entries}, indent=1))
        if folder.exists() and not manifest.exists():
            shutil.rmtree(folder)  # left half-built by an interrupted run
        try:
            building.rename(folder)
        except OSError:  # another run put the same suite in place first (or a stale partial one is there)
            shutil.rmtree(building, ignore_errors=True)
            if not manifest.exists():
                raise
    entries = json.loads(manifest.read_text())["cases"]
    return [Case(**{**e, "csv": folder / e["csv"]}) for e in entries]


def load_series(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.loadtxt(case.csv, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    return data[:, 0], data[:, 1], data[:, 2]
