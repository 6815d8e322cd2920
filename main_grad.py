"""Attack one observed gradient per experiment: flags -> build the cases -> attack -> report."""

import time
from argparse import Namespace
from dataclasses import dataclass

import torch

from fedprivacy.attacks import AttackConfig, AttackSpec, get_attack
from fedprivacy.cli.attack_args import (
    add_attack_arguments,
    add_imprint_arguments,
    attack_config,
    attack_knowledge,
    check_attack_fits,
    settings_of,
)
from fedprivacy.cli.client import add_client_arguments, client_training
from fedprivacy.cli.common import (
    OneLineParser,
    add_data_arguments,
    add_dry_run_argument,
    add_output_arguments,
    head_width,
    positive,
    resolve_device,
    run_cli,
)
from fedprivacy.data import load_split
from fedprivacy.data.catalog import dataset_label
from fedprivacy.defenses import Defense, add_defense_arguments, defense_from_args
from fedprivacy.evaluation.report import (
    attack_label,
    grid_title,
    mark_failed,
    output_paths,
    save_grid,
    summary_line,
    write_json,
)
from fedprivacy.evaluation.runner import RunResult, attack_cases
from fedprivacy.fl.case import Case
from fedprivacy.fl.client import client_share, share_privacy
from fedprivacy.fl.observation import LocalTraining
from fedprivacy.fl.public import PublicData, imprint_server, server_normalization
from fedprivacy.models import build_model, check_runs, load_pretrained
from fedprivacy.utils.atomic import prepare_out_dir, write_together
from fedprivacy.utils.domains import NON_NEGATIVE_COUNT, SEED, path_text
from fedprivacy.utils.errors import Interrupted, RunFailed, UsageError
from fedprivacy.utils.seeding import seed_everything
from fedprivacy.utils.signals import stopped_by
from fedprivacy.utils.threads import use_threads


def parse_args(argv: list[str] | None = None) -> Namespace:
    parser = OneLineParser(description=__doc__)
    add = parser.add_argument
    add_data_arguments(parser, model="lenet", dataset="cifar10_sample")
    add("--data_augment", action="store_true", help="random crop (and flip for colour) on the client's images")
    add("--num_exp", type=positive, default=1, help="independent experiments (batches) to attack")
    add("--start_index", type=NON_NEGATIVE_COUNT, default=0, help="first test image; experiment e uses the next batch")
    add("--seed", type=SEED, default=0, help="seed for the model and the attack")
    add("--model_mode", choices=("train", "eval"), default="train", help="mode of the model when the gradient is taken")
    add(
        "--pretrained",
        type=path_text,
        default=None,
        help="state dict to load into --model (e.g. ../shared/weights/resnet20_cifar10.th)",
    )
    add_output_arguments(parser, outputs="the PNG grid and the JSON")
    add_attack_arguments(parser, batch_help="images per observed batch")
    add_client_arguments(parser)
    add_defense_arguments(parser)
    add_imprint_arguments(parser)
    add_dry_run_argument(parser)
    return parser.parse_args(argv)


def output_stem(args: Namespace, defense: Defense) -> str:
    """The naming of the original implementation (hangyuzhu/privacy-attack-in-federated-learning):
    {attack}_{n}n_{nz|unz}{dataset}_{imp_?}{model}_{rb}rb, then the defense if any."""
    space = "nz" if args.normalize else "unz"
    model = f"imp_{args.model}" if args.imprint else args.model
    dataset = dataset_label(args.dataset, args.base_data_dir)
    return f"{args.attack}_{args.num_exp}n_{space}{dataset}_{model}_{args.rec_batch_size}rb{defense.tag()}"


def build_cases(
    args: Namespace, spec: AttackSpec, local: LocalTraining | None, defense: Defense, device: torch.device
) -> tuple[list[Case], dict]:
    """The attacked batches of the test split as the client shares them (a gradient, or the update after
    `local` training), and what the server knows from public data (fl/public.py: the training split,
    never the attacked images)."""
    split = load_split(
        args.dataset, "test", args.base_data_dir, args.download, args.image_size, args.data_augment, args.rgb
    )
    needed = args.start_index + args.num_exp * args.rec_batch_size
    if needed > len(split):
        raise UsageError(
            f"--num_exp {args.num_exp} x --rec_batch_size {args.rec_batch_size} from --start_index "
            f"{args.start_index} needs {needed} images; --dataset {args.dataset} has {len(split)}"
        )
    info = split.info
    public = PublicData(args.dataset, args.base_data_dir, args.image_size, private="test", rgb=args.rgb)
    knowledge = attack_knowledge(spec, args, public, range(args.start_index, needed))
    normalization, record = server_normalization(info, args.normalize, args.norm_stats, public)
    if record is not None:
        knowledge["normalization"] = record
    classes = head_width(args.num_classes, info)
    model = build_model(args.model, info.channels, info.image_size, classes)
    if args.pretrained:
        load_pretrained(model, args.pretrained)
    model = model.to(device)
    if args.imprint:
        model, knowledge["imprint"] = imprint_server(model, info, args.bins, normalization, public)
    check_attack_fits(spec, args, model, classes, update=local is not None)
    check_runs(model, args.model, info.shape, args.rec_batch_size, args.model_mode)
    cases = []
    for experiment in range(args.num_exp):
        first = args.start_index + experiment * args.rec_batch_size
        indices = list(range(first, first + args.rec_batch_size))
        images, labels = split.batch(indices)
        observation = client_share(
            model,
            normalization.normalize(images).to(device),
            labels.to(device),
            normalization,
            args.model_mode,
            local,
            defense,
            grant_labels=args.known_labels,
        )
        cases.append(Case(observation, images, labels, {"dataset_indices": indices}))
    return cases, knowledge


