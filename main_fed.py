"""FedAvg with an honest-but-curious server attacking one client's update: flags -> build -> run -> report."""

import time
from argparse import Namespace
from dataclasses import replace
from pathlib import Path

from attacks import AttackSpec, get_attack
from attacks.sharing import with_labels
from data import DatasetInfo, load_split, make_normalization
from data.catalog import dataset_label
from defenses import Defense, add_defense_arguments, defense_from_args
from fl.federation import FedData, FedSettings, run_federation
from fl.partition import P_TYPES, partition
from flower.cli import add_engine_arguments, check_engine, run_on_flower
from models import build_model
from models.imprint import add_imprint_arguments, imprint_from_args
from utils.attack_args import add_attack_arguments, attack_config, check_attack_fits, settings_of
from utils.cli import OneLineParser, add_data_arguments, add_output_arguments, positive, resolve_device, run_cli
from utils.errors import UsageError
from utils.report import attack_label, output_paths, save_curve, save_grid, summary_line, write_json
from utils.runner import Case, RunResult, attack_cases
from utils.seeding import seed_everything

NO_ATTACK = "none"


def parse_args(argv: list[str] | None = None) -> Namespace:
    parser = OneLineParser(description=__doc__)
    add = parser.add_argument
    add("--strategy", choices=("fedavg",), default="fedavg", help="aggregation rule")
    add("--num_rounds", type=positive, default=10, help="communication rounds")
    add("--total_clients", type=positive, default=10, help="number of clients")
    add("--C", type=float, default=1.0, help="fraction of clients selected per round, in (0, 1]")
    add("--local_epochs", type=positive, default=1, help="passes of a client over its data per round")
    add("--batch_size", type=positive, default=50, help="client mini-batch size")
    add("--lr", type=float, default=0.1, help="client SGD learning rate in round 1")
    add("--lr_decay", type=float, default=0.95, help="lr multiplier applied once per round")
    add("--client_momentum", type=float, default=0.0, help="client SGD momentum (fresh every round)")
    add("--weight_decay", type=float, default=0.0, help="client SGD weight decay")
    add("--iid", action="store_true", help="split the training set iid (overrides --p_type)")
    add("--p_type", choices=P_TYPES, default="dirichlet", help="non-iid split: Dirichlet label skew or fixed classes")
    add("--beta", type=float, default=0.5, help="Dirichlet concentration (small = more skew)")
    add("--num_classes_per_client", type=positive, default=2, help="classes per client for --p_type fix_class")
    add("--min_samples", type=positive, default=10, help="fewest training samples a Dirichlet client may hold")
    add_data_arguments(parser, model="cnn", dataset="digits")
    add(
        "--attack_rounds",
        default="all",
        help="rounds (1-based, comma-separated) at which the server attacks one client, or 'all'",
    )
    add("--seed", type=int, default=0, help="seed for the model, the split, client sampling and the attack")
    add_output_arguments(parser, outputs="the grid, the accuracy curve and the JSON")
    add_attack_arguments(
        parser,
        batch_help="images the attacked client holds in its round (it trains on them; the attack reconstructs them)",
        extra=(NO_ATTACK,),
    )
    add_defense_arguments(parser)
    add_imprint_arguments(parser)
    add_engine_arguments(parser)
    return parser.parse_args(argv)


