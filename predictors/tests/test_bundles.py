"""Model bundles from `foresight train` (CSV history): what they hold, that loading one
warm-starts an engine, and that a tampered bundle fails with a clear error."""
import hashlib
import json
import math
import shutil

import pytest
from lifecycle_helpers import CONFIG, loadgen_history

from foresight.config import load_config
from foresight.contracts.points import GAUGE, Point
from foresight.lifecycle.bundles import BundleError, read_bundle, read_manifest
from foresight.runtime.champions import apply_bundle
from foresight.runtime.cli import main
from foresight.runtime.engine import Engine


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two days of loadgen memory-leak, trained; the CSV's last rows kept back as live data."""
    tmp = tmp_path_factory.mktemp("train")
    rows, failures = loadgen_history(tmp)
    history, held = rows[:2100], rows[2100:]
    with open(tmp / "history.csv", "w") as handle:
        handle.write("timestamp,process_memory_usage_bytes,k8s_container_memory_limit_bytes\n")
        handle.writelines(f"{t},{used},{limit}\n" for t, used, limit in history)
    (tmp / "predictors.yaml").write_text(CONFIG)
    assert main(["train", "-c", str(tmp / "predictors.yaml"), "--output-dir", str(tmp / "out"),
                 str(tmp / "history.csv")]) == 0
    return {"tmp": tmp, "out": tmp / "out", "held": held, "failures": failures, "history": history}


def copy(trained, tmp_path, name="memory"):
    folder = tmp_path / name
    shutil.copytree(trained["out"] / "bundles" / name, folder)
    return folder


def rehash(folder):
    """What a careful tamperer does: the manifest's hash made to match the changed state."""
    manifest = json.loads((folder / "bundle.json").read_text())
    manifest["files"]["state.jsonl"] = hashlib.sha256((folder / "state.jsonl").read_bytes()).hexdigest()
    (folder / "bundle.json").write_text(json.dumps(manifest))


