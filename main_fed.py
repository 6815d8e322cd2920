"""FedAvg with an honest-but-curious server attacking one client's update: flags -> build -> run -> report."""

import time
from argparse import Namespace
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from fedprivacy.attacks import AttackConfig, AttackSpec, get_attack
from fedprivacy.cli.attack_args import (
    add_attack_arguments,
    add_imprint_arguments,
    attack_config,
    attack_knowledge,
    check_attack_fits,
    settings_of,
)
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
from fedprivacy.data import DatasetInfo, load_split
from fedprivacy.data.catalog import dataset_label
from fedprivacy.defenses import Defense, add_defense_arguments, defense_from_args
from fedprivacy.evaluation.metrics import chance_accuracy
from fedprivacy.evaluation.report import (
    attack_label,
    curve_title,
    federation_notes,
    grid_title,
    mark_failed,
    output_paths,
    save_curve,
    save_grid,
    summary_line,
    with_notes,
    write_json,
)
from fedprivacy.evaluation.runner import RunResult, attack_cases
from fedprivacy.fl.case import Case
from fedprivacy.fl.client import with_labels
from fedprivacy.fl.federation import MODEL_MODE, FedData, FedSettings, check_lr_schedule, run_federation
from fedprivacy.fl.partition import P_TYPES, partition
from fedprivacy.fl.public import PublicData, imprint_server, server_normalization
from fedprivacy.flower.cli import add_engine_arguments, check_engine, run_on_flower
from fedprivacy.models import build_model, check_runs
from fedprivacy.utils.atomic import prepare_out_dir, write_together
from fedprivacy.utils.domains import FRACTION, NON_NEGATIVE, POSITIVE, SEED, UNIT_INTERVAL_OPEN_TOP
from fedprivacy.utils.errors import Interrupted, RunFailed, UsageError
from fedprivacy.utils.seeding import seed_everything
from fedprivacy.utils.signals import stopped_by
from fedprivacy.utils.threads import use_threads

NO_ATTACK = "none"
CURVE = "_accuracy.png"  # the accuracy curve beside the JSON: {name}_accuracy.png


def parse_args(argv: list[str] | None = None) -> Namespace:
    parser = OneLineParser(description=__doc__)
    add = parser.add_argument
    add("--strategy", choices=("fedavg",), default="fedavg", help="aggregation rule")
    add("--num_rounds", type=positive, default=10, help="communication rounds")
    add("--total_clients", type=positive, default=10, help="number of clients")
    add("--C", type=FRACTION, default=1.0, help="fraction of clients selected per round, in (0, 1]")
    add("--local_epochs", type=positive, default=1, help="passes of a client over its data per round")
    add("--batch_size", type=positive, default=10, help="client mini-batch size (the original implementation: 50)")
    add("--lr", type=POSITIVE, default=0.1, help="client SGD learning rate in round 1")
    add("--lr_decay", type=POSITIVE, default=0.95, help="lr multiplier applied once per round")
    add(
        "--client_momentum",
        type=UNIT_INTERVAL_OPEN_TOP,
        default=0.5,
        help="client SGD momentum, fresh every round (the original implementation's scripts: 0)",
    )
    add("--weight_decay", type=NON_NEGATIVE, default=0.0, help="client SGD weight decay")
    add("--iid", action="store_true", help="split the training set iid (overrides --p_type)")
    add("--p_type", choices=P_TYPES, default="dirichlet", help="non-iid split: Dirichlet label skew or fixed classes")
    add("--beta", type=POSITIVE, default=0.5, help="Dirichlet concentration (small = more skew)")
    add("--num_classes_per_client", type=positive, default=2, help="classes per client for --p_type fix_class")
    add("--min_samples", type=positive, default=10, help="fewest training samples a Dirichlet client may hold")
    add_data_arguments(parser, model="cnn", dataset="digits")
    add(
        "--attack_rounds",
        default="last",
        help="rounds (1-based, comma-separated) at which the server attacks one client, 'all' or 'last'",
    )
    add("--seed", type=SEED, default=0, help="seed for the model, the split, client sampling and the attack")
    add_output_arguments(parser, outputs="the grid, the accuracy curve and the JSON")
    add_attack_arguments(
        parser,
        batch_help="images the attack reconstructs from the attacked client's update",
        extra=(NO_ATTACK,),
    )
    add(
        "--victim_images",
        type=positive,
        default=None,
        help="the small-client scenario: the attacked client trains on only this many fresh images in its "
        "attacked round (default: on all its data, as every client does)",
    )
    add_defense_arguments(parser)
    add_imprint_arguments(parser)
    add_dry_run_argument(parser)
    add_engine_arguments(parser)
    return parser.parse_args(argv)