def parse_rounds(text: str, num_rounds: int) -> frozenset[int]:
    """--attack_rounds: 'all' or a comma-separated list of 1-based rounds."""
    if text.strip() == "all":
        return frozenset(range(1, num_rounds + 1))
    try:
        rounds = frozenset(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--attack_rounds {text!r}: give 'all' or comma-separated round numbers, e.g. 1,5") from None
    if not rounds or min(rounds) < 1 or max(rounds) > num_rounds:
        raise UsageError(f"--attack_rounds {text}: rounds must lie between 1 and --num_rounds {num_rounds}")
    return rounds


def check_protocol(args: Namespace) -> None:
    """Numeric flags argparse cannot check on its own."""
    if not 0 < args.C <= 1:
        raise UsageError(f"--C {args.C}: the fraction of clients per round must be in (0, 1]")
    if args.lr <= 0 or args.lr_decay <= 0:
        raise UsageError(f"--lr {args.lr} / --lr_decay {args.lr_decay}: both must be positive")
    if not 0 <= args.client_momentum < 1 or args.weight_decay < 0:
        raise UsageError(
            f"--client_momentum {args.client_momentum} must be in [0, 1) and --weight_decay {args.weight_decay} >= 0"
        )


def output_stem(args: Namespace, attack_settings: dict | None, defense: Defense) -> str:
    """The seed's naming, e.g. fedavg_dlg_nzcifar10_cnn_niid0.5_300re_1rb_1.0rl_10c_10r_1e_50b_0.1l_0.0m
    (fix_class splits read fix{k}; imp_ marks --imprint; _kl --known_labels; an npz dataset is named by
    its file; no rec part without attack), then the defense if any (e.g. _prune0.9)."""
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
    rec += "_kl" if getattr(args, "known_labels", False) else ""
    return (
        f"{args.strategy}_{args.attack}_{space}{dataset}_{model}_{split}{rec}_{args.total_clients}c_"
        f"{args.num_rounds}r_{args.local_epochs}e_{args.batch_size}b_{args.lr}l_{args.client_momentum}m{defense.tag()}"
    )


def check_known_labels(spec: AttackSpec | None, args: Namespace) -> None:
    """--known_labels is for attacks that declare it (the Inverting Gradients paper's stronger server)."""
    if getattr(args, "known_labels", False) and not (spec and any(f.dest == "known_labels" for f in spec.flags)):
        raise UsageError(f"--known_labels: --attack {args.attack} does not take known labels")


def granted(cases: list[Case], args: Namespace) -> list[Case]:
    """With --known_labels the server is also told the attacked client's labels of that round."""
    if not getattr(args, "known_labels", False):
        return cases
    return [replace(case, observation=with_labels(case.observation, case.labels)) for case in cases]


def build_data(args: Namespace) -> tuple[FedData, DatasetInfo]:
    """Both splits in memory, the training split partitioned among the clients, and the dataset's facts."""
    train = load_split(args.dataset, "train", args.base_data_dir, args.download, args.image_size)
    test = load_split(args.dataset, "test", args.base_data_dir, args.download, args.image_size)
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
    if args.attack != NO_ATTACK and max(len(share) for share in shares) < args.rec_batch_size:
        raise UsageError(f"--rec_batch_size {args.rec_batch_size}: no client holds that many training images")
    info = train.info
    normalization = make_normalization(info, args.normalize, args.norm_stats)
    data = FedData(train_images, train_labels, shares, test_images, test_labels, normalization)
    return data, info


def run(args: Namespace) -> tuple[dict, RunResult | None, Defense]:
    """Simulate FedAvg as the flags say (every client applying the defense), attack the chosen clients'
    updates and score them; returns the report, the attack's result (None without attack), the defense."""
    check_protocol(args)
    attacked_rounds = parse_rounds(args.attack_rounds, args.num_rounds)
    spec = None if args.attack == NO_ATTACK else get_attack(args.attack)
    config = None if spec is None else attack_config(spec, args)
    if spec is not None:
        check_attack_fits(spec, args)
    check_known_labels(spec, args)
    defense = defense_from_args(args)
    check_engine(args)
    device = resolve_device(args.device)
    seed_everything(args.seed)
    data, info = build_data(args)
    model = build_model(args.model, info.channels, info.image_size, info.num_classes).to(device)
    model = imprint_from_args(model, args, info, data.normalization)
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
        attack_rounds=attacked_rounds if spec is not None else frozenset(),
        rec_batch_size=args.rec_batch_size,
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
        "args": vars(args),
        "defense": {**defense.settings(), "privacy": fed.privacy},
        "summary": {"accuracy": accuracies, "final_accuracy": accuracies[-1]},
        "initial_accuracy": fed.initial_accuracy,
        "rounds": fed.rounds,
    }
    if config is not None:
        report["attack_settings"] = settings_of(config)
    attacked = None
    if fed.cases:
        attacked = attack_cases(spec, config, granted(fed.cases, args))
        report |= {
            "summary": {**attacked.summary, **report["summary"]},
            "per_image": attacked.per_image,
            "experiments": attacked.experiments,
            "case_rounds": [case.meta["round"] for case in fed.cases],
        }
    report["wall_seconds"] = time.perf_counter() - started
    return report, attacked, defense


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    report, attacked, defense = run(args)
    png, json_path = output_paths(
        args.out_dir, output_stem(args, report.get("attack_settings"), defense), args.overwrite
    )
    curve = json_path.with_name(f"{json_path.stem}_accuracy.png")
    save_curve([report["initial_accuracy"], *report["summary"]["accuracy"]], curve, "test accuracy", json_path.stem)
    report["curve"] = str(curve)
    if attacked is not None:
        rounds = report["case_rounds"]
        captions = [
            "diverged" if row["psnr"] is None else f"r{rounds[row['case']]} {row['psnr']:.1f} dB"
            for row in attacked.per_image
        ]
        save_grid(attacked.truth, attacked.reconstructed, captions, png)
        report["grid"] = str(png)
    write_json(json_path, report)
    print(one_line(args, report, png if attacked is not None else curve, defense))
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
