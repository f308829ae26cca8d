"""`foresight run --feedback FILE`: a bad feedback file stops the sidecar before it starts."""
from foresight.runtime.cli import main

CONFIG = "predictors:\n  - name: m\n    kind: exhaustion\n    series: used\n    limit: 100\n"


def test_a_bad_feedback_file_names_the_file_and_field(tmp_path, capsys):
    config = tmp_path / "p.yaml"
    config.write_text(CONFIG)
    feedback = tmp_path / "feedback.yaml"
    feedback.write_text("grafana_url: http://grafana:3000\nstate_path: /tmp/x.json\nmargin: 0.9\n")
    assert main(["run", "-c", str(config), "--feedback", str(feedback)]) == 2
    err = capsys.readouterr().err
    assert str(feedback) in err and "feedback.margin" in err


def test_a_missing_feedback_file_is_an_error(tmp_path, capsys):
    config = tmp_path / "p.yaml"
    config.write_text(CONFIG)
    assert main(["run", "-c", str(config), "--feedback", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml" in capsys.readouterr().err
