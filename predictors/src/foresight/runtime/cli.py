"""The `foresight` command line."""
import argparse
import logging
import os
import signal
import sys
from importlib.metadata import entry_points
from pathlib import Path

import yaml

from foresight.config import ConfigError, Fields, load_config
from foresight.contracts.durations import parse_duration

EXIT_CONFIG = 2
COMMANDS_GROUP = "foresight.commands"
DEV_COMMANDS = ("demo", "dashboards")  # added by the dev tooling (predictors/dev)


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _duration_arg(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser(extra_commands: dict | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="foresight",
        description="Foresight predictor sidecar: forecasts resource exhaustion, scores anomalies in "
                    "metrics and logs from OpenTelemetry "
                    "telemetry and publishes foresight_* Prometheus metrics.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the sidecar service (Kafka in, /metrics out)",
                         description="Consume OTLP from Kafka, run the configured predictors on event time, "
                                     "and serve /metrics, /healthz and /readyz.")
    run.add_argument("-c", "--config", required=True, help="predictor config YAML")
    run.add_argument("--kafka-bootstrap", default=_env("FORESIGHT_KAFKA_BOOTSTRAP", "localhost:9092"),
                     help="Kafka bootstrap servers, comma-separated (env FORESIGHT_KAFKA_BOOTSTRAP; default %(default)s)")
    run.add_argument("--consumer-group", default=_env("FORESIGHT_CONSUMER_GROUP", "foresight-predictors"),
                     help="Kafka consumer group (env FORESIGHT_CONSUMER_GROUP; default %(default)s)")
    run.add_argument("--prometheus-url", default=_env("FORESIGHT_PROMETHEUS_URL", ""),
                     help="Prometheus base URL to warm windows from at start; empty skips warm-up "
                          "(env FORESIGHT_PROMETHEUS_URL)")
    run.add_argument("--warmup", type=_duration_arg, default=_env("FORESIGHT_WARMUP", "6h"),
                     help="how much Prometheus history to load at start (env FORESIGHT_WARMUP; default %(default)s)")
    run.add_argument("--listen", default=_env("FORESIGHT_LISTEN", "0.0.0.0:9464"),
                     help="HOST:PORT for /metrics, /healthz, /readyz (env FORESIGHT_LISTEN; default %(default)s)")
    run.add_argument("--feedback", default=_env("FORESIGHT_FEEDBACK", ""), metavar="FILE",
                     help="YAML settings of the Grafana feedback loop (grafana_url, state_path, token_file, ...; "
                          "docs/feedback.md); empty turns it off (env FORESIGHT_FEEDBACK)")
    run.add_argument("--log-level", default=_env("FORESIGHT_LOG_LEVEL", "INFO"),
                     choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                     help="log level (env FORESIGHT_LOG_LEVEL; default %(default)s)")

    check = sub.add_parser("check", help="validate a predictor config and exit (2 when invalid)")
    check.add_argument("-c", "--config", required=True, help="predictor config YAML")

    backtest = sub.add_parser("backtest", help="replay CSV history through the predictors and write what they predicted",
                              description="Feed each CSV file, row by row, through the same engine and policy the "
                                          "sidecar runs, and write one output row per input row and predictor to "
                                          "OUTPUT_DIR/<input file name>. A row's outputs use only the rows up to it.")
    backtest.add_argument("-c", "--config", required=True, help="predictor config YAML")
    backtest.add_argument("--output-dir", required=True, help="where to write the outputs (created if missing)")
    backtest.add_argument("--late-rows", choices=("error", "skip"), default="error",
                          help="a row whose timestamp is not after every earlier row's: stop with an error "
                               "(default), or skip it (written with empty predictions and counted), as the "
                               "sidecar drops out-of-order points")
    backtest.add_argument("inputs", nargs="+", metavar="DATA.csv",
                          help="a 'timestamp' column (unix seconds, RFC 3339, or 'YYYY-mm-dd HH:MM:SS' in UTC) "
                               "and one column per series, named as the predictors' selectors name them")
    rules = sub.add_parser("rules", help="generate the Prometheus alert rules from a predictor config",
                           description="Write one alert-rule group per predictor (severities, for:, annotations that "
                                       "say what, when, how sure, why and what to do). With --check, exit 1 when "
                                       "--output differs from what the config generates (CI runs this).")
    rules.add_argument("-c", "--config", required=True, help="predictor config YAML")
    rules.add_argument("--output", help="the rule file to write (default: print the rules)")
    rules.add_argument("--check", action="store_true", help="compare --output with the generated rules; exit 1 when stale")
    rules.add_argument("--grafana-url", default=_env("FORESIGHT_GRAFANA_URL", "http://localhost:3000"),
                       help="Grafana base URL for the dashboard links (env FORESIGHT_GRAFANA_URL; default %(default)s)")
    for command in (dev_commands() if extra_commands is None else extra_commands).values():
        command.add_parser(sub).set_defaults(handler=command.run)
    return parser


def dev_commands() -> dict:
    """Subcommands that installed extras add (entry points `foresight.commands`): the dev
    tooling adds `demo` and `dashboards`."""
    found = {}
    for entry in entry_points(group=COMMANDS_GROUP):
        try:
            found[entry.name] = entry.load()
        except ImportError as exc:  # a broken extra must not take the sidecar's CLI down
            print(f"warning: the command {entry.name!r} from {entry.value} cannot load: {exc}", file=sys.stderr)
    return found


def cmd_rules(args) -> int:
    from foresight.generate.rules import rules_command

    return rules_command(args.config, args.output, args.check, grafana_url=args.grafana_url)


def cmd_check(args) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"{args.config}: ok, {len(config.predictors)} predictor(s)")
    for p in config.predictors:
        print(f"  {p.name}: {p.kind} on {p.series if p.series is not None else 'the OTLP log stream'}")
    return 0


