"""The loop's memory across restarts: alert history, feedback already read, thresholds.

One small JSON file, replaced atomically. A file that cannot be read is moved aside to
`<path>.corrupt` and the loop starts from the base thresholds, so a bad file never stops
the sidecar.
"""
import json
import logging
import os
from pathlib import Path

from .episodes import Episode

log = logging.getLogger(__name__)
VERSION = 1


def load_state(path: str) -> tuple[dict[str, Episode], dict[str, str], str | None]:
    """(episodes by id, processed annotation id -> verdict, problem or None)."""
    file = Path(path)
    if not file.exists():
        return {}, {}, None
    try:
        data = json.loads(file.read_text())
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"expected an object with version {VERSION}")
        episodes = {e["id"]: Episode.from_dict(e) for e in data.get("episodes", [])}
        processed = {str(k): str(v) for k, v in data.get("processed", {}).items()}
        return episodes, processed, None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        aside = file.with_name(file.name + ".corrupt")
        try:
            os.replace(file, aside)
        except OSError:
            aside = None
        problem = f"{path}: cannot read feedback state ({type(exc).__name__}: {exc}); " \
                  f"starting from base thresholds" + (f", old file moved to {aside}" if aside else "")
        return {}, {}, problem


def save_state(path: str, episodes: dict[str, Episode], processed: dict[str, str],
               thresholds: dict[str, float]) -> str | None:
    """Write the state; returns a problem message instead of raising."""
    data = {"version": VERSION, "thresholds": thresholds, "processed": processed,
            "episodes": [e.to_dict() for e in episodes.values()]}
    file = Path(path)
    tmp = file.with_name(file.name + ".tmp")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, file)
        return None
    except OSError as exc:
        return f"{path}: cannot write feedback state: {exc.strerror or exc}"
