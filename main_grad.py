"""Attack one observed gradient per experiment: flags -> build the cases -> attack -> report.

The flags are parsed without torch (--help is instant); the run itself is cli/grad.py in the skeleton both
entry scripts share (cli/runner.py)."""

from argparse import Namespace

from fedprivacy.cli.attack_flags import add_attack_arguments, add_imprint_arguments
from fedprivacy.cli.client import GRAD_OLDER, ON_UPDATES, add_client_arguments, paper_settings
from fedprivacy.cli.common import (
    AppliesTo,
    FlagGroup,
    OneLineParser,
    add_data_arguments,
    add_defense_flags,
    add_output_arguments,
    run_cli,
)
from fedprivacy.utils.domains import COUNT, NON_NEGATIVE_COUNT, path_text

USAGE = "%(prog)s [--attack NAME] [--preset ATTACK.NAME] [flags]  (--help lists every flag by what it configures)"


def build_parser() -> OneLineParser:
    """Every flag of the script, grouped by what it configures (no torch needed)."""
    parser = OneLineParser(description=__doc__.split("\n\n")[0], usage=USAGE)
    add_attack_arguments(parser, batch_help="images per observed batch")
    flags = FlagGroup(parser, "the attacked batches")
    flags.value("--num_exp", 1, "independent experiments (batches) to attack", type=COUNT)
    flags.value("--start_index", 0, "first test image; experiment e uses the next batch", type=NON_NEGATIVE_COUNT)
    flags.switch("--data_augment", "random crop (and flip for colour) on the images")
    flags.value("--model_mode", "train", "mode of the model when the gradient is taken", choices=("train", "eval"))
    pretrained = "state dict to load into --model, e.g. ../shared/weights/resnet20_cifar10.th"
    flags.value("--pretrained", None, pretrained, shown="fresh weights", type=path_text)
    add_data_arguments(parser, model="lenet", dataset="cifar10_sample")
    title = f"the simulated client's local training (only with --attack {', '.join(sorted(ON_UPDATES))})"
    add_client_arguments(parser, title, paper_settings(), GRAD_OLDER, AppliesTo("attack", ON_UPDATES))
    add_defense_flags(parser)
    add_imprint_arguments(parser)
    add_output_arguments(parser, "the PNG grid and the JSON", "seed for the model and the attack")
    return parser


def parse_args(argv: list[str] | None = None) -> Namespace:
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)  # before torch loads: --help and a bad flag answer at once
    from fedprivacy.cli import grad, runner

    return runner.main(grad, args)


if __name__ == "__main__":
    run_cli(main)
