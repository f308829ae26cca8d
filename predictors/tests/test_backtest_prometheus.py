"""`foresight backtest --prometheus` against a real Prometheus (Debian `prometheus` 2.42).

Its TSDB is built with `promtool tsdb create-blocks-from openmetrics` from three days of
node_exporter-shaped series, one sample a minute: two hosts with `/`, `/var/log` and
`/data` each. On node-a `/data` fills up from hour 48 and runs out at hour 58; `/` and
the other `/data` stay level (with noise), `/var/log` fills a little each day and is
rotated at midnight. A counter (`node_disk_written_bytes_total`) writes faster while
`/data` fills.
"""
import csv
import math
import random
import re
import subprocess

import pytest

from foresight.config import parse_config
from foresight.runtime.backtest_prometheus import History, run_prometheus_backtest, summary_table
from foresight.runtime.cli import main
from foresight.sources.csv_table import parse_timestamp
from foresight.sources.prometheus import MAX_POINTS_PER_QUERY, PrometheusError, chunks, query_series
from foresight_dev.devstack.processes import Process, find_binary, free_port, python_script

pytestmark = pytest.mark.integration

T0 = 1_767_571_200  # 2026-01-05T00:00:00Z
HOURS = 72
STEP = 60
GB = 1e9
FILL_START = T0 + 48 * 3600
RUNS_OUT = T0 + 58 * 3600  # node-a's /data reaches 0 bytes available
FILL_RATE = 6 * GB / 3600  # bytes per second while /data fills
BASE_WRITES = 2e5  # bytes per second written on every host
NAN_AT = [T0 + 10 * 3600 + i * STEP for i in range(3)]  # node-b's `/` reports NaN (a broken read)

HOSTS = ("node-a:9100", "node-b:9100")
MOUNTS = {  # mountpoint -> (device, fstype, size)
    "/": ("/dev/sda1", "ext4", 50 * GB),
    "/var/log": ("/dev/sda2", "xfs", 20 * GB),
    "/data": ("/dev/sdb1", "ext4", 100 * GB),
}
FILLING = ("node-a:9100", "/data")

CONFIG = """\
predictors:
  - name: disk
    kind: exhaustion
    series: node_filesystem_avail_bytes{job="node"}
    limit: 0
    direction: down
    resource: disk space
    unit: bytes
    evaluate_every: 5m
  - name: writes
    kind: anomaly
    series: node_disk_written_bytes_total{job="node"}
"""
PREDICTION_HEADER = (
    "timestamp,predictor,labels,value,ttf_p10_seconds,ttf_p50_seconds,ttf_p90_seconds,probability_1h,"
    "probability_6h,probability_24h,anomaly_score,severity,limit,trend_per_second,predicted_at,"
    "forecast_1h_p10,forecast_1h_p50,forecast_1h_p90,forecast_6h_p10,forecast_6h_p50,forecast_6h_p90,"
    "forecast_24h_p10,forecast_24h_p50,forecast_24h_p90,model,why,action")
ALERT_HEADER = "predictor,labels,severity,start,end,ttf_p50_seconds_at_start,why"


def avail_bytes(host: str, mount: str, t: float, rng: random.Random) -> float:
    if (host, mount) == FILLING and t >= FILL_START:
        return max(0.0, 60 * GB - FILL_RATE * (t - FILL_START) + rng.gauss(0, 5e6))
    if mount == "/var/log":  # fills 4 GB a day, rotated at midnight
        return 16 * GB - 4 * GB * ((t - T0) % 86400) / 86400 + rng.gauss(0, 5e6)
    if host == HOSTS[1] and mount == "/" and t in NAN_AT:
        return math.nan
    level = {"/": 30 * GB, "/data": 60 * GB if host == HOSTS[0] else 80 * GB}[mount]
    return level + rng.gauss(0, 2e7)


def number(value: float) -> str:
    return "NaN" if math.isnan(value) else repr(value)  # OpenMetrics spells it NaN


