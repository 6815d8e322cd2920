"""main_fed's steps in the shared skeleton (cli/runner.py): FedAvg as the flags say, on the local loop or on
Flower's Simulation Engine (the same loop, fl/federation.py), every client applying the defense; the server
attacks the chosen clients' updates, and the attack is scored."""

import time
from argparse import Namespace
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import torch
from torch import nn

from fedprivacy.attacks import AttackConfig, AttackSpec, get_attack
from fedprivacy.cli.attack_flags import option_flags, option_of
from fedprivacy.cli.client import client_flags
from fedprivacy.cli.common import flag_values, progress_style
from fedprivacy.cli.device import resolve_device
from fedprivacy.cli.federation import federation_settings, secagg_values
from fedprivacy.cli.runner import Outcome, announce_cost, planned_paths
from fedprivacy.cli.server import attack_config, attack_knowledge, check_attack_fits, server_model
from fedprivacy.data import DatasetInfo, load_split
from fedprivacy.data.catalog import dataset_label
from fedprivacy.defenses import Defense, defense_from_args
from fedprivacy.evaluation.metrics import chance_accuracy
from fedprivacy.evaluation.report import (
    attack_label,
    curve_title,
    federation_notes,
    grid_title,
    mark_failed,
    save_curve,
    save_grid,
    summary_line,
    with_notes,
)
from fedprivacy.evaluation.runner import RunResult, attack_cases
from fedprivacy.fl.case import Case
from fedprivacy.fl.federation import MODEL_MODE, FedData, FedResult, run_federation
from fedprivacy.fl.knowledge import PublicKnowledge
from fedprivacy.fl.partition import partition
from fedprivacy.fl.protocol import FedSettings, plan_round
from fedprivacy.fl.public import PublicData, server_normalization
from fedprivacy.fl.view import with_labels
from fedprivacy.flower import require_flwr
from fedprivacy.flower.simulation import Resources, reachable
from fedprivacy.models import check_runs
from fedprivacy.utils.errors import UsageError
from fedprivacy.utils.seeding import seed_everything
from fedprivacy.utils.threads import use_threads

NO_ATTACK = "none"
CURVE = "_accuracy"  # the accuracy curve beside the JSON: {name}_accuracy.png
ALSO = (f"{CURVE}.png",)  # what the result writes besides the grid and the JSON


@dataclass(frozen=True)
class Checked:
    """What the flags alone decide, checked before any data is read."""

    spec: AttackSpec | None
    config: AttackConfig | None
    settings: FedSettings
    defense: Defense
    device: torch.device


def check(args: Namespace) -> Checked:
    """Every check that needs no data (and no network): the protocol, the attack, the scenario, the defense,
    the engine's extra and resources, the device."""
    spec = None if args.attack == NO_ATTACK else get_attack(args.attack)
    config = None if spec is None else attack_config(spec, args)
    settings = federation_settings(args, attacked=spec is not None)
    defense = defense_from_args(args)
    if args.engine == "flower":
        require_flwr("--engine flower")
        resources(args).check_local()
        if args.secure_aggregation:
            secagg_plus(args).check(settings.clients_per_round())
    return Checked(spec, config, replace(settings, defense=defense), defense, resolve_device(args.device))


def secagg_plus(args: Namespace):
    """Flower's SecAgg+ settings as the --secagg_* flags give them (the rest: Flower's defaults)."""
    from fedprivacy.flower.secagg import SecAggPlusSettings  # flwr loads only when chosen

    return SecAggPlusSettings(**secagg_values(args))


def flags(args: Namespace, checked: Checked) -> dict:
    """The report's record of the flags: as parsed, with the attack's options (if any) and the clients'
    training as they resolved."""
    options = None if checked.config is None else checked.config.options
    return flag_values(args, option_flags(checked.spec, options) | client_flags(checked.settings.local))


