"""FedAvg on the CIFAR-10 subset with the original implementation's protocol: a clean run's accuracy curve,
the server-side attack on a small client (a few fresh images, one local step: --victim_images), attack
quality against local steps and images, and every attack on a realistic client (all its data, many steps)."""

from pathlib import Path

import main_fed
from benchmarks.common import CIFAR10_SUBSET, IMAGES, ROOT, Data, Run

NORMALISED = Data("npz", CIFAR10_SUBSET.path, ("--normalize",))
FEDERATION = (
    *("--total_clients", "10", "--p_type", "dirichlet", "--beta", "0.5", "--C", "1", "--client.epochs", "1"),
    *("--client.batch_size", "50", "--client.lr", "0.1", "--lr_decay", "0.95", "--client.momentum", "0"),
)  # the original implementation's federated protocol (main_fed's own defaults differ)
SHARED_MACHINE = "timed on a 2-core machine shared with other jobs"
CLEAN_ROUNDS = 10
THREAT_TABLE = (
    "Server-side attack where the threat is real: CIFAR-10 subset, 10 clients (Dirichlet 0.5), "
    "the attacked client trains 1 local step on its images"
)
GRID_TABLE = "Server-side attack: PSNR against local steps and local images (CIFAR-10 subset, one attacked client)"
STEPS = (1, 5, 20)
LOCAL_IMAGES = (1, 8, 32)


def run_fed(attack: str, *flags: str, **options: object) -> dict:
    """main_fed.py with the original's federation on the shared CIFAR-10 subset (quietly, into benchmarks/images):
    `attack` (a preset, an attack at its defaults, or none) with some `options` overridden."""
    run = Run(attack, NORMALISED, (*FEDERATION, *flags), options)
    return main_fed.main([*run.argv(), "--quiet", "--overwrite", "--out_dir", str(IMAGES)])


def relative(path: str) -> str:
    return str(Path(path).relative_to(ROOT))


def clean_case() -> dict:
    """FedAvg with the original implementation's protocol and no attack: test accuracy and seconds per round."""
    report = run_fed("none", "--model", "cnn", "--num_rounds", str(CLEAN_ROUNDS))
    rounds = report["rounds"]
    accuracies = [record["accuracy"] for record in rounds]
    return {
        "table": "FedAvg without attack: ConvNet, CIFAR-10 subset (5,000 train / 1,000 test images), 10 clients",
        "model": "cnn",
        "rounds": len(rounds),
        "initial_acc": report["initial_accuracy"],
        "final_acc": accuracies[-1],
        "best_acc": max(accuracies),
        "acc_per_round": " ".join(f"{a:.3f}" for a in accuracies),
        "s_per_round": sum(r["seconds"] for r in rounds) / len(rounds),
        "curve": relative(report["curve"]),
        "notes": "Dirichlet 0.5, C 1, 1 local epoch, batch 50, lr 0.1 decayed 0.95 per round, no momentum; "
        f"s_per_round includes training all 10 clients and the test evaluation; {SHARED_MACHINE}",
    }


def attack_row(report: dict, table: str, **extra: object) -> dict:
    """The standard columns of a server-side attack row from a main_fed report."""
    args, summary = report["args"], report["summary"]
    return {
        "table": table,
        "attack": args["attack"],
        "model": args["model"],
        "local_images": args["rec_batch_size"],
        **extra,
        "attacked_rounds": len(report["experiments"]),
        "psnr_mean": summary["psnr"],
        "psnr_median": summary["psnr_median"],
        "ssim": summary["ssim"],
        "label_acc": summary["label_acc"],
        "attack_s": summary["seconds"],
        "grid": relative(report["grid"]),
    }


def threat_case(attack: str, model: str, images: int, rounds: str, *flags: str, note: str = "", **options: object):
    """The attacked client holds `images` images and takes one local step (batch 50 >= its images);
    2 rounds of FedAvg with all 10 clients, the server attacks one client in each of `rounds`."""

    def case() -> dict:
        flags_ = ["--model", model, "--num_rounds", "2", "--attack_rounds", rounds, "--rec_batch_size", str(images)]
        report = run_fed(attack, *flags_, *flags, "--victim_images", str(images), **options)
        return {
            **attack_row(report, THREAT_TABLE, local_steps=1),
            "final_acc": report["rounds"][-1]["accuracy"],
            "notes": f"{note}attacked in round(s) {rounds} of 2 (one client per round); {SHARED_MACHINE}",
        }

    return case


def grid_case(attack: str, model: str, local_steps: int, images: int, note: str = "", **options: object):
    """One cell of the steps x images table: round 1, only the attacked client trains (C = 0.1)."""

    def case() -> dict:
        report = run_fed(
            attack, "--model", model, "--num_rounds", "1", "--C", "0.1", "--rec_batch_size", str(images),
            "--victim_images", str(images), "--client.epochs", str(local_steps), **options,
        )  # fmt: skip
        return {
            **attack_row(report, GRID_TABLE, local_steps=local_steps),
            "notes": f"{note}{spent(report)}{SHARED_MACHINE}",
        }

    return case


