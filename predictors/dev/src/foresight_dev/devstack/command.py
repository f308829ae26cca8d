"""`foresight demo`: the local demo stack with a loadgen scenario."""

HELP = "run the local demo stack with a loadgen scenario"


def add_parser(sub):
    parser = sub.add_parser("demo", help=HELP,
                            description="Start a Kafka API broker, an OTLP collector, Prometheus, Alertmanager and "
                                        "the predictor on free local ports, play a loadgen scenario at high speed, "
                                        "and print each notification Alertmanager delivers.")
    parser.add_argument("--scenario", default="memory-leak", help="loadgen scenario (default %(default)s)")
    parser.add_argument("--speed", type=float, default=400.0,
                        help="simulated seconds per wall second (default %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="loadgen's noise and failure-time seed (default %(default)s)")
    parser.add_argument("--workdir", default=None, help="where to keep the stack's files (default: a temp dir)")
    return parser


def run(args) -> int:
    from .demo import run_demo

    return run_demo(scenario=args.scenario, speed=args.speed, workdir=args.workdir, seed=args.seed)