def stem(args: Namespace, checked: Checked) -> str:
    """The naming of the original implementation (hangyuzhu/privacy-attack-in-federated-learning), e.g.
    fedavg_dlg_nzcifar10_cnn_niid0.5_300re_1rb_1.0rl_10c_10r_1e_50b_0.1l_0.0m
    (fix_class splits read fix{k}; imp_ marks --imprint; re and rl are the attack's budget and step size, when it
    has them; rb is replaced by secagg (the ideal functionality) or secaggplus (Flower's SecAgg+) under
    --secure_aggregation, where the attack takes the round's images, and without an attack that part is the
    protocol alone; _v{N} the small-client scenario --victim_images N; _kl --known_labels; an npz dataset is named
    by its file; no other rec part without attack), then the defense if any (e.g. _prune0.9)."""
    space = "nz" if args.normalize else "unz"
    dataset = dataset_label(args.dataset, args.base_data_dir)
    model = f"imp_{args.model}" if args.imprint else args.model
    if args.iid:
        split = "iid"
    elif args.p_type == "dirichlet":
        split = f"niid{args.beta}"
    else:
        split = f"fix{args.num_classes_per_client}"
    protocol = ("secaggplus" if args.engine == "flower" else "secagg") if args.secure_aggregation else None
    rec = "" if protocol is None else f"_{protocol}"
    if checked.config is not None:
        budget, lr = (option_of(checked.config.options, name) for name in ("rec_epochs", "rec_lr"))
        batch = protocol or f"{args.rec_batch_size}rb"
        rec = f"{'' if budget is None else f'_{budget}re'}_{batch}{'' if lr is None else f'_{lr}rl'}"
        rec += "" if args.victim_images is None else f"_v{args.victim_images}"
    rec += "_kl" if args.known_labels else ""
    local = checked.settings.local
    return (
        f"{args.strategy}_{args.attack}_{space}{dataset}_{model}_{split}{rec}_{args.total_clients}c_"
        f"{args.num_rounds}r_{local.epochs}e_{local.batch_size}b_{local.lr}l_{local.momentum}m{checked.defense.tag()}"
    )


def scenario(args: Namespace) -> dict:
    """Which attacked client the run simulated: the realistic one (all its data) or a small one; or, under secure
    aggregation, which protocol gave the server the round's aggregate."""
    if args.secure_aggregation:
        each = "all its data" if args.victim_images is None else f"{args.victim_images} fresh image(s)"
        record = {
            "name": "secure_aggregation",
            "protocol": "ideal functionality" if args.engine == "local" else "Flower SecAgg+ (flwr 1.42)",
            "victim_images": args.victim_images,
            "about": (
                "the server sees only the FedAvg aggregate of each attacked round's clients (their number and total "
                f"count are public; each trains on {each}) and reconstructs all the round's images, attributed to "
                "no client"
            ),
        }
        if args.engine == "flower":
            record["secagg_plus"] = secagg_plus(args).record()
        return record
    if args.victim_images is None:
        return {"name": "full_client", "about": "the attacked client trains on all its data of the round"}
    return {
        "name": "small_client",
        "victim_images": args.victim_images,
        "about": f"the attacked client trains on {args.victim_images} fresh image(s) in its attacked round",
    }


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
    if args.attack != NO_ATTACK and not args.secure_aggregation and max(len(share) for share in shares) < needed:
        flag = "--victim_images" if needed > args.rec_batch_size else "--rec_batch_size"
        raise UsageError(f"{flag} {needed}: no client holds that many training images")
    info = train.info
    normalization, record = server_normalization(info, args.normalize, args.norm_stats, public)
    data = FedData(train_images, train_labels, shares, test_images, test_labels, normalization)
    return data, info, record


