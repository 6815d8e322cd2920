"""FedAvg with an honest-but-curious server attacking one client's update: flags -> build -> run -> report.

The flags are parsed without torch (--help is instant); the run itself is cli/fed.py in the skeleton both
entry scripts share (cli/runner.py)."""

from argparse import Namespace
from typing import TYPE_CHECKING

from fedprivacy.cli.attack_flags import add_attack_arguments, add_imprint_arguments
from fedprivacy.cli.common import OneLineParser, add_data_arguments, add_output_arguments, run_cli
from fedprivacy.cli.federation import add_engine_arguments, add_federation_arguments
from fedprivacy.defenses import add_defense_arguments

if TYPE_CHECKING:
    from fedprivacy.defenses import Defense
    from fedprivacy.evaluation.runner import RunResult

USAGE = "%(prog)s [--attack NAME] [--preset ATTACK.NAME] [flags]  (--help lists every flag by what it configures)"


def parse_args(argv: list[str] | None = None) -> Namespace:
    parser = OneLineParser(description=__doc__.split("\n\n")[0], usage=USAGE)
    add_attack_arguments(
        parser, batch_help="images the attack reconstructs from the attacked client's update", extra=("none",)
    )
    add_federation_arguments(parser)
    add_data_arguments(parser, model="cnn", dataset="digits")
    add_defense_arguments(parser)
    add_imprint_arguments(parser)
    add_engine_arguments(parser)
    add_output_arguments(
        parser,
        "the grid, the accuracy curve and the JSON",
        "seed for the model, the split, client sampling, the attack",
    )
    return parser.parse_args(argv)


def run(args: Namespace) -> tuple[dict, "RunResult | None", "Defense"]:
    """The run without writing files: the report, the attack's result (None without one) and the defense."""
    from fedprivacy.cli import fed

    checked = fed.check(args)
    outcome = fed.run(args, checked)
    return outcome.report, outcome.result, checked.defense


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)  # before torch loads: --help and a bad flag answer at once
    from fedprivacy.cli import fed, runner

    return runner.main(fed, args)


if __name__ == "__main__":
    run_cli(main)