def parse_rounds(text: str, num_rounds: int) -> frozenset[int]:
    """--attack_rounds: 'all', 'last' or a comma-separated list of 1-based rounds."""
    if text.strip() == "all":
        return frozenset(range(1, num_rounds + 1))
    if text.strip() == "last":
        return frozenset({num_rounds})
    try:
        rounds = frozenset(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(
            f"--attack_rounds {text!r}: give 'all', 'last' or comma-separated round numbers, e.g. 1,5"
        ) from None
    if not rounds or min(rounds) < 1 or max(rounds) > num_rounds:
        raise UsageError(f"--attack_rounds {text}: rounds must lie between 1 and --num_rounds {num_rounds}")
    return rounds


def output_stem(args: Namespace, attack_settings: dict | None, defense: Defense) -> str:
    """The naming of the original implementation (hangyuzhu/privacy-attack-in-federated-learning), e.g.
    fedavg_dlg_nzcifar10_cnn_niid0.5_300re_1rb_1.0rl_10c_10r_1e_50b_0.1l_0.0m
    (fix_class splits read fix{k}; imp_ marks --imprint; _v{N} the small-client scenario --victim_images N;
    _kl --known_labels; an npz dataset is named by its file; no rec part without attack), then the defense
    if any (e.g. _prune0.9)."""
    space = "nz" if args.normalize else "unz"
    dataset = dataset_label(args.dataset, args.base_data_dir)
    model = f"imp_{args.model}" if args.imprint else args.model
    if args.iid:
        split = "iid"
    elif args.p_type == "dirichlet":
        split = f"niid{args.beta}"
    else:
        split = f"fix{args.num_classes_per_client}"
    rec = (
        ""
        if attack_settings is None
        else (f"_{attack_settings['rec_epochs']}re_{args.rec_batch_size}rb_{attack_settings['rec_lr']}rl")
    )
    rec += "" if attack_settings is None or args.victim_images is None else f"_v{args.victim_images}"
    rec += "_kl" if args.known_labels else ""
    return (
        f"{args.strategy}_{args.attack}_{space}{dataset}_{model}_{split}{rec}_{args.total_clients}c_"
        f"{args.num_rounds}r_{args.local_epochs}e_{args.batch_size}b_{args.lr}l_{args.client_momentum}m{defense.tag()}"
    )


def planned_stem(args: Namespace) -> str:
    """output_stem of the run the flags describe, before it starts (its name is claimed then)."""
    spec = None if args.attack == NO_ATTACK else get_attack(args.attack)
    return output_stem(args, None if spec is None else settings_of(attack_config(spec, args)), defense_from_args(args))


def scenario(args: Namespace) -> dict:
    """Which attacked client the run simulated: the realistic one (all its data) or a small one."""
    if args.victim_images is None:
        return {"name": "full_client", "about": "the attacked client trains on all its data of the round"}
    return {
        "name": "small_client",
        "victim_images": args.victim_images,
        "about": f"the attacked client trains on {args.victim_images} fresh image(s) in its attacked round",
    }


def check_known_labels(spec: AttackSpec | None, args: Namespace) -> None:
    """--known_labels without an attack is an error (with one, the attack's capabilities decide)."""
    if args.known_labels and spec is None:
        raise UsageError(f"--known_labels: --attack {args.attack} does not take known labels")


def granted(cases: list[Case], args: Namespace) -> list[Case]:
    """With --known_labels the server is also told the labels of the images it reconstructs (a client that
    trained on more: of the first of them in training order)."""
    if not args.known_labels:
        return cases
    return [
        replace(case, observation=with_labels(case.observation, case.labels[: case.observation.num_images]))
        for case in cases
    ]


def build_data(args: Namespace, public: PublicData) -> tuple[FedData, DatasetInfo, dict | None]:
    """Both splits in memory, the training split partitioned among the clients, the dataset's facts, and
    the public source of the normalisation if it comes from data (the test split, never the clients')."""
    train = load_split(args.dataset, "train", args.base_data_dir, args.download, args.image_size, rgb=args.rgb)
    test = load_split(args.dataset, "test", args.base_data_dir, args.download, args.image_size, rgb=args.rgb)
    train_images, train_labels = train.batch(list(range(len(train))))
    test_images, test_labels = test.batch(list(range(len(test))))
    shares = partition(
        train_labels.numpy(),
        args.total_clients,
        args.iid,
        args.p_type,
        args.beta,
        args.num_classes_per_client,
        args.min_samples,
        args.seed,
    )
    needed = max(args.rec_batch_size, args.victim_images or 0)
    if args.attack != NO_ATTACK and max(len(share) for share in shares) < needed:
        flag = "--victim_images" if needed > args.rec_batch_size else "--rec_batch_size"
        raise UsageError(f"{flag} {needed}: no client holds that many training images")
    info = train.info
    normalization, record = server_normalization(info, args.normalize, args.norm_stats, public)
    data = FedData(train_images, train_labels, shares, test_images, test_labels, normalization)
    return data, info, record


def build_federation(args: Namespace, spec: AttackSpec | None, device: torch.device) -> tuple[nn.Module, FedData, dict]:
    """The server's initial model (behind the imprint block with --imprint), the clients' data, and what
    the server knows from public data (fl/public.py: the test split, never the clients' training split)."""
    public = PublicData(args.dataset, args.base_data_dir, args.image_size, private="train", rgb=args.rgb)
    knowledge = {} if spec is None else attack_knowledge(spec, args, public, range(0))
    data, info, record = build_data(args, public)
    if record is not None:
        knowledge["normalization"] = record
    classes = head_width(args.num_classes, info)
    model = build_model(args.model, info.channels, info.image_size, classes).to(device)
    if args.imprint:
        model, knowledge["imprint"] = imprint_server(model, info, args.bins, data.normalization, public)
    if spec is not None:
        check_attack_fits(spec, args, model, classes, update=True)
    check_runs(model, args.model, info.shape, 1, MODEL_MODE)  # a client's last mini-batch may hold one image
    return model, data, knowledge


@dataclass(frozen=True)
class Checked:
    """What the flags alone decide, checked before any data is read."""

    spec: AttackSpec | None
    config: AttackConfig | None
    attacked_rounds: frozenset[int]
    defense: Defense
    device: torch.device


def check_flags(args: Namespace) -> Checked:
    """Every check that needs no data: the rounds, the attack, the scenario, the defense, the device (the
    protocol's numbers are checked by their flags' domains)."""
    attacked_rounds = parse_rounds(args.attack_rounds, args.num_rounds)
    check_lr_schedule(args.lr, args.lr_decay, args.num_rounds)
    spec = None if args.attack == NO_ATTACK else get_attack(args.attack)
    config = None if spec is None else attack_config(spec, args)
    check_known_labels(spec, args)
    if args.victim_images is not None and args.rec_batch_size > args.victim_images:
        raise UsageError(
            f"--rec_batch_size {args.rec_batch_size}: the attack cannot reconstruct more than the "
            f"--victim_images {args.victim_images} the client holds"
        )
    defense = defense_from_args(args)
    check_engine(args)
    return Checked(spec, config, attacked_rounds, defense, resolve_device(args.device))


def dry_run(args: Namespace) -> str:
    """--dry_run: check the flags (and with 'full' load the data and build the model) and describe the run."""
    checked = check_flags(args)
    attack = NO_ATTACK if checked.spec is None else f"{args.attack} at rounds {sorted(checked.attacked_rounds)}"
    settings = None if checked.config is None else settings_of(checked.config)
    stem = output_paths(args.out_dir, output_stem(args, settings, checked.defense), args.overwrite, (CURVE,), False)[1]
    if args.dry_run == "flags":
        return f"dry run (flags): FedAvg on --dataset {args.dataset}, attack {attack}; would write {stem}"
    seed_everything(args.seed)
    model, data, _ = build_federation(args, checked.spec, checked.device)
    sizes = sorted(len(share) for share in data.shares)
    parameters = sum(p.numel() for p in model.parameters())
    defense = checked.defense.label() if checked.defense.name != "none" else "none"
    return (
        f"dry run: FedAvg of --model {args.model} ({parameters} parameters) for {args.num_rounds} rounds, "
        f"{args.total_clients} clients holding {sizes[0]}-{sizes[-1]} of {len(data.train_labels)} "
        f"--dataset {args.dataset} training images, {args.local_epochs} local epoch(s) at batch {args.batch_size}; "
        f"attack {attack}; defense {defense}; would write {stem}"
    )


def run(args: Namespace) -> tuple[dict, RunResult | None, Defense]:
    """Simulate FedAvg as the flags say (every client applying the defense), attack the chosen clients'
    updates and score them; returns the report, the attack's result (None without attack), the defense."""
    checked = check_flags(args)
    spec, config, defense = checked.spec, checked.config, checked.defense
    threads = use_threads(args.threads)
    seed_everything(args.seed)
    model, data, knowledge = build_federation(args, spec, checked.device)
    settings = FedSettings(
        num_rounds=args.num_rounds,
        total_clients=args.total_clients,
        fraction=args.C,
        local_epochs=args.local_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_decay=args.lr_decay,
        momentum=args.client_momentum,
        weight_decay=args.weight_decay,
        attack_rounds=checked.attacked_rounds if spec is not None else frozenset(),
        rec_batch_size=args.rec_batch_size,
        victim_images=args.victim_images,
        seed=args.seed,
        defense=defense,
    )
    started = time.perf_counter()
    if args.engine == "flower":
        fed = run_on_flower(args, model, data, settings)
    else:
        fed = run_federation(model, data, settings, progress=not args.quiet)
    accuracies = [record["accuracy"] for record in fed.rounds]
    report = {
        **({"status": "failed", "error": fed.failure} if fed.failure else {}),
        **({"interrupted": True} if fed.interrupted else {}),
        "args": vars(args),
        "threads": threads,
        "public_knowledge": knowledge,
        "defense": {**defense.settings(), "privacy": fed.privacy},
        "summary": {
            "accuracy": accuracies,
            "final_accuracy": accuracies[-1] if accuracies else None,
            "chance_accuracy": chance_accuracy(data.test_labels),
        },
        "initial_accuracy": fed.initial_accuracy,
        "rounds": fed.rounds,
    }
    if config is not None:
        report["attack_settings"] = settings_of(config)
        report["scenario"] = scenario(args)
    attacked = None
    if fed.cases and not fed.failure and not fed.interrupted:
        try:
            attacked = attack_cases(spec, config, granted(fed.cases, args))
        except KeyboardInterrupt:  # before any case finished: keep the federation's rounds
            report["interrupted"] = True
    if attacked is not None:
        report |= {
            **({"interrupted": True} if attacked.interrupted else {}),
            "summary": {**attacked.summary, **report["summary"]},
            "per_image": attacked.per_image,
            "experiments": attacked.experiments,
            "case_rounds": [case.meta["round"] for case in fed.cases][: len(attacked.experiments)],
        }
    report["wall_seconds"] = time.perf_counter() - started
    return report, attacked, defense


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.dry_run:
        line = dry_run(args)
        print(line)
        return {"dry_run": line}
    prepare_out_dir(args.out_dir)
    png, json_path = output_paths(args.out_dir, planned_stem(args), args.overwrite, also=(CURVE,))
    report, attacked, defense = run(args)
    curve = json_path.with_name(f"{json_path.stem}{CURVE}")
    accuracies = [report["initial_accuracy"], *report["summary"]["accuracy"]]
    writers = {curve: lambda path: save_curve(accuracies, path, "test accuracy", curve_title(report))}
    report["curve"] = str(curve)
    if attacked is not None:
        rounds = report["case_rounds"]
        captions = [
            "diverged" if row["psnr"] is None else f"r{rounds[row['case']]} {row['psnr']:.1f} dB"
            for row in attacked.per_image
        ]
        writers[png] = lambda path: save_grid(
            attacked.truth, attacked.reconstructed, captions, path, grid_title(report)
        )
        report["grid"] = str(png)
        mark_failed(report, attacked.summary)
    report["summary"]["notes"] = federation_notes(report)
    writers[json_path] = lambda path: write_json(path, report)
    write_together(writers)
    if "error" in report:
        raise RunFailed(f"{report['error']}; written to {json_path}")
    if report.get("interrupted"):
        raise Interrupted(f"{stopped_by()}; the rounds and experiments finished before it are in {json_path}")
    print(
        with_notes(one_line(args, report, png if attacked is not None else curve, defense), report["summary"]["notes"])
    )
    return report


def one_line(args: Namespace, report: dict, picture: Path, defense: Defense) -> str:
    """main_grad's summary line for the attack, plus the final accuracy, seconds per round and epsilon if any."""
    summary = report["summary"]
    per_round = sum(r["seconds"] for r in report["rounds"]) / len(report["rounds"])
    federated = f"final acc {100 * summary['final_accuracy']:.1f}% | {per_round:.1f} s/round"
    privacy = report["defense"]["privacy"]
    if privacy is not None:
        epsilon = privacy["epsilon_max"]
        federated += f" | epsilon {'inf' if epsilon is None else format(epsilon, '.2f')} (delta {privacy['delta']:g})"
    if "psnr" not in summary:
        return f"{args.strategy} {attack_label(NO_ATTACK, defense)} | {federated} | {picture}"
    return f"{args.strategy} {summary_line(attack_label(args.attack, defense), summary, picture)} | {federated}"


if __name__ == "__main__":
    run_cli(main)