def build_federation(args: Namespace, checked: Checked) -> tuple[nn.Module, FedData, PublicKnowledge]:
    """The server's initial model (behind the imprint block with --imprint), the clients' data, and what
    the server knows from public data (fl/public.py: the test split, never the clients' training split)."""
    public = PublicData(args.dataset, args.base_data_dir, args.image_size, private="train", rgb=args.rgb)
    options = None if checked.config is None else checked.config.options
    knowledge = attack_knowledge(checked.spec, options, args, public, range(0))
    data, info, knowledge.normalization = build_data(args, public)
    model, classes = server_model(args, info, data.normalization, public, checked.device, knowledge)
    if checked.spec is not None and checked.settings.secure_aggregation:
        for images in sorted(round_sizes(data, checked.settings)):  # the union batch of every attacked round
            try:
                check_attack_fits(checked.spec, args, model, classes, update=True, num_images=images, aggregate=True)
            except UsageError as error:  # the batch is the round's images, not a flag's value
                union = f"--secure_aggregation: the attacked round's {images} images (the batch the attack takes)"
                raise UsageError(str(error).replace(f"--rec_batch_size {images}", union)) from None
    elif checked.spec is not None:
        check_attack_fits(checked.spec, args, model, classes, update=True)
    if args.engine == "flower" and checked.settings.secure_aggregation:
        secagg_plus(args).check(checked.settings.clients_per_round(), largest_client(data, checked.settings))
    check_runs(model, args.model, info.shape, 1, MODEL_MODE)  # a client's last mini-batch may hold one image
    return model, data, knowledge


def round_sizes(data: FedData, settings: FedSettings) -> set[int]:
    """Under secure aggregation: how many images the clients of each attacked round train on in all (the
    seeded plans, known before any work)."""
    plans = [plan_round(data.shares, settings, number) for number in settings.attack_rounds]
    return {sum(len(plan.samples[client]) for client in plan.selected) for plan in plans}


def largest_client(data: FedData, settings: FedSettings) -> int:
    """The most images one client trains on in any round (the seeded plans; SecAgg+ weighs a client by it)."""
    plans = [plan_round(data.shares, settings, number) for number in range(1, settings.num_rounds + 1)]
    return max(len(indices) for plan in plans for indices in plan.samples.values())


def describe(args: Namespace, checked: Checked) -> str:
    """--dry_run: flags alone, or (full) the data loaded and the model built, and what would be written."""
    attack = NO_ATTACK if checked.spec is None else f"{args.attack} at rounds {sorted(checked.settings.attack_rounds)}"
    if args.secure_aggregation:
        attack += f" on the secure aggregate ({'SecAgg+' if args.engine == 'flower' else 'ideal functionality'})"
    target = planned_paths(args, stem(args, checked), ALSO, claim=False)[1]
    if args.dry_run == "flags":
        return f"dry run (flags): FedAvg on --dataset {args.dataset}, attack {attack}; would write {target}"
    seed_everything(args.seed)
    model, data, _ = build_federation(args, checked)
    sizes = sorted(len(share) for share in data.shares)
    parameters = sum(p.numel() for p in model.parameters())
    defense = checked.defense.label() if checked.defense.name != "none" else "none"
    if checked.spec is not None:
        attack += f" ({checked.spec.budget(checked.config.options).words()})"
    local = checked.settings.local
    return (
        f"dry run: FedAvg of --model {args.model} ({parameters} parameters) for {args.num_rounds} rounds, "
        f"{args.total_clients} clients holding {sizes[0]}-{sizes[-1]} of {len(data.train_labels)} "
        f"--dataset {args.dataset} training images, {local.epochs} local epoch(s) at batch {local.batch_size}; "
        f"attack {attack}; defense {defense}; would write {target}"
    )


def resources(args: Namespace) -> Resources:
    """Each virtual Flower client's resources, and the Ray cluster to join (None: start one)."""
    return Resources(args.client_cpus, args.client_gpus, args.ray_address)


