"""From prediction to alert: severity with hysteresis (severity), the recommended action
with its numbers (actions), and incidents across services that call each other (incidents)."""
from .actions import render_action, without_numbers
from .incidents.tracker import IncidentTracker
from .severity import Policy

__all__ = ["IncidentTracker", "Policy", "render_action", "without_numbers"]
