"""Grafana dashboards as code. `generate` writes them into grafana/dashboards/ (provisioned
by provisioning/grafana/dashboards/); `check` lists the files that differ from the code."""
from pathlib import Path

from foresight_dev.dashboards import overview, pipeline_health, predictor_detail

from .render import render

# file name -> builder; the overview's file name is Grafana's home dashboard in compose.
DASHBOARDS = {
    "foresight-overview.json": overview.build,
    "foresight-predictor-detail.json": predictor_detail.build,
    "foresight-pipeline-health.json": pipeline_health.build,
}


def rendered() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {name: render(build()) for name, build in DASHBOARDS.items()}


def generate(output_dir: Path) -> list[Path]:
    """Write every dashboard into output_dir; returns the paths written."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered().items():
        path = output_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check(output_dir: Path) -> list[str]:
    """Dashboard files in output_dir that are missing or differ from the code, as messages."""
    output_dir = Path(output_dir)
    stale = []
    for name, text in rendered().items():
        path = output_dir / name
        if not path.is_file():
            stale.append(f"{path}: missing (run `foresight dashboards`)")
        elif path.read_text(encoding="utf-8") != text:
            stale.append(f"{path}: differs from the generated dashboard (run `foresight dashboards`)")
    # A hand-written file left beside the generated ones would still be provisioned.
    for path in sorted(output_dir.glob("*.json")):
        if path.name not in DASHBOARDS:
            stale.append(f"{path}: not generated from code (delete it or add it to foresight_dev.dashboards)")
    return stale


__all__ = ["DASHBOARDS", "check", "generate", "rendered"]
