"""The `foresight` command line."""
import argparse
import logging
import os
import signal
import sys
from pathlib import Path

import yaml

from .config import ConfigError, load_config
from .durations import parse_duration

EXIT_CONFIG = 2


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _duration_arg(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
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

    demo = sub.add_parser("demo", help="run the local demo stack with a loadgen scenario",
                          description="Start a Kafka API broker, an OTLP collector, Prometheus, Alertmanager and "
                                      "the predictor on free local ports, play a loadgen scenario at high speed, "
                                      "and print each notification Alertmanager delivers.")
    demo.add_argument("--scenario", default="memory-leak", help="loadgen scenario (default %(default)s)")
    demo.add_argument("--speed", type=float, default=400.0,
                      help="simulated seconds per wall second (default %(default)s)")
    demo.add_argument("--workdir", default=None, help="where to keep the stack's files (default: a temp dir)")

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
    dashboards = sub.add_parser("dashboards", help="generate the Grafana dashboards (overview, predictor detail, "
                                                   "pipeline health)",
                                description="Write the dashboards, built in code, as JSON into --output. With "
                                            "--check, exit 1 when the files there differ from the code (CI runs this).")
    dashboards.add_argument("--output", default="grafana/dashboards",
                            help="folder of the provisioned dashboards (default %(default)s)")
    dashboards.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 when stale")
    return parser


def cmd_dashboards(args) -> int:
    from .dashboards import check, generate

    output = Path(args.output)
    if args.check:
        problems = check(output)
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            print("run `foresight dashboards` and commit the result", file=sys.stderr)
            return 1
        print(f"{output}: dashboards up to date")
        return 0
    try:
        for path in generate(output):
            print(path)
    except OSError as exc:
        print(f"error: cannot write the dashboards to {output}: {exc.strerror}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def cmd_rules(args) -> int:
    from .rules import rules_command

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
    from .feedback import FeedbackSettings, log_events_as_json

    feedback = None
    if args.feedback:
        try:
            feedback = FeedbackSettings.from_mapping(yaml.safe_load(Path(args.feedback).read_text()),
                                                     where="feedback")
        except (OSError, ValueError, yaml.YAMLError) as exc:
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


def cmd_demo(args) -> int:
    from .devstack.demo import run_demo

    return run_demo(scenario=args.scenario, speed=args.speed, workdir=args.workdir)


def cmd_backtest(args) -> int:
    from .backtest import BacktestError, run_backtest

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
    args = build_parser().parse_args(argv)
    handlers = {"run": cmd_run, "check": cmd_check, "demo": cmd_demo, "backtest": cmd_backtest, "rules": cmd_rules,
                "dashboards": cmd_dashboards}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
