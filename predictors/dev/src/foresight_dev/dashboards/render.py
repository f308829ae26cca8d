"""Dashboard builders to the JSON files Grafana provisions: stable panel ids, stable key order."""
import json

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog.encoder import JSONEncoder


def panels_in_order(panels: list[dict]):
    """Every panel, rows before the panels they hold."""
    for panel in panels:
        yield panel
        yield from panels_in_order(panel.get("panels", []))


def render(builder: db.Dashboard) -> str:
    """The dashboard as JSON text; the same builder always gives the same bytes."""
    model = json.loads(JSONEncoder().encode(builder.build()))
    # The SDK leaves panel ids unset (rows get 0); Grafana wants them unique for links and edits.
    for number, panel in enumerate(panels_in_order(model["panels"]), start=1):
        panel["id"] = number
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