@dataclass(frozen=True)
class Checked:
    """What the flags alone decide, checked before any data is read."""

    spec: AttackSpec
    config: AttackConfig
    local: LocalTraining | None
    defense: Defense
    device: torch.device


def check_flags(args: Namespace) -> Checked:
    """The attack, its settings, the simulated client's training, the defense and the device."""
    spec = get_attack(args.attack)
    local = client_training(spec.name, vars(args), args.rec_batch_size)
    return Checked(spec, attack_config(spec, args), local, defense_from_args(args), resolve_device(args.device))


def dry_run(args: Namespace) -> str:
    """--dry_run: check the flags (and with 'full' build the cases) and describe the run without attacking."""
    checked = check_flags(args)
    stem = output_paths(args.out_dir, output_stem(args, checked.defense), args.overwrite, claim=False)[0]
    if args.dry_run == "flags":
        return f"dry run (flags): {args.attack} on --dataset {args.dataset} would write {stem}"
    seed_everything(args.seed)
    cases, _ = build_cases(args, checked.spec, checked.local, checked.defense, checked.device)
    observation = cases[0].observation
    shared = "an update" if observation.update is not None else "a gradient"
    parameters = sum(p.numel() for p in observation.model.parameters())
    defense = checked.defense.label() if checked.defense.name != "none" else "none"
    return (
        f"dry run: {args.attack} ({checked.config.rec_epochs} steps x {checked.config.restarts} trials) on "
        f"{len(cases)} batch(es) of {args.rec_batch_size} {'x'.join(map(str, observation.image_shape))} image(s) "
        f"of --dataset {args.dataset}, each sharing {shared} of --model {args.model} ({parameters} parameters), "
        f"defense {defense}; would write {stem}"
    )


def run(args: Namespace) -> tuple[dict, RunResult, Defense]:
    """Build the cases the flags describe (each client defends its share), attack them and score them;
    returns the report, the attack's result and the defense, and writes no files."""
    checked = check_flags(args)
    spec, config, local, defense = checked.spec, checked.config, checked.local, checked.defense
    threads = use_threads(args.threads)
    seed_everything(args.seed)
    started = time.perf_counter()
    cases, knowledge = build_cases(args, spec, local, defense, checked.device)
    result = attack_cases(spec, config, cases)
    report = {
        **({"interrupted": True} if result.interrupted else {}),
        "args": vars(args),
        "attack_settings": settings_of(config),
        "threads": threads,
        "public_knowledge": knowledge,
        "defense": {**defense.settings(), "privacy": share_privacy(local, args.rec_batch_size, defense)},
        "summary": result.summary,
        "per_image": result.per_image,
        "experiments": result.experiments,
        "wall_seconds": time.perf_counter() - started,
    }
    return report, result, defense


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.dry_run:
        line = dry_run(args)
        print(line)
        return {"dry_run": line}
    prepare_out_dir(args.out_dir)
    png, json_path = output_paths(args.out_dir, output_stem(args, defense_from_args(args)), args.overwrite)
    report, result, defense = run(args)
    captions = ["diverged" if row["psnr"] is None else f"{row['psnr']:.1f} dB" for row in result.per_image]
    report["grid"] = str(png)
    failed = mark_failed(report, result.summary)
    write_together(
        {
            json_path: lambda path: write_json(path, report),
            png: lambda path: save_grid(result.truth, result.reconstructed, captions, path, grid_title(report)),
        }
    )
    if result.interrupted:
        raise Interrupted(f"{stopped_by()}; the {len(result.experiments)} finished experiment(s) are in {json_path}")
    print(summary_line(attack_label(args.attack, defense), result.summary, png))
    if failed:
        raise RunFailed(f"{failed}; written to {json_path}")
    return report


if __name__ == "__main__":
    run_cli(main)
