"""A closed pipe ends every command quietly (`foresight check ... | head`), through real pipes."""
import subprocess

import pytest

from foresight.runtime.cli import EXIT_BROKEN_PIPE
from foresight_dev.devstack.processes import python_script

PREDICTOR = """\
  - name: used{i}
    kind: exhaustion
    series: used{i}
    limit: 100
"""


@pytest.fixture(scope="module")
def big_config(tmp_path_factory):
    """3,000 predictors: `foresight check` prints more than a pipe holds (64 KiB)."""
    path = tmp_path_factory.mktemp("pipes") / "predictors.yaml"
    path.write_text("predictors:\n" + "".join(PREDICTOR.format(i=i) for i in range(3000)))
    return path


def test_check_into_head_ends_quietly(big_config):
    foresight = python_script("foresight")
    done = subprocess.run(["bash", "-c", f'"{foresight}" check -c "{big_config}" | head -n 1; '
                                         'echo "status ${PIPESTATUS[0]}" >&2'],
                          capture_output=True, text=True, timeout=300)
    assert done.stdout == f"{big_config}: ok, 3000 predictor(s)\n"
    assert done.stderr == f"status {EXIT_BROKEN_PIPE}\n"  # no traceback, no message


# argparse's help swallows write errors itself and exits 0.
HELP_CODES = (0, EXIT_BROKEN_PIPE)


@pytest.mark.parametrize("args, codes", [
    (["check", "-c", "{config}"], (EXIT_BROKEN_PIPE,)),
    (["rules", "-c", "{config}"], (EXIT_BROKEN_PIPE,)),
    (["backtest", "-c", "{config}", "--output-dir", "{out}", "{data}"], (EXIT_BROKEN_PIPE,)),
    (["backtest", "--help"], HELP_CODES),
    (["--help"], HELP_CODES),
], ids=["check", "rules", "backtest", "backtest help", "help"])
def test_every_command_ends_quietly_when_its_reader_has_gone(tmp_path, args, codes):
    config = tmp_path / "predictors.yaml"
    config.write_text("predictors:\n" + PREDICTOR.format(i=""))
    data = tmp_path / "data.csv"
    data.write_text("timestamp,used\n" + "".join(f"{1767225600 + 60 * i},{i}\n" for i in range(30)))
    argv = [a.format(config=config, out=tmp_path / "out", data=data) for a in args]
    proc = subprocess.Popen([python_script("foresight"), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader leaves before the command writes anything
    _, err = proc.communicate(timeout=300)
    assert err.decode() == ""
    assert proc.returncode in codes
