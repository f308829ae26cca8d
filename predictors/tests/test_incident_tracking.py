"""The engine's incident tracker: at-risk predictions on services that call each other
share one incident; a target related to no other is its own incident."""
from foresight.incident_tracking import IncidentTracker
from foresight.predictors.base import Prediction

T0 = 1_767_225_600.0


def at(service, t, level=2, predictor="db-pool"):
    return Prediction(predictor=predictor, labels={"service": service}, timestamp=t, observed=1.0, risk_level=level)


def test_callers_of_a_degraded_service_join_its_incident_and_strangers_do_not():
    tracker = IncidentTracker()
    tracker.graph.add_call("checkout", "db", T0)
    tracker.graph.add_call("inventory", "db", T0)
    first = [at("db", T0, predictor="db-cpu"), at("batch", T0, predictor="disk")]
    tracker.assign(first)
    later = [at("db", T0 + 300, predictor="db-cpu"), at("checkout", T0 + 300), at("inventory", T0 + 600),
             at("batch", T0 + 600, predictor="disk")]
    tracker.assign(later)
    incidents = {p.labels["service"]: p.incident for p in later}
    assert incidents["checkout"] == incidents["inventory"] == incidents["db"]
    assert incidents["db"][1] == "db"  # the root-cause candidate: the service the others call
    assert incidents["batch"] == ("batch-20260101T0000", "batch")  # alone: its own incident, stable id


def test_a_target_that_leaves_risk_leaves_its_incident():
    tracker = IncidentTracker()
    p = at("batch", T0)
    tracker.assign([p])
    assert p.incident is not None
    calm = at("batch", T0 + 60, level=0)
    tracker.assign([calm])
    assert calm.incident is None