def openmetrics() -> str:
    """node_exporter's filesystem and disk families, as promtool's backfill reads them."""
    times = [T0 + i * STEP for i in range(HOURS * 3600 // STEP)]
    lines = ["# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.",
             "# TYPE node_filesystem_avail_bytes gauge"]
    for n, host in enumerate(HOSTS):
        for m, (mount, (device, fstype, _)) in enumerate(MOUNTS.items()):
            rng = random.Random(10 * n + m)
            labels = f'device="{device}",fstype="{fstype}",instance="{host}",job="node",mountpoint="{mount}"'
            lines += [f"node_filesystem_avail_bytes{{{labels}}} {number(avail_bytes(host, mount, t, rng))} {t}"
                      for t in times]
    lines += ["# HELP node_filesystem_size_bytes Filesystem size in bytes.", "# TYPE node_filesystem_size_bytes gauge"]
    for host in HOSTS:
        for mount, (device, fstype, size) in MOUNTS.items():
            labels = f'device="{device}",fstype="{fstype}",instance="{host}",job="node",mountpoint="{mount}"'
            lines += [f"node_filesystem_size_bytes{{{labels}}} {size!r} {t}" for t in times]
    lines += ["# HELP node_disk_written_bytes The total number of bytes written successfully.",
              "# TYPE node_disk_written_bytes counter"]
    for host in HOSTS:
        total = 0.0
        for t in times:
            filling = host == FILLING[0] and FILL_START < t <= RUNS_OUT
            total += STEP * (BASE_WRITES + (FILL_RATE if filling else 0.0))
            lines.append(f'node_disk_written_bytes_total{{device="sdb",instance="{host}",job="node"}} {total!r} {t}')
    return "\n".join(lines + ["# EOF", ""])


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prom")
    (tmp / "history.om").write_text(openmetrics())
    data = tmp / "data"
    subprocess.run([find_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(tmp / "history.om"),
                    str(data)], check=True, capture_output=True)
    (tmp / "prometheus.yml").write_text("global: {scrape_interval: 15s}\n")
    port = free_port()
    # Retention far beyond the data, so no block is deleted whatever the date today.
    proc = Process("prometheus", [find_binary("prometheus"), f"--config.file={tmp / 'prometheus.yml'}",
                                  f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=100y",
                                  f"--web.listen-address=127.0.0.1:{port}"], tmp)
    try:
        proc.wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def replay(prometheus, tmp_path_factory):
    """The whole three days through `foresight backtest --prometheus`, as a user runs it."""
    tmp = tmp_path_factory.mktemp("replay")
    config = tmp / "predictors.yaml"
    config.write_text(CONFIG)
    out = tmp / "out"
    done = subprocess.run([python_script("foresight"), "backtest", "-c", str(config), "--output-dir", str(out),
                           "--prometheus", prometheus, "--start", "2026-01-05T00:00:00Z",
                           "--end", str(T0 + HOURS * 3600 - STEP), "--step", "1m"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar when stderr is not a terminal
    return out, done.stdout


def read_csv(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def labels_of(text: str) -> dict:
    """`{a="x",b="y"}` -> {"a": "x", "b": "y"}."""
    assert text.startswith("{") and text.endswith("}"), text
    return {name: re.sub(r"\\(.)", r"\1", value) for name, value in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', text)}


def seconds(stamp: str) -> float:
    return parse_timestamp(stamp)


# -- the outputs ---------------------------------------------------------------------------

def test_output_headers(replay):
    out, _ = replay
    assert (out / "predictions.csv").read_text().splitlines()[0] == PREDICTION_HEADER
    assert (out / "alerts.csv").read_text().splitlines()[0] == ALERT_HEADER


def test_one_target_per_mountpoint(replay):
    """Each label set is its own target: the mountpoints of one host are not merged."""
    out, _ = replay
    rows = [r for r in read_csv(out / "predictions.csv") if r["predictor"] == "disk"]
    targets = {(labels_of(r["labels"]).get("service_instance"), labels_of(r["labels"]).get("mountpoint"))
               for r in rows}
    assert targets == {(host, mount) for host in HOSTS for mount in MOUNTS}
    # One row per evaluation and target: every 5 minutes of event time, never twice at one time.
    per_target = {}
    for r in rows:
        per_target.setdefault(r["labels"], []).append(seconds(r["timestamp"]))
    for times in per_target.values():
        assert len(times) == len(set(times))
        assert all(later - earlier >= 300 for earlier, later in zip(times, times[1:]))


def test_an_alert_comes_at_least_an_hour_before_the_disk_is_full(replay):
    """direction: down towards limit: 0; noise on a level or cyclic filesystem is no reset."""
    out, _ = replay
    episodes = [e for e in read_csv(out / "alerts.csv") if e["predictor"] == "disk"]
    filling = [e for e in episodes
               if (labels_of(e["labels"]).get("service_instance"), labels_of(e["labels"]).get("mountpoint")) == FILLING]
    assert filling, episodes
    first = min(seconds(e["start"]) for e in filling)
    assert FILL_START < first <= RUNS_OUT - 3600
    assert {e["severity"] for e in filling} <= {"warning", "critical"}
    assert all(float(e["ttf_p50_seconds_at_start"]) < 8 * 3600 for e in filling)
    others = [e for e in episodes if e not in filling]
    assert others == []  # the level, noisy and cyclic filesystems never alert


def test_counters_are_replayed_as_rates(replay):
    """Prometheus returns the counter's running total; the store turns it into bytes per second."""
    out, _ = replay
    rows = [r for r in read_csv(out / "predictions.csv") if r["predictor"] == "writes"]
    assert rows
    for r in rows:
        t, value = seconds(r["timestamp"]), float(r["value"])
        host = labels_of(r["labels"]).get("service_instance")
        filling = host == FILLING[0] and FILL_START < t <= RUNS_OUT
        assert value == pytest.approx(BASE_WRITES + (FILL_RATE if filling else 0.0), rel=1e-6), r


def test_summary_counts_targets_evaluations_and_episodes(replay):
    out, printed = replay
    rows = read_csv(out / "predictions.csv")
    episodes = read_csv(out / "alerts.csv")
    table = {line.split()[0]: line.split()[1:] for line in printed.splitlines()[2:4]}
    assert printed.splitlines()[0].split() == ["predictor", "targets", "evaluations", "info", "warning", "critical"]
    for name in ("disk", "writes"):
        mine = [r for r in rows if r["predictor"] == name]
        severities = [e["severity"] for e in episodes if e["predictor"] == name]
        assert table[name] == [str(len({r["labels"] for r in mine})), str(len(mine)),
                               *(str(severities.count(s)) for s in ("info", "warning", "critical"))]
    assert f"{HOURS * 60} step(s)" in printed
    assert "3 NaN/infinite value(s) skipped" in printed


# -- chunks ---------------------------------------------------------------------------------

def test_prometheus_refuses_one_query_beyond_its_limit_and_accepts_the_chunks(prometheus):
    start, end, step = T0, T0 + 2 * 86400, 15.0  # 11,521 points at 15 s
    with pytest.raises(PrometheusError, match="11,000|resolution"):
        query_series(prometheus, "node_filesystem_size_bytes", start, end, step)
    pieces = chunks(start, end, step)
    assert len(pieces) == 2
    times = []
    for chunk_start, chunk_end in pieces:
        series = query_series(prometheus, 'node_filesystem_size_bytes{instance="node-a:9100",mountpoint="/"}',
                              chunk_start, chunk_end, step)
        times += list(series[0][2])
    assert times == [start + i * step for i in range(11521)]  # every step once, in order
    assert MAX_POINTS_PER_QUERY == 11000


def test_a_replay_in_many_chunks_equals_one_in_a_single_query(prometheus, tmp_path):
    config = parse_config(CONFIG.replace("evaluate_every: 5m", "evaluate_every: 1m"))
    start, end = FILL_START - 6 * 3600, FILL_START + 2 * 3600
    one = run_prometheus_backtest(config, History(prometheus, start, end, 60.0), tmp_path / "one", progress=False)
    many = run_prometheus_backtest(config, History(prometheus, start, end, 60.0, points_per_query=37),
                                   tmp_path / "many", progress=False)
    assert one.steps == many.steps == 8 * 60 + 1
    assert (tmp_path / "one" / "predictions.csv").read_bytes() == (tmp_path / "many" / "predictions.csv").read_bytes()
    assert (tmp_path / "one" / "alerts.csv").read_bytes() == (tmp_path / "many" / "alerts.csv").read_bytes()
    assert len(read_csv(tmp_path / "one" / "predictions.csv")) > 8 * 60


def test_a_driver_without_series_is_a_warning_not_an_error(prometheus, tmp_path):
    config = parse_config(CONFIG + "    drivers:\n      nothing: node_nothing_total\n")
    replay = run_prometheus_backtest(config, History(prometheus, T0, T0 + 3600), tmp_path, progress=False)
    assert replay.warnings == [f"{prometheus}: no series match predictor 'writes' drivers.nothing 'node_nothing_total' "
                               f"between 2026-01-05T00:00:00Z and 2026-01-05T01:00:00Z"]
    assert "warning: " + replay.warnings[0] in summary_table(config, replay)
    assert replay.evaluations["writes"] > 0


# -- errors: exit 2, naming what is wrong ------------------------------------------------------

def run_failing(capsys, tmp_path, *args) -> str:
    config = tmp_path / "predictors.yaml"
    if not config.exists():
        config.write_text(CONFIG)
    code = main(["backtest", "-c", str(config), "--output-dir", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code == 2, err
    return err


def test_a_selector_without_series_is_named(prometheus, tmp_path, capsys):
    (tmp_path / "predictors.yaml").write_text(CONFIG.replace('job="node"}\n    limit', 'job="nodes"}\n    limit'))
    err = run_failing(capsys, tmp_path, "--prometheus", prometheus, "--start", str(T0), "--end", str(T0 + 3600))
    assert "'disk' series" in err and 'node_filesystem_avail_bytes{job="nodes"}' in err and "no series" in err
    assert "2026-01-05T00:00:00Z" in err
    assert not (tmp_path / "out" / "predictions.csv").exists()


def test_an_unreachable_prometheus_is_named(tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    err = run_failing(capsys, tmp_path, "--prometheus", url, "--start", str(T0), "--end", str(T0 + 3600))
    assert f"cannot reach Prometheus at {url}" in err
