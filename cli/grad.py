"""main_grad's steps in the shared skeleton (cli/runner.py): the attacked batches of the test split, each shared
by a simulated client (a gradient, or the update after the local training its attack's paper sets), attacked
and scored."""

import time
from argparse import Namespace
from dataclasses import dataclass
from pathlib import Path

import torch

from fedprivacy.attacks import AttackConfig, AttackSpec, get_attack
from fedprivacy.cli.attack_flags import option_flags
from fedprivacy.cli.client import client_flags, simulated_training
from fedprivacy.cli.common import flag_values
from fedprivacy.cli.device import resolve_device
from fedprivacy.cli.runner import Outcome, announce_cost, planned_paths
from fedprivacy.cli.server import attack_config, attack_knowledge, check_attack_fits, server_model
from fedprivacy.data import load_split
from fedprivacy.data.catalog import dataset_label
from fedprivacy.defenses import Defense, defense_from_args
from fedprivacy.evaluation.report import attack_label, grid_title, mark_failed, save_grid, summary_line
from fedprivacy.evaluation.runner import attack_cases
from fedprivacy.fl.case import Case
from fedprivacy.fl.exchange import client_share, share_privacy
from fedprivacy.fl.knowledge import PublicKnowledge
from fedprivacy.fl.protocol import LocalTraining
from fedprivacy.fl.public import PublicData, server_normalization
from fedprivacy.models import check_runs
from fedprivacy.utils.errors import UsageError
from fedprivacy.utils.seeding import seed_everything
from fedprivacy.utils.threads import use_threads

ALSO: tuple[str, ...] = ()  # the result is the grid and the JSON


@dataclass(frozen=True)
class Checked:
    """What the flags alone decide, checked before any data is read."""

    spec: AttackSpec
    config: AttackConfig
    local: LocalTraining | None
    defense: Defense
    device: torch.device


def check(args: Namespace) -> Checked:
    """The attack and its options, the simulated client's training, the defense and the device."""
    spec = get_attack(args.attack)
    local = simulated_training(spec, args, args.rec_batch_size)
    return Checked(spec, attack_config(spec, args), local, defense_from_args(args), resolve_device(args.device))


def flags(args: Namespace, checked: Checked) -> dict:
    """The report's record of the flags: as parsed, with the attack's options and the simulated client's
    training (if any) as they resolved."""
    return flag_values(args, option_flags(checked.spec, checked.config.options) | client_flags(checked.local))


def stem(args: Namespace, checked: Checked) -> str:
    """The naming of the original implementation (hangyuzhu/privacy-attack-in-federated-learning):
    {attack}_{n}n_{nz|unz}{dataset}_{imp_?}{model}_{rb}rb, then the defense if any."""
    space = "nz" if args.normalize else "unz"
    model = f"imp_{args.model}" if args.imprint else args.model
    dataset = dataset_label(args.dataset, args.base_data_dir)
    return f"{args.attack}_{args.num_exp}n_{space}{dataset}_{model}_{args.rec_batch_size}rb{checked.defense.tag()}"


def build_cases(args: Namespace, checked: Checked) -> tuple[list[Case], PublicKnowledge]:
    """The attacked batches of the test split as the client shares them (a gradient, or the update after
    its local training, defended), and what the server knows from public data (fl/public.py: the training
    split, never the attacked images)."""
    split = load_split(
        args.dataset, "test", args.base_data_dir, args.download, args.image_size, args.data_augment, args.rgb
    )
    needed = args.start_index + args.num_exp * args.rec_batch_size
    if needed > len(split):
        raise UsageError(
            f"--num_exp {args.num_exp} x --rec_batch_size {args.rec_batch_size} from --start_index "
            f"{args.start_index} needs {needed} images; --dataset {args.dataset} has {len(split)}"
        )
    info, spec = split.info, checked.spec
    public = PublicData(args.dataset, args.base_data_dir, args.image_size, private="test", rgb=args.rgb)
    knowledge = attack_knowledge(spec, checked.config.options, args, public, range(args.start_index, needed))
    normalization, knowledge.normalization = server_normalization(info, args.normalize, args.norm_stats, public)
    model, classes = server_model(args, info, normalization, public, checked.device, knowledge, args.pretrained)
    check_attack_fits(spec, args, model, classes, update=checked.local is not None)
    check_runs(model, args.model, info.shape, args.rec_batch_size, args.model_mode)
    cases = []
    for experiment in range(args.num_exp):
        first = args.start_index + experiment * args.rec_batch_size
        indices = list(range(first, first + args.rec_batch_size))
        images, labels = split.batch(indices)
        observation = client_share(
            model,
            normalization.normalize(images).to(checked.device),
            labels.to(checked.device),
            normalization,
            args.model_mode,
            checked.local,
            checked.defense,
            grant_labels=args.known_labels,
        )
        cases.append(Case(observation, images, labels, {"dataset_indices": indices}))
    return cases, knowledge


def describe(args: Namespace, checked: Checked) -> str:
    """--dry_run: flags alone, or (full) the observations built, and what would be written."""
    target = planned_paths(args, stem(args, checked), ALSO, claim=False)[0]
    if args.dry_run == "flags":
        return f"dry run (flags): {args.attack} on --dataset {args.dataset} would write {target}"
    seed_everything(args.seed)
    cases, _ = build_cases(args, checked)
    observation = cases[0].observation
    shared = "an update" if observation.update is not None else "a gradient"
    parameters = sum(p.numel() for p in observation.model.parameters())
    defense = checked.defense.label() if checked.defense.name != "none" else "none"
    return (
        f"dry run: {args.attack} ({checked.spec.budget(checked.config.options).words()}) on {len(cases)} batch(es) of "
        f"{args.rec_batch_size} {'x'.join(map(str, observation.image_shape))} image(s) of --dataset {args.dataset}, "
        f"each sharing {shared} of --model {args.model} ({parameters} parameters), defense {defense}; would write "
        f"{target}"
    )


def run(args: Namespace, checked: Checked) -> Outcome:
    """Build the cases the flags describe (each client defends its share), attack them and score them."""
    threads = use_threads(args.threads)
    seed_everything(args.seed)
    started = time.perf_counter()
    cases, knowledge = build_cases(args, checked)
    announce_cost(checked.spec, checked.config, cases)
    result = attack_cases(checked.spec, checked.config, cases)
    defense = checked.defense
    report = {
        **({"interrupted": True} if result.interrupted else {}),
        "args": flags(args, checked),
        "attack_settings": checked.config.settings(),
        "threads": threads,
        "public_knowledge": knowledge.report(),
        "defense": {**defense.settings(), "privacy": share_privacy(checked.local, args.rec_batch_size, defense)},
        "summary": result.summary,
        "per_image": result.per_image,
        "experiments": result.experiments,
        "wall_seconds": time.perf_counter() - started,
    }
    captions = ["diverged" if row["psnr"] is None else f"{row['psnr']:.1f} dB" for row in result.per_image]
    unscored = mark_failed(report, result.summary)

    def grid(path: Path) -> None:
        save_grid(result.truth, result.reconstructed, captions, path, grid_title(report))

    return Outcome(
        report,
        result,
        {"grid": ("", grid)},
        lambda paths: summary_line(attack_label(args.attack, defense), result.summary, paths["grid"]),
        interrupted=f"the {len(result.experiments)} finished experiment(s) are" if result.interrupted else None,
        unscored=unscored,
    )