def cmd_run(args) -> int:
    from .service import Service, Settings

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from foresight.feedback import FeedbackSettings, log_events_as_json

    feedback = None
    if args.feedback:
        try:
            feedback = FeedbackSettings.read(Fields(yaml.safe_load(Path(args.feedback).read_text()), args.feedback,
                                                    FeedbackSettings.block))
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        except (OSError, yaml.YAMLError) as exc:
            print(f"error: {args.feedback}: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    log_events_as_json()  # predictions, alert decisions and feedback as JSON lines on stderr
    settings = Settings(kafka_bootstrap=args.kafka_bootstrap, consumer_group=args.consumer_group,
                        prometheus_url=args.prometheus_url, warmup=args.warmup, listen=args.listen,
                        feedback=feedback)
    service = Service(config, settings)
    signal.signal(signal.SIGTERM, lambda *_: service.stop_event.set())
    try:
        service.run()
    except KeyboardInterrupt:
        service.stop_event.set()
    return 0


def cmd_backtest(args) -> int:
    from foresight.sources.csv_table import BacktestError

    from .backtest import run_backtest

    try:
        config = load_config(args.config)
        results = run_backtest(config, args.inputs, args.output_dir, late_rows=args.late_rows)
    except (ConfigError, BacktestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for r in results:
        skipped = f", {r.skipped_cells} NaN/infinite cell(s) skipped" if r.skipped_cells else ""
        skipped += f", {r.late_rows} row(s) out of time order skipped" if r.late_rows else ""
        print(f"{r.input_path} -> {r.output_path}: {r.rows} row(s) x {len(config.predictors)} predictor(s){skipped}")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    extra = dev_commands()
    if argv and argv[0] in DEV_COMMANDS and argv[0] not in extra:
        print(f"error: `foresight {argv[0]}` is part of the dev tooling, which is not installed here; "
              f"from a source checkout run `pip install -e predictors/dev` (make demo and make generate do this)",
              file=sys.stderr)
        return EXIT_CONFIG
    args = build_parser(extra).parse_args(argv)
    handlers = {"run": cmd_run, "check": cmd_check, "backtest": cmd_backtest, "rules": cmd_rules}
    handler = handlers.get(args.command) or args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
