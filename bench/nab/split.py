"""A fixed split of the NAB corpus into two halves, for choosing defaults on one and
scoring them on the other.

Within each category (the folder under data/), the files are ordered by the SHA-256 of
their file name and dealt alternately: the first to half A, the second to half B, and so
on. So both halves hold every category in about equal parts, and the split depends only on
the names, never on the data or the labels. Half A is where defaults may be chosen
("tuning half"); half B is held out.

`scorer_view` makes a folder in NAB's layout holding only one half's labels (data and
config are linked), so the NAB scorer scores that half alone.
"""
import hashlib
import json
from pathlib import Path

HALVES = ("A", "B")


def half_of(files: list[str]) -> dict[str, str]:
    """{'<category>/<file>.csv': 'A' or 'B'} for NAB paths relative to data/."""
    by_category: dict[str, list[str]] = {}
    for rel in files:
        by_category.setdefault(rel.split("/")[0], []).append(rel)
    out = {}
    for members in by_category.values():
        ordered = sorted(members, key=lambda rel: hashlib.sha256(Path(rel).name.encode()).hexdigest())
        for i, rel in enumerate(ordered):
            out[rel] = HALVES[i % 2]
    return out


def relative_names(nab_dir: Path) -> list[str]:
    return sorted(f"{p.parent.name}/{p.name}" for p in (nab_dir / "data").glob("*/*.csv"))


def scorer_view(nab_dir: Path, half: str, where: Path) -> Path:
    """A NAB-layout folder at `where` with the labels of `half` only; returns it."""
    halves = half_of(relative_names(nab_dir))
    labels = json.loads((nab_dir / "labels" / "combined_windows.json").read_text())
    where.mkdir(parents=True, exist_ok=True)
    (where / "labels").mkdir(exist_ok=True)
    kept = {rel: windows for rel, windows in labels.items() if halves.get(rel) == half}
    (where / "labels" / "combined_windows.json").write_text(json.dumps(kept, indent=1))
    for name in ("data", "config"):
        link = where / name
        if not link.exists():
            link.symlink_to((nab_dir / name).resolve(), target_is_directory=True)
    return where