def federate(args: Namespace, model: nn.Module, data: FedData, settings: FedSettings) -> FedResult:
    """The federation on the chosen engine: our loop, or the same loop over Flower's Simulation Engine (whose
    Ray cluster, when one is named, must answer first)."""
    if args.engine == "flower":
        from fedprivacy.flower.engine import run_flower_federation  # flwr loads only when chosen

        if settings.secure_aggregation:
            from fedprivacy.flower.secagg import SecAggPlusClients, secagg_client_app

            transport = partial(SecAggPlusClients, settings=secagg_plus(args))
            return run_flower_federation(
                model, data, settings, resources(args), progress_style(args), secagg_client_app, transport
            )
        return run_flower_federation(model, data, settings, resources(args), progress_style(args))
    return run_federation(model, data, settings, progress_style(args))


def attack_federation(args: Namespace, checked: Checked, fed: FedResult, report: dict) -> RunResult | None:
    """Attack the federation's cases (if any, and if it finished), adding the results to `report`."""
    if not fed.cases or fed.failure or fed.interrupted:
        return None
    cases = granted(fed.cases, args)
    try:
        announce_cost(checked.spec, checked.config, cases)
        attacked = attack_cases(checked.spec, checked.config, cases)
    except KeyboardInterrupt:  # before any case finished: keep the federation's rounds
        report["interrupted"] = True
        return None
    report |= {
        **({"interrupted": True} if attacked.interrupted else {}),
        "summary": {**attacked.summary, **report["summary"]},
        "per_image": attacked.per_image,
        "experiments": attacked.experiments,
        "case_rounds": [case.meta["round"] for case in fed.cases][: len(attacked.experiments)],
    }
    return attacked


def run(args: Namespace, checked: Checked) -> Outcome:
    """Simulate FedAvg as the flags say (every client applying the defense), attack the chosen clients'
    updates and score them."""
    if args.engine == "flower":  # a named Ray cluster must answer before any data is loaded
        reachable(args.ray_address)
    threads = use_threads(args.threads)
    seed_everything(args.seed)
    model, data, knowledge = build_federation(args, checked)
    started = time.perf_counter()
    fed = federate(args, model, data, checked.settings)
    accuracies = [record["accuracy"] for record in fed.rounds]
    report = {
        **({"status": "failed", "error": fed.failure} if fed.failure else {}),
        **({"interrupted": True} if fed.interrupted else {}),
        "args": flags(args, checked),
        "threads": threads,
        "public_knowledge": knowledge.report(),
        "defense": {**checked.defense.settings(), "privacy": fed.privacy},
        "summary": {
            "accuracy": accuracies,
            "final_accuracy": accuracies[-1] if accuracies else None,
            "chance_accuracy": chance_accuracy(data.test_labels),
        },
        "initial_accuracy": fed.initial_accuracy,
        "rounds": fed.rounds,
    }
    if checked.config is not None:
        report["attack_settings"] = checked.config.settings()
    if checked.config is not None or args.secure_aggregation:
        report["scenario"] = scenario(args)
    attacked = attack_federation(args, checked, fed, report)
    report["wall_seconds"] = time.perf_counter() - started
    accuracy = [report["initial_accuracy"], *report["summary"]["accuracy"]]

    def curve(path: Path) -> None:
        save_curve(accuracy, path, "test accuracy", curve_title(report))

    pictures = {"curve": (CURVE, curve)}
    failure = fed.failure
    if attacked is not None:
        rounds = report["case_rounds"]
        captions = [
            "diverged" if row["psnr"] is None else f"r{rounds[row['case']]} {row['psnr']:.1f} dB"
            for row in attacked.per_image
        ]
        title = grid_title(report)
        pictures["grid"] = ("", lambda path: save_grid(attacked.truth, attacked.reconstructed, captions, path, title))
        failure = failure or mark_failed(report, attacked.summary)
    report["summary"]["notes"] = notes = federation_notes(report)
    return Outcome(
        report,
        attacked,
        pictures,
        lambda paths: with_notes(one_line(args, report, paths.get("grid", paths["curve"]), checked.defense), notes),
        failure=failure,
        interrupted="the rounds and experiments finished before it are" if report.get("interrupted") else None,
    )


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
