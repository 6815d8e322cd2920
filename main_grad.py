"""Attack one observed gradient per experiment: flags -> build the cases -> attack -> report.

The flags are parsed without torch (--help is instant); the run itself is cli/grad.py in the skeleton both
entry scripts share (cli/runner.py)."""

from argparse import Namespace
from typing import TYPE_CHECKING

from fedprivacy.cli.attack_flags import add_attack_arguments, add_imprint_arguments
from fedprivacy.cli.client import GRAD_OLDER, ON_UPDATES, add_client_arguments, paper_settings
from fedprivacy.cli.common import (
    AppliesTo,
    OneLineParser,
    add_data_arguments,
    add_output_arguments,
    described,
    run_cli,
)
from fedprivacy.defenses import add_defense_arguments
from fedprivacy.utils.domains import COUNT, NON_NEGATIVE_COUNT

if TYPE_CHECKING:
    from fedprivacy.defenses import Defense
    from fedprivacy.evaluation.runner import RunResult

USAGE = "%(prog)s [--attack NAME] [--preset ATTACK.NAME] [flags]  (--help lists every flag by what it configures)"


def parse_args(argv: list[str] | None = None) -> Namespace:
    parser = OneLineParser(description=__doc__.split("\n\n")[0], usage=USAGE)
    add_attack_arguments(parser, batch_help="images per observed batch")
    group = parser.add_argument_group("the attacked batches")
    add = group.add_argument
    add("--num_exp", type=COUNT, default=1, help=described("independent experiments (batches) to attack", 1))
    add(
        "--start_index",
        type=NON_NEGATIVE_COUNT,
        default=0,
        help=described("first test image; experiment e uses the next batch", 0),
    )
    add("--data_augment", action="store_true", help=described("random crop (and flip for colour) on the images", False))
    add(
        "--model_mode",
        choices=("train", "eval"),
        default="train",
        help=described("mode of the model when the gradient is taken", "train"),
    )
    add(
        "--pretrained",
        default=None,
        help="state dict to load into --model, e.g. ../shared/weights/resnet20_cifar10.th (default: fresh weights)",
    )
    add_data_arguments(parser, model="lenet", dataset="cifar10_sample")
    title = f"the simulated client's local training (only with --attack {', '.join(sorted(ON_UPDATES))})"
    add_client_arguments(parser, title, paper_settings(), GRAD_OLDER, AppliesTo("attack", ON_UPDATES))
    add_defense_arguments(parser)
    add_imprint_arguments(parser)
    add_output_arguments(parser, "the PNG grid and the JSON", "seed for the model and the attack")
    return parser.parse_args(argv)


def run(args: Namespace) -> tuple[dict, "RunResult", "Defense"]:
    """The run without writing files: the report, the attack's result and the defense (benchmarks/audit.py)."""
    from fedprivacy.cli import grad

    checked = grad.check(args)
    outcome = grad.run(args, checked)
    return outcome.report, outcome.result, checked.defense


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)  # before torch loads: --help and a bad flag answer at once
    from fedprivacy.cli import grad, runner

    return runner.main(grad, args)


if __name__ == "__main__":
    run_cli(main)
