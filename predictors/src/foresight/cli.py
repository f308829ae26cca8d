"""The `foresight` command line."""
import argparse
import logging
import os
import signal
import sys

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
        description="Foresight predictor sidecar: forecasts resource exhaustion from OpenTelemetry "
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
    backtest.add_argument("inputs", nargs="+", metavar="DATA.csv",
                          help="a 'timestamp' column (unix seconds, RFC 3339, or 'YYYY-mm-dd HH:MM:SS' in UTC) "
                               "and one column per series, named as the predictors' selectors name them")
    return parser


def cmd_check(args) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"{args.config}: ok, {len(config.predictors)} predictor(s)")
    for p in config.predictors:
        print(f"  {p.name}: {p.kind} on {p.series}")
    return 0


def cmd_run(args) -> int:
    from .service import Service, Settings

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    settings = Settings(kafka_bootstrap=args.kafka_bootstrap, consumer_group=args.consumer_group,
                        prometheus_url=args.prometheus_url, warmup=args.warmup, listen=args.listen)
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
        results = run_backtest(config, args.inputs, args.output_dir)
    except (ConfigError, BacktestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for r in results:
        skipped = f", {r.skipped_cells} NaN/infinite cell(s) skipped" if r.skipped_cells else ""
        print(f"{r.input_path} -> {r.output_path}: {r.rows} row(s) x {len(config.predictors)} predictor(s){skipped}")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"run": cmd_run, "check": cmd_check, "demo": cmd_demo, "backtest": cmd_backtest}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
