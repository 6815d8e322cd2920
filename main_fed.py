"""FedAvg with an honest-but-curious server attacking one client's update: flags -> build -> run -> report.

The flags are parsed without torch (--help is instant); the run itself is cli/fed.py in the skeleton both
entry scripts share (cli/runner.py)."""

from argparse import Namespace

from fedprivacy.cli.attack_flags import add_attack_arguments, add_imprint_arguments
from fedprivacy.cli.common import OneLineParser, add_data_arguments, add_defense_flags, add_output_arguments, run_cli
from fedprivacy.cli.federation import add_engine_arguments, add_federation_arguments, add_secure_aggregation_arguments

USAGE = "%(prog)s [--attack NAME] [--preset ATTACK.NAME] [flags]  (--help lists every flag by what it configures)"


def build_parser() -> OneLineParser:
    """Every flag of the script, grouped by what it configures (no torch needed)."""
    parser = OneLineParser(description=__doc__.split("\n\n")[0], usage=USAGE)
    add_attack_arguments(
        parser, batch_help="images the attack reconstructs from the attacked client's update", extra=("none",)
    )
    add_federation_arguments(parser)
    add_data_arguments(parser, model="cnn", dataset="digits")
    add_defense_flags(parser)
    add_imprint_arguments(parser)
    add_engine_arguments(parser)
    add_secure_aggregation_arguments(parser)
    add_output_arguments(
        parser,
        "the grid, the accuracy curve and the JSON",
        "seed for the model, the split, client sampling, the attack",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> Namespace:
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)  # before torch loads: --help and a bad flag answer at once
    from fedprivacy.cli import fed, runner

    return runner.main(fed, args)


if __name__ == "__main__":
    run_cli(main)