def test_a_bundle_per_metric_predictor_with_config_window_versions_and_scores(trained, capsys):
    out = trained["out"]
    assert sorted(p.name for p in (out / "bundles").iterdir()) == ["memory", "memory-anomaly"]  # not the logs kind
    assert (out / "models.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bundle = read_bundle(out / "bundles" / "memory")
    assert bundle.kind == "exhaustion" and bundle.config["limit_series"] == "k8s_container_memory_limit_bytes"
    assert bundle.window["start"] == trained["history"][0][0] and bundle.window["end"] == trained["history"][-1][0]
    assert {"python", "numpy", "statsmodels", "scikit-learn"} <= set(bundle.libraries)
    assert {row[0] for row in bundle.rows} == {"series", "config", "shared", "target"}
    scores = json.loads((out / "scores.json").read_text())["memory"]
    assert scores == bundle.scores
    known = [f for f in trained["failures"] if trained["history"][0][0] < f <= trained["history"][-1][0]]
    assert scores["known_crossings"] == len(known)
    assert scores["crossings_warned"] + scores["crossings_missed"] == len(known)
    assert math.isclose(sum(v for k, v in scores.items() if k.startswith("model_share.")), 1.0)


def test_a_bundle_warm_starts_an_engine(trained):
    config = load_config(trained["tmp"] / "predictors.yaml")
    warm, cold = Engine(config), Engine(config)
    apply_bundle(warm, read_bundle(trained["out"] / "bundles" / "memory"), with_series=True)
    t, used, limit = trained["held"][0]
    for engine in (warm, cold):
        engine.add_points("metrics", [Point("process_memory_usage_bytes", (), t, used, GAUGE),
                                      Point("k8s_container_memory_limit_bytes", (), t, limit, GAUGE)])
    memory = [p for p in warm.evaluate() if p.predictor == "memory"]
    assert memory and math.isfinite(memory[0].ttf[0.5]) and memory[0].history_seconds > 86400
    assert not [p for p in cold.evaluate() if p.predictor == "memory"]  # one point: nothing to fit yet


def test_a_changed_state_file_fails_its_hash(trained, tmp_path):
    folder = copy(trained, tmp_path)
    state = folder / "state.jsonl"
    state.write_text(state.read_text().replace('"first_seen":', '"first_seen": ', 1))
    with pytest.raises(BundleError, match=r"state.jsonl does not match the SHA-256 in bundle.json"):
        read_bundle(folder)


def test_a_class_outside_foresight_is_refused_with_where(trained, tmp_path):
    folder = copy(trained, tmp_path)
    state = folder / "state.jsonl"
    lines = state.read_text().splitlines()
    lines[-1] = lines[-1].replace('"class":"foresight.predictors.exhaustion.state:TargetState"',
                                  '"class":"subprocess:Popen"', 1)
    assert lines[-1] != state.read_text().splitlines()[-1]
    state.write_text("\n".join(lines) + "\n")
    rehash(folder)
    with pytest.raises(BundleError) as error:
        read_bundle(folder)
    message = str(error.value)
    assert f"state.jsonl line {len(lines)}" in message and "'subprocess:Popen' is not a Foresight class" in message


def test_a_pickle_in_the_folder_is_refused(trained, tmp_path):
    folder = copy(trained, tmp_path)
    (folder / "model.pkl").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(BundleError, match=r"unexpected file\(s\) model.pkl"):
        read_manifest(folder)


def test_a_changed_config_fails_its_hash_and_a_bad_manifest_is_named(trained, tmp_path):
    folder = copy(trained, tmp_path)
    manifest = json.loads((folder / "bundle.json").read_text())
    manifest["config"]["lookback"] = "4h"
    (folder / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="does not match its config_sha256"):
        read_bundle(folder)
    (folder / "bundle.json").write_text("[1, 2]")
    with pytest.raises(BundleError, match="not a Foresight bundle manifest"):
        read_bundle(folder)
    (folder / "bundle.json").unlink()
    with pytest.raises(BundleError, match="no bundle.json"):
        read_bundle(folder)


def test_a_row_of_another_predictor_is_refused(trained, tmp_path):
    folder = copy(trained, tmp_path)
    state = folder / "state.jsonl"
    text = state.read_text().replace('"section":"target","name":"memory"', '"section":"target","name":"other"', 1)
    state.write_text(text)
    rehash(folder)
    with pytest.raises(BundleError, match="a target row of predictor 'other' in the bundle of 'memory'"):
        read_bundle(folder)


def test_a_bundle_that_reads_other_series_is_not_applied(trained, tmp_path):
    changed = CONFIG.replace("limit_series: k8s_container_memory_limit_bytes", "limit_series: other_limit_bytes", 1)
    (tmp_path / "p.yaml").write_text(changed)
    engine = Engine(load_config(tmp_path / "p.yaml"))
    before = engine.predictors[0]
    with pytest.raises(BundleError, match="trained with another model config that reads other series"):
        apply_bundle(engine, read_bundle(trained["out"] / "bundles" / "memory"), with_series=True)
    assert engine.predictors[0] is before and not engine.store.windows


def test_a_bundle_of_another_model_config_that_fits_runs_with_its_model_config(trained, tmp_path):
    """A promoted challenger trained with another model config (here lookback 2h, the
    default) runs with it; the config file's policy and words stay."""
    changed = CONFIG.replace("    unit: bytes\n", "    unit: bytes\n    lookback: 4h\n    policy: {probability: 0.6}\n", 1)
    (tmp_path / "p.yaml").write_text(changed)
    engine = Engine(load_config(tmp_path / "p.yaml"))
    report = apply_bundle(engine, read_bundle(trained["out"] / "bundles" / "memory"), with_series=True)
    memory = engine.predictors[0]
    assert memory.config.lookback == 2 * 3600.0 and memory.config.policy.probability == 0.6
    assert report.rows > 0 and not report.skipped.get("config_changed") and engine.store.windows


def test_train_needs_somewhere_to_keep_the_bundles(trained, capsys):
    assert main(["train", "-c", str(trained["tmp"] / "predictors.yaml"), str(trained["tmp"] / "history.csv")]) == 2
    assert "give --output-dir, --registry, or both" in capsys.readouterr().err


def test_csv_files_must_follow_each_other_in_time(trained, tmp_path, capsys):
    history = trained["tmp"] / "history.csv"
    assert main(["train", "-c", str(trained["tmp"] / "predictors.yaml"), "--output-dir", str(tmp_path / "o"),
                 str(history), str(shutil.copy(history, tmp_path / "again.csv"))]) == 2
    err = capsys.readouterr().err
    assert "again.csv: starts at 2026-01-01T00:00:00Z, before" in err and "one history in time order" in err


def test_an_unreachable_registry_is_a_clear_error_and_the_sidecar_starts_without_it(trained, capsys):
    from foresight.runtime.champions import Champions
    from foresight_dev.devstack.processes import free_port

    url = f"http://127.0.0.1:{free_port()}"
    assert main(["promote", "memory", "--registry", url]) == 2
    err = capsys.readouterr().err
    assert f"registry {url}: foresight-memory alias 'challenger': ConnectionError" in err
    assert main(["promote", "memory", "--registry", ""]) == 2
    assert "no registry URL given" in capsys.readouterr().err
    engine = Engine(load_config(trained["tmp"] / "predictors.yaml"))
    champions = Champions(engine, url, every=3600)
    assert champions.start(restored=False) == []  # logged; the predictors start blind
    assert champions.in_use == {} and not engine.store.windows
    champions.close()


# -- shadow mode: a challenger beside the champion, on the same stream -------------------

def test_a_challenger_runs_in_shadow_is_published_with_its_alias_and_scored(trained):
    from otlp_builders import gauge_payload

    from foresight.publish.endpoints import serve
    from foresight.runtime.promote import auto_verdict, read_scorecard
    from foresight.runtime.service import Service, Settings
    from foresight_dev.devstack.processes import free_port

    config = load_config(trained["tmp"] / "predictors.yaml")
    svc = Service(config, Settings(listen="127.0.0.1:0"))
    bundle = read_bundle(trained["out"] / "bundles" / "memory")
    apply_bundle(svc.engine, bundle, with_series=True)
    # The same bundle as its challenger: on the same stream it must do exactly as the champion.
    svc.models.shadow.start(7, bundle)
    svc.models.started("memory", 7)
    held = trained["held"][:150]
    for t, used, limit in held:
        svc.handle([("metrics", gauge_payload("process.memory.usage", "By", [(t, used)])),
                    ("metrics", gauge_payload("k8s.container.memory.limit", "By", [(t, limit)]))])
    samples = {(s.labels.get("alias"), s.name): s.value for family in svc.registry.collect() for s in family.samples
               if s.labels.get("predictor") == "memory" and s.labels.get("quantile") == "0.5"
               and s.name == "foresight_time_to_failure_seconds"}
    assert set(samples) == {(None, "foresight_time_to_failure_seconds"),
                            ("challenger", "foresight_time_to_failure_seconds")}
    assert samples[(None, "foresight_time_to_failure_seconds")] == samples[("challenger", "foresight_time_to_failure_seconds")]
    score = {(a, s): v for p, a, s, v in svc.models.scorecard.scores(held[-1][0]) if p == "memory"}
    assert score[("champion", "forecasts_scored")] == score[("challenger", "forecasts_scored")] >= 60
    assert score[("champion", "forecast_mase_1h")] == score[("challenger", "forecast_mase_1h")] > 0
    # The challenger only reads: the champion's policy holds only the champion's targets, and
    # the store no series it would have added.
    assert len(svc.engine.policies["memory"].levels) <= 1
    server = serve(f"127.0.0.1:{(port := free_port())}", svc.registry, lambda: (True, ""), lambda: (True, ""))
    try:
        card = read_scorecard(f"http://127.0.0.1:{port}", "memory")
        assert card[("challenger", "version")] == 7 and card[("challenger", "days_better")] == 0
        assert auto_verdict(card, 1, 7) == (False, "the challenger was better on 0 scored day(s) in a row of 0; "
                                                   "1 needed")
        assert auto_verdict(card, 1, 8)[1] == "the sidecar scored version 7, but the challenger is now version 8"
    finally:
        server.shutdown()
    # Stopped: its series go at the next publish.
    svc.models.shadow.stop("memory")
    t, used, limit = trained["held"][150]
    svc.handle([("metrics", gauge_payload("process.memory.usage", "By", [(t, used)]))])
    assert svc.registry.get_sample_value("foresight_risk_level", {"predictor": "memory", "alias": "challenger"}) is None
    svc.close()


def test_auto_promotion_needs_better_days_and_no_more_alerts(capsys):
    from foresight.runtime.promote import auto_verdict

    assert main(["promote", "memory", "--registry", "http://127.0.0.1:1", "--auto"]) == 2
    assert "--auto promotes the challenger from the live scorecard: give --scorecard URL" in capsys.readouterr().err

    card = {("challenger", "version"): 4.0, ("challenger", "days_better"): 3.0, ("challenger", "days_scored"): 5.0,
            ("challenger", "alert_episodes"): 2.0, ("champion", "alert_episodes"): 2.0}
    assert auto_verdict(card, 3, 4) == (True, "better on the last 3 scored days, 2 alert episodes against 2")
    assert auto_verdict(card, 4, 4)[0] is False
    assert auto_verdict({**card, ("challenger", "alert_episodes"): 3.0}, 3, 4) == (
        False, "the challenger entered 3 alert episodes, the champion 2")
    assert auto_verdict({}, 3, 4) == (False, "the sidecar runs no challenger in shadow (no scorecard for it yet)")
    assert auto_verdict(card, 3, None) == (False, "no challenger registered")


def test_an_unreachable_scorecard_is_a_clear_error():
    from foresight.lifecycle.registry import RegistryError
    from foresight.runtime.promote import read_scorecard
    from foresight_dev.devstack.processes import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError, match=f"scorecard {url}/metrics: ConnectionError"):
        read_scorecard(url, "memory")


