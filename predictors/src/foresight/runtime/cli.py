"""The `foresight` command line."""
import argparse
import dataclasses
import logging
import os
import signal
import sys
from importlib.metadata import entry_points
from pathlib import Path

from foresight.config import ConfigError, load_config
from foresight.contracts.durations import parse_duration
from foresight.sources.csv_table import parse_timestamp

from .cli_security import (add_kafka_security_arguments, add_trusted_network_argument, kafka_security_from_args,
                           plaintext_warnings, read_feedback)
from .heap import tune_collector
from .trainer import add_trainer_command, cmd_trainer

EXIT_CONFIG = 2
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # what a shell reports for a command stopped by a closed pipe
COMMANDS_GROUP = "foresight.commands"
DEV_COMMANDS = ("demo", "dashboards")  # added by the dev tooling (predictors/dev)


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _duration_arg(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_duration_arg(text: str) -> float:
    seconds = _duration_arg(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be longer than 0s")
    return seconds


def _positive_int_arg(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least 1")
    return number


def _time_arg(text: str) -> float:
    try:
        return parse_timestamp(text)
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
    run.add_argument("--warmup", type=_duration_arg, default=_env("FORESIGHT_WARMUP", "") or None,
                     help="how much Prometheus history to load at a start without a checkpoint (env "
                          "FORESIGHT_WARMUP; default: as much as the predictors need, e.g. 3d for the daily "
                          "profile of exhaustion predictors)")
    run.add_argument("--state", default=_env("FORESIGHT_STATE", ""), metavar="PATH_OR_URL",
                     help="state store for checkpoints, restored at start: a SQLite file (one replica), or a "
                          "postgresql:// URL (kept per Kafka partition, so replicas of one consumer group hand "
                          "partitions over; README, Scaling out); empty turns checkpoints off (env FORESIGHT_STATE)")
    run.add_argument("--registry", default=_env("FORESIGHT_REGISTRY", ""), metavar="URL",
                     help="MLflow tracking server: start each predictor from its champion model bundle and switch "
                          "when the champion alias moves (docs/lifecycle.md); empty turns it off "
                          "(env FORESIGHT_REGISTRY)")
    run.add_argument("--checkpoint-every", type=_duration_arg, default=_env("FORESIGHT_CHECKPOINT_EVERY", "5m"),
                     help="event time between checkpoints; one is also taken at shutdown "
                          "(env FORESIGHT_CHECKPOINT_EVERY; default %(default)s)")
    run.add_argument("--max-skew", type=_positive_duration_arg, default=_env("FORESIGHT_MAX_SKEW", "10m"),
                     help="drop points further than this ahead of the stream's event time (a producer whose clock "
                          "runs ahead), counted as bad input reason future (env FORESIGHT_MAX_SKEW; default "
                          "%(default)s)")
    run.add_argument("--series-ttl", type=_positive_duration_arg, default=_env("FORESIGHT_SERIES_TTL", "6h"),
                     help="forget a series that had no point for this long of event time, e.g. a pod that is gone "
                          "(env FORESIGHT_SERIES_TTL; default %(default)s)")
    run.add_argument("--max-series", type=_positive_int_arg, default=_env("FORESIGHT_MAX_SERIES", "100000"),
                     help="series held at most; a new one replaces the least recently updated "
                          "(env FORESIGHT_MAX_SERIES; default %(default)s)")
    run.add_argument("--listen", default=_env("FORESIGHT_LISTEN", "127.0.0.1:9464"),
                     help="HOST:PORT for /metrics, /healthz, /readyz; 0.0.0.0:9464 to be scraped from other hosts "
                          "(env FORESIGHT_LISTEN; default 127.0.0.1:9464, this host only)")
    run.add_argument("--feedback", default=_env("FORESIGHT_FEEDBACK", ""), metavar="FILE",
                     help="YAML settings of the Grafana feedback loop (grafana_url, state_path, token_file, ...; "
                          "docs/feedback.md); empty turns it off (env FORESIGHT_FEEDBACK)")
    run.add_argument("--log-level", default=_env("FORESIGHT_LOG_LEVEL", "INFO"),
                     choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                     help="log level (env FORESIGHT_LOG_LEVEL; default %(default)s)")
    add_kafka_security_arguments(run)
    add_trusted_network_argument(run)

    check = sub.add_parser("check", help="validate a predictor config (and the Kafka and feedback settings) and exit "
                                         "(2 when invalid); warn about plaintext connections to other hosts")
    check.add_argument("-c", "--config", required=True, help="predictor config YAML")
    check.add_argument("--kafka-bootstrap", default=_env("FORESIGHT_KAFKA_BOOTSTRAP", "localhost:9092"),
                       help="as for run (env FORESIGHT_KAFKA_BOOTSTRAP)")
    check.add_argument("--feedback", default=_env("FORESIGHT_FEEDBACK", ""), metavar="FILE",
                       help="as for run (env FORESIGHT_FEEDBACK)")
    add_kafka_security_arguments(check)
    add_trusted_network_argument(check)

    backtest = sub.add_parser("backtest", help="replay CSV or Prometheus history through the predictors and write "
                                               "what they predicted",
                              description="Feed each CSV file, row by row, through the same engine and policy the "
                                          "sidecar runs, and write one output row per input row and predictor to "
                                          "OUTPUT_DIR/<input file name>. Or, with --prometheus, replay every series "
                                          "the predictors read from Prometheus and write OUTPUT_DIR/predictions.csv "
                                          "and OUTPUT_DIR/alerts.csv (the episodes the generated rules would fire). "
                                          "Outputs at a moment use only the data up to it.")
    backtest.add_argument("-c", "--config", required=True, help="predictor config YAML")
    backtest.add_argument("--output-dir", required=True, help="where to write the outputs (created if missing)")
    backtest.add_argument("--late-rows", choices=("error", "skip"), default=None,
                          help="CSV only: a row whose timestamp is not after every earlier row's: stop with an error "
                               "(default), or skip it (written with empty predictions and counted), as the "
                               "sidecar drops out-of-order points")
    backtest.add_argument("--prometheus", metavar="URL", help="replay history from this Prometheus (base URL) "
                                                              "instead of CSV files; needs --start and --end")
    backtest.add_argument("--start", type=_time_arg, metavar="T", help="with --prometheus: where the replay starts "
                                                                       "(RFC 3339 or unix seconds)")
    backtest.add_argument("--end", type=_time_arg, metavar="T", help="with --prometheus: where it ends")
    backtest.add_argument("--step", type=_duration_arg, metavar="DURATION",
                          help="with --prometheus: the query_range step, one evaluation of the rules each "
                               "(default 1m; not below the scrape interval)")
    backtest.add_argument("inputs", nargs="*", metavar="DATA.csv",
                          help="a 'timestamp' column (unix seconds, RFC 3339, or 'YYYY-mm-dd HH:MM:SS' in UTC) "
                               "and one column per series, named as the predictors' selectors name them")
    add_lifecycle_commands(sub)
    add_trainer_command(sub)  # runtime/trainer.py
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
    try:
        security, feedback = kafka_security_from_args(args), read_feedback(args.feedback)
    except ValueError as exc:  # ConfigError and KafkaSecurityError: each names the setting
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"Kafka: {args.kafka_bootstrap} ({security.describe()})")
    for line in plaintext_warnings(args.kafka_bootstrap, security, feedback.grafana_url if feedback else "",
                                   args.trusted_network):
        print(f"warning: {line}", file=sys.stderr)
    return 0


def cmd_run(args) -> int:
    from foresight.store import StoreSettings

    from .service import Service, Settings

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from foresight.feedback import log_events_as_json

    try:
        feedback, security = read_feedback(args.feedback), kafka_security_from_args(args)
    except ValueError as exc:  # ConfigError and KafkaSecurityError: each names the setting
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for line in plaintext_warnings(args.kafka_bootstrap, security, feedback.grafana_url if feedback else "",
                                   args.trusted_network):
        logging.getLogger("foresight").warning("%s", line)
    if args.state and not args.state.startswith(("postgresql://", "postgres://")) \
            and not Path(args.state).parent.is_dir():
        print(f"error: --state {args.state}: the folder {Path(args.state).parent} does not exist", file=sys.stderr)
        return EXIT_CONFIG
    log_events_as_json()  # predictions, alert decisions and feedback as JSON lines on stderr
    tune_collector()
    settings = Settings(kafka_bootstrap=args.kafka_bootstrap, consumer_group=args.consumer_group,
                        prometheus_url=args.prometheus_url, warmup=args.warmup, listen=args.listen,
                        feedback=feedback, state=args.state, checkpoint_every=args.checkpoint_every,
                        registry=args.registry, kafka_security=security, freeze_startup=True,
                        store=StoreSettings(max_skew=args.max_skew, series_ttl=args.series_ttl,
                                            max_series=args.max_series))
    service = Service(config, settings)
    signal.signal(signal.SIGTERM, lambda *_: service.stop_event.set())
    try:
        service.run()
    except KeyboardInterrupt:
        service.stop_event.set()
    return 0


def add_lifecycle_commands(sub):
    """`train` and `promote` (docs/lifecycle.md); `trainer` is in runtime/trainer.py."""
    train = sub.add_parser("train", help="fit each predictor's models from history and write a model bundle per "
                                         "predictor (and log it to the MLflow registry)",
                           description="Replay CSV or Prometheus history through the sidecar's engine, score the "
                                       "predictions, and write OUTPUT_DIR/bundles/<predictor>/, scores.json and "
                                       "models.png. With --registry, the training is an MLflow run and each bundle "
                                       "a new version of foresight-<predictor> with the alias challenger.")
    train.add_argument("-c", "--config", required=True, help="predictor config YAML")
    train.add_argument("--output-dir", help="where to write the bundles, scores and plot (created if missing)")
    train.add_argument("--registry", default=_env("FORESIGHT_REGISTRY", ""), metavar="URL",
                       help="MLflow tracking server to log the training to (env FORESIGHT_REGISTRY)")
    train.add_argument("--experiment", default="foresight", help="MLflow experiment (default %(default)s)")
    train.add_argument("--prometheus", metavar="URL", help="train on this Prometheus' history; needs --start, --end")
    train.add_argument("--start", type=_time_arg, metavar="T", help="with --prometheus: where the history starts")
    train.add_argument("--end", type=_time_arg, metavar="T", help="with --prometheus: where it ends")
    train.add_argument("--step", type=_duration_arg, metavar="DURATION", help="with --prometheus: the query_range "
                                                                              "step (default 1m)")
    train.add_argument("--late-rows", choices=("error", "skip"), default=None,
                       help="CSV only: a row out of time order stops with an error (default) or is skipped")
    train.add_argument("inputs", nargs="*", metavar="DATA.csv", help="CSV history, one file after the other in time "
                                                                     "(as for backtest)")
    promote = sub.add_parser("promote", help="move a predictor's champion alias in the registry",
                             description="Print the version's scores beside the current champion's, then point the "
                                         "alias champion of foresight-PREDICTOR at it. Sidecars run with --registry "
                                         "switch to it without a restart.")
    promote.add_argument("predictor", help="the predictor's name")
    promote.add_argument("--registry", default=_env("FORESIGHT_REGISTRY", ""), metavar="URL",
                         help="MLflow tracking server (env FORESIGHT_REGISTRY)")
    promote.add_argument("--version", type=_positive_int_arg, metavar="N",
                         help="the version to promote (default: the challenger)")
    promote.add_argument("--auto", action="store_true",
                         help="promote the challenger only when the live scorecard (--scorecard) says it has been "
                              "better for --days scored days and raised no more alerts")
    promote.add_argument("--scorecard", default=_env("FORESIGHT_SCORECARD", ""), metavar="URL",
                         help="with --auto: a sidecar's /metrics, e.g. http://predictors:9464 (env FORESIGHT_SCORECARD)")
    promote.add_argument("--days", type=_positive_int_arg, default=3, metavar="N",
                         help="with --auto: scored days in a row the challenger must have been better "
                              "(default %(default)s)")


def cmd_train(args) -> int:
    from foresight.lifecycle.bundles import BundleError
    from foresight.lifecycle.registry import RegistryError
    from foresight.sources.csv_table import BacktestError

    from .backtest_prometheus import prometheus_history
    from .train import csv_source, prometheus_source, run_training, summary

    logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
    tune_collector()
    try:
        history = prometheus_history(args.inputs, args.prometheus, args.start, args.end, args.step, args.late_rows)
        config = load_config(args.config)
        metric_kinds = dataclasses.replace(config, predictors=[p for p in config.predictors if p.series is not None])
        source = (prometheus_source(metric_kinds, history) if history is not None
                  else csv_source(metric_kinds, args.inputs, args.late_rows or "error"))
        result = run_training(config, source, args.output_dir, args.registry, args.experiment)
    except (ConfigError, BacktestError, BundleError, RegistryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(summary(result))
    return 0


def cmd_promote(args) -> int:
    from foresight.lifecycle.registry import RegistryError

    from .promote import promote, promote_auto

    if args.auto and (args.version or not args.scorecard):
        print("error: --auto promotes the challenger from the live scorecard: give --scorecard URL, not --version",
              file=sys.stderr)
        return EXIT_CONFIG
    try:
        if args.auto:
            promote_auto(args.predictor, args.registry, args.scorecard, args.days)
        else:
            promote(args.predictor, args.registry, args.version)
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def cmd_backtest(args) -> int:
    from foresight.sources.csv_table import BacktestError

    from .backtest import run_backtest
    from .backtest_prometheus import prometheus_history, run_prometheus_backtest, summary_table

    tune_collector()
    try:
        history = prometheus_history(args.inputs, args.prometheus, args.start, args.end, args.step, args.late_rows)
        config = load_config(args.config)
        if history is not None:
            print(summary_table(config, run_prometheus_backtest(config, history, args.output_dir)))
            return 0
        results = run_backtest(config, args.inputs, args.output_dir, late_rows=args.late_rows or "error")
    except (ConfigError, BacktestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for r in results:
        skipped = f", {r.skipped_cells} NaN/infinite cell(s) skipped" if r.skipped_cells else ""
        skipped += f", {r.late_rows} row(s) out of time order skipped" if r.late_rows else ""
        print(f"{r.input_path} -> {r.output_path}: {r.rows} row(s) x {len(config.predictors)} predictor(s){skipped}")
    return 0


def main(argv=None) -> int:
    try:
        try:
            return _main(argv)
        finally:  # inside the try: a closed pipe may only show when the output is flushed
            sys.stdout.flush()
    except BrokenPipeError:  # `foresight check ... | head`: the reader left; end quietly, like other tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's last flush at exit does not fail again
        return EXIT_BROKEN_PIPE


def _main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    extra = dev_commands()
    if argv and argv[0] in DEV_COMMANDS and argv[0] not in extra:
        print(f"error: `foresight {argv[0]}` is part of the dev tooling, which is not installed here; "
              f"from a source checkout run `pip install -e predictors/dev` (make demo and make generate do this)",
              file=sys.stderr)
        return EXIT_CONFIG
    args = build_parser(extra).parse_args(argv)
    handlers = {"run": cmd_run, "check": cmd_check, "backtest": cmd_backtest, "rules": cmd_rules, "train": cmd_train,
                "promote": cmd_promote, "trainer": cmd_trainer}
    handler = handlers.get(args.command) or args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
