"""Command line: `loadgen list`, `loadgen run SCENARIO`, `loadgen csv SCENARIO`."""

import argparse
import json
import math
import sys
from pathlib import Path

from kafka.errors import KafkaError

from . import csv_output
from .exporters import DEFAULT_ENDPOINTS, ENDPOINT_ENV, OtlpSender, Protocol, parse_protocol, resolve_endpoint
from .kafka_export import TRACE_KEYS, KafkaSender
from .player import Player, RunPlan
from .registry import SCENARIOS, get_scenario
from .report import Reporter
from .scenarios import Scenario
from .timeparse import parse_duration, parse_start

DEFAULT_START = "2026-01-01T00:00:00Z"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """Reports a bad argument as one line (no usage dump) and exits 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _typed(parse):
    """Wrap a parser so argparse shows its ValueError/KeyError message verbatim."""

    def convert(text):
        try:
            return parse(text)
        except (ValueError, KeyError) as error:
            raise argparse.ArgumentTypeError(error.args[0]) from None

    return convert


def _finite_number(text: str, what: str, expected: str, allow_zero: bool) -> float:
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"invalid {what} {text!r}: expected {expected}")
    return number


def _speed(text: str) -> float:
    return _finite_number(text, "speed", "a number >= 0 (0 = as fast as possible)", allow_zero=True)


def _timeout(text: str) -> float:
    return _finite_number(text, "timeout", "seconds > 0", allow_zero=False)


def _add_timeline_options(parser: argparse.ArgumentParser, duration: str, step: str) -> None:
    parser.add_argument("scenario", metavar="SCENARIO", type=_typed(get_scenario),
                        help=f"one of: {', '.join(SCENARIOS)}")
    parser.add_argument("--duration", type=_typed(parse_duration), default=parse_duration(duration),
                        help=f"simulated time to cover, e.g. 30s, 15m, 8h, 7d (default {duration})")
    parser.add_argument("--step", type=_typed(parse_duration), default=parse_duration(step),
                        help=f"simulated time between points of each metric (default {step})")
    parser.add_argument("--start", type=_typed(parse_start), default=parse_start(DEFAULT_START),
                        help=f"simulated start instant, ISO 8601; no offset means UTC (default {DEFAULT_START})")
    parser.add_argument("--seed", type=int, default=1, help="noise and failure-time seed (default 1)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="loadgen",
        description="Simulated services (frontend -> checkout -> payments, checkout -> db) that send "
        "OTLP metrics, logs and traces in simulated time, with named failure scenarios.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="print each scenario's name and description",
                                  description="Print each scenario's name and one-line description.")
    listing.add_argument("--json", action="store_true",
                         help="print one JSON object per scenario with its watched series and limit")

    run = commands.add_parser(
        "run", help="play a scenario to an OTLP endpoint",
        description="Play SCENARIO from --start in simulated time, one point per metric every --step, "
        "paced at --speed times real time, sending metrics, logs and traces over OTLP. "
        "Exits 1 if every export failed, 130 on Ctrl-C.",
    )
    _add_timeline_options(run, duration="12h", step="15s")
    run.add_argument("--endpoint",
                     help=f"OTLP base URL; default ${ENDPOINT_ENV}, else "
                     f"{DEFAULT_ENDPOINTS[Protocol.HTTP]} (http/protobuf) or "
                     f"{DEFAULT_ENDPOINTS[Protocol.GRPC]} (grpc)")
    run.add_argument("--kafka-bootstrap", metavar="HOST:PORT[,...]",
                     help="send OTLP protobuf straight to the Kafka topics otlp_metrics, otlp_logs and otlp_traces "
                          "instead of an OTLP endpoint, keyed as the collector keys them: metrics by resource, "
                          "logs by service, traces by --kafka-trace-key")
    run.add_argument("--kafka-trace-key", choices=TRACE_KEYS, default="trace-id",
                     help="key of trace messages on the Kafka path: trace-id (both sides of a call on one "
                          "partition, as the collector does) or service (default trace-id)")
    run.add_argument("--protocol", type=_typed(parse_protocol), default=Protocol.HTTP,
                     metavar="{http/protobuf,grpc}", help="OTLP transport (default http/protobuf)")
    run.add_argument("--history", type=_typed(parse_duration), default=0,
                     help="healthy history to send first, from --start minus this up to --start, as fast as "
                          "possible (so predictors know the services' normal days), e.g. 2d (default none)")
    run.add_argument("--speed", type=_typed(_speed), default=60.0,
                     help="simulated seconds per wall second; 0 = as fast as possible (default 60)")
    run.add_argument("--timeout", type=_typed(_timeout), default=5.0,
                     help="seconds before one export gives up (default 5)")
    run.add_argument("--json", action="store_true",
                     help="print JSON lines (start, failure, progress, end events) instead of text")

    csv_command = commands.add_parser(
        "csv", help="write a scenario's watched series and limit to CSV",
        description="Write `timestamp` (unix seconds) and one column per Prometheus-style series of "
        "SCENARIO's watched resource and its limit, the same values `run` sends.",
    )
    _add_timeline_options(csv_command, duration="7d", step="60s")
    csv_command.add_argument("--output", type=Path, required=True, metavar="FILE", help="CSV file to write")
    csv_command.add_argument("--failures", type=Path, metavar="FILE",
                             help="also write the failure times as CSV: timestamp,service,resource")
    return parser


def _list(args) -> int:
    for scenario in SCENARIOS.values():
        if args.json:
            w = scenario.watched
            print(json.dumps({"name": scenario.name, "description": scenario.description, "service": w.service,
                              "resource": w.resource, "metric": w.metric, "selector": w.selector,
                              "limit_metric": w.limit_metric, "limit": w.limit}))
        else:
            print(f"{scenario.name:<20} {scenario.description}")
    return 0


def _run(args, parser: argparse.ArgumentParser) -> int:
    try:
        endpoint = resolve_endpoint(args.protocol, args.endpoint)
    except ValueError as error:
        parser.error(str(error))
    plan = RunPlan(args.scenario, args.start, args.duration, args.step, args.seed, args.speed, args.history)
    if args.kafka_bootstrap:
        if args.endpoint:
            parser.error("--endpoint and --kafka-bootstrap exclude each other: one path at a time")
        try:
            sender = KafkaSender(args.kafka_bootstrap, args.timeout, args.kafka_trace_key)
        except KafkaError as error:
            print(f"loadgen: cannot reach Kafka at {args.kafka_bootstrap}: {error}", file=sys.stderr)
            return 1
        endpoint = sender.endpoint
    else:
        sender = OtlpSender(args.protocol, endpoint, args.timeout)
    try:
        Player(plan, sender, Reporter(args.json)).play()
    finally:
        sender.shutdown()
    if sender.stats.all_failed():
        print(f"loadgen: every export to {endpoint} failed", file=sys.stderr)
        return 1
    return 0


def _csv(args) -> int:
    scenario: Scenario = args.scenario
    rows = csv_output.write_series(args.output, scenario, args.start, args.duration, args.step, args.seed)
    print(f"wrote {rows} rows to {args.output}")
    if args.failures:
        count = csv_output.write_failures(args.failures, scenario, args.start, args.duration, args.seed)
        print(f"wrote {count} failure times to {args.failures}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return _list(args)
        if args.command == "run":
            return _run(args, parser)
        return _csv(args)
    except KeyboardInterrupt:
        print("loadgen: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