def test_a_challenger_that_cannot_run_here_is_refused_and_the_scorecard_untouched(trained, tmp_path, caplog, capsys):
    from foresight.runtime.champions import Champions
    from foresight.runtime.service import Service, Settings
    from foresight_dev.devstack.processes import free_port

    changed = CONFIG.replace("limit_series: k8s_container_memory_limit_bytes", "limit_series: other_limit_bytes", 1)
    (tmp_path / "p.yaml").write_text(changed)
    svc = Service(load_config(tmp_path / "p.yaml"), Settings(listen="127.0.0.1:0"))
    url = f"http://127.0.0.1:{free_port()}"
    champions = Champions(svc.engine, url, every=3600, watch=svc.models)
    champions._pending.put(("challenger", "memory", 5, read_bundle(trained["out"] / "bundles" / "memory")))
    assert champions.apply_pending() == []
    assert champions.refused == 1 and svc.models.shadow.running == {}
    assert "version 5 of foresight-memory refused as the challenger" in caplog.text
    assert "trained with another model config that reads other series" in caplog.text
    # An unreachable scorecard is a clear error naming it; nothing is promoted.
    assert main(["promote", "memory", "--registry", url, "--auto", "--scorecard", url]) == 2
    assert "error: registry " in capsys.readouterr().err  # the registry is asked first: it is down too
    champions.close()
    svc.close()