def spent(report: dict) -> str:
    """What an L-BFGS attack's budget went to: steps run, and trials abandoned as stalled (none when not counted)."""
    experiments = report["experiments"]
    if not all("stalled_trials" in e for e in experiments):
        return ""
    steps, stalled = (sum(e[key] for e in experiments) for key in ("iterations", "stalled_trials"))
    return (
        f"{steps} L-BFGS steps run, {stalled} trial(s) abandoned as stalled after 10 steps (attacks.dlg.STALL_STEPS); "
    )


REALISTIC_TABLE = (
    "Server-side attack on a realistic client (the original implementation's claim): CIFAR-10 subset, 10 clients "
    "(Dirichlet 0.5), the attacked client trains 1 epoch on all its data (hundreds of images, batch 50) in round 1"
)


def realistic_case(attack: str, model: str, images: int, *flags: str, note: str = "", **options: object):
    """Round 1 of the original's federation; the server attacks one client that trained on all its data."""

    def case() -> dict:
        report = run_fed(
            attack, "--model", model, "--num_rounds", "1", "--rec_batch_size", str(images), *flags, **options
        )
        experiment = report["experiments"][0]
        client_images = len(experiment["dataset_indices"])
        steps = -(-client_images // 50)
        return {
            **attack_row(report, REALISTIC_TABLE, local_images=client_images, local_steps=steps, reconstructed=images),
            "notes": f"{note}reconstructs {images} image(s), scored against the client images they match best; "
            f"{SHARED_MACHINE}",
        }

    return case


IDLG_NOTE = "pseudo-gradient -update/(lr x steps), 100 L-BFGS steps, 1 trial; "
IG_NOTE = "matches the update through the simulated local training, 2000 signed-Adam steps at 0.1, labels restored; "
IG_GRID_NOTE = "matches the update through the simulated local steps, 1000 signed-Adam steps at 0.1; "
IG = {"iterations": 2000, "lr": 0.1}  # the Inverting Gradients rows' budget and step size
CASES = {
    "fed_clean_cnn": clean_case,
    "fed_threat_dlg_lenet_1img": threat_case("dlg.paper", "lenet", 1, "1,2", note="2 L-BFGS trials; ", restarts=2),
    "fed_threat_idlg_lenet_1img": threat_case("idlg.paper", "lenet", 1, "1,2", note="2 L-BFGS trials; ", restarts=2),
    "fed_threat_ig_weight_cnn_1img": threat_case("ig_weight.original", "cnn", 1, "2", note=IG_NOTE, **IG),
    "fed_threat_ig_multi_cnn_4img": threat_case("ig_multi.original", "cnn", 4, "2", note=IG_NOTE, **IG),
    "fed_threat_ig_multi_cnn_4img_known_labels": threat_case(
        "ig_multi.original",
        "cnn",
        4,
        "2",
        "--known_labels",
        note=IG_NOTE.replace("labels restored", "labels KNOWN to the server (--known_labels)"),
        **IG,
    ),
    **{
        f"fed_grid_idlg_lenet_{steps}steps_{images}img": grid_case(
            "idlg.paper", "lenet", steps, images, note=IDLG_NOTE, steps=100
        )
        for steps in STEPS
        for images in LOCAL_IMAGES
    },
    **{
        f"fed_grid_ig_weight_cnn_{steps}steps_1img": grid_case(
            "ig_weight.original", "cnn", steps, 1, note=IG_GRID_NOTE, iterations=1000, lr=0.1
        )
        for steps in (1, 5)
    },
    "fed_realistic_dlg_lenet": realistic_case("dlg.paper", "lenet", 1, note="2 L-BFGS trials; ", restarts=2),
    "fed_realistic_idlg_lenet": realistic_case("idlg.paper", "lenet", 1, note="2 L-BFGS trials; ", restarts=2),
    "fed_realistic_ig_single_cnn": realistic_case("ig_single.original", "cnn", 1, **IG),
    "fed_realistic_ig_weight_cnn": realistic_case("ig_weight.original", "cnn", 1, note=IG_NOTE, **IG),
    "fed_realistic_ig_multi_cnn": realistic_case("ig_multi.original", "cnn", 4, note=IG_NOTE, **IG),
    "fed_realistic_grnn_lenet": realistic_case("grnn.paper", "lenet", 4),
    "fed_realistic_cpa_fc2": realistic_case("cpa", "fc2", 8),
    "fed_realistic_rtf_cnn": realistic_case("rtf", "cnn", 64, "--imprint", "--bins", "128"),
}
