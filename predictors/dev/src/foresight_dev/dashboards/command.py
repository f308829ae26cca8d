"""`foresight dashboards`: write the Grafana dashboards built in code, or check them."""
import sys
from pathlib import Path

HELP = "generate the Grafana dashboards (overview, predictor detail, pipeline health)"
EXIT_ERROR = 2


def add_parser(sub):
    parser = sub.add_parser("dashboards", help=HELP,
                            description="Write the dashboards, built in code, as JSON into --output. With "
                                        "--check, exit 1 when the files there differ from the code (CI runs this).")
    parser.add_argument("--output", default="grafana/dashboards",
                        help="folder of the provisioned dashboards (default %(default)s)")
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 when stale")
    return parser


def run(args) -> int:
    from . import check, generate  # the Grafana SDK is imported only when the command runs

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
        return EXIT_ERROR
    return 0
