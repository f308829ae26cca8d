"""The scenario suite: loadgen's resource kinds x seeds, as `timestamp,used,limit` CSVs plus ground truth.

Generation is deterministic (loadgen noise is a hash of seed and time) and cached under
WORK/suite-<key>/, where the key covers the kinds, seeds, days and the generator source.
"""
import hashlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from loadgen import resource_scenarios as rs

START = 1767571200  # 2026-01-05T00:00:00Z, a Monday
STEP = 60
DEFAULT_KINDS = list(rs.KINDS)


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
    start: int
    end: int  # last timestamp


def _key(kinds, seeds, days) -> str:
    src = inspect.getsource(rs)
    text = json.dumps([kinds, seeds, days, START, STEP]) + src
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def build_suite(work: Path, seeds: int = 3, days: int = 7, kinds=None, first_seed: int = 1) -> list[Case]:
    kinds = list(kinds or DEFAULT_KINDS)
    seed_list = list(range(first_seed, first_seed + seeds))
    folder = Path(work) / f"suite-{_key(kinds, seed_list, days)}"
    manifest = folder / "manifest.json"
    if not manifest.exists():
        folder.mkdir(parents=True, exist_ok=True)
        entries = []
        for kind in kinds:
            for seed in seed_list:
                r = rs.generate(kind, START, days * 86400, STEP, seed)
                name = f"{kind}-s{seed}"
                path = folder / f"{name}.csv"
                with path.open("w") as f:
                    f.write("timestamp,used,limit\n")
                    for t, u, l in zip(r.times.tolist(), r.used.tolist(), r.limit.tolist()):
                        f.write(f"{t},{int(u)},{int(l)}\n")
                entries.append(dict(name=name, kind=kind, seed=seed, csv=path.name, failing=r.failing,
                                    failures=r.failures, ramp_starts=r.ramp_starts,
                                    failures_after=r.failures_after,
                                    start=int(r.times[0]), end=int(r.times[-1])))
        tmp = manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, indent=1))
        tmp.rename(manifest)
    entries = json.loads(manifest.read_text())
    return [Case(**{**e, "csv": folder / e["csv"]}) for e in entries]


def load_series(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.loadtxt(case.csv, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    return data[:, 0], data[:, 1], data[:, 2]
