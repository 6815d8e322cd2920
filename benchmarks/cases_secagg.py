"""Secure aggregation (issue 25): what a server that sees only a round's aggregate recovers, through main_fed
--secure_aggregation (the ideal functionality) on the CIFAR-10 subset, normalised.

K clients (1 to 16, iid split, all selected) each train on n fresh images (--victim_images n: 8 or 32) from the
same broadcast FC-2, one local step (batch n) or one epoch at batch 4 (n / 4 steps), plain SGD at lr 0.1; the
server attacks round 1's aggregate and reconstructs all N = K n images (the union batch, attributed to no
client). A cell is the share of the round's N images recovered: recognisable for CPA, iDLG and IG (SSIM >= 0.5
and 3 dB over the image's flat PSNR, docs/verdicts.md), PSNR > 30 dB for Robbing the Fed, whose cell also gives
the equal-mass formula's expectation (1 - 1/k)^(N-1). CPA on FC-2 separates at most 256 sources (its first
layer's width): 16 clients of 32 images (N 512) is refused before any work, and the cell says so.
"""

from functools import partial

import main_fed
from benchmarks.common import CIFAR10_SUBSET, Data, Run
from fedprivacy.attacks.rtf import expected_alone_share
from fedprivacy.cli import fed
from fedprivacy.cli.runner import run_unwritten
from fedprivacy.utils.errors import UsageError

NORMALISED = Data("npz", CIFAR10_SUBSET.path, ("--normalize",))
CLIENTS = (1, 2, 4, 8, 16)
TABLE = (
    "Secure aggregation (ideal functionality): share of all the round's images recovered from the aggregate of "
    "K clients, FC-2, CIFAR-10 subset (cells: CPA, iDLG, IG recognisable; RtF PSNR > 30 dB, its formula in brackets)"
)
SHARED = "one thread, niced, on a 2-core machine shared with other jobs"
SHORT = {
    "idlg": {"steps": 100, "restarts": 1},
    "ig_single": {"iterations": 500, "restarts": 1},
}  # the short CPU budgets


def local_flags(images: int, epoch: bool) -> tuple[str, ...]:
    """One local step on the client's `images` (a full batch), or one epoch at batch 4, plain SGD at lr 0.1."""
    batch = 4 if epoch else images
    return ("--client.epochs", "1", "--client.batch_size", str(batch), "--client.lr", "0.1", "--client.momentum", "0")


def attack_round(attack: str, clients: int, images: int, epoch: bool, flags: tuple, options: dict) -> dict | str:
    """main_fed's report on round 1's aggregate of `clients` clients of `images` images each (its run without its
    files: the table keeps numbers, not grids of hundreds of images), or the one-line refusal when the attack
    cannot take the round (main_fed's checks before any work)."""
    federation = (
        "--secure_aggregation", "--model", "fc2", "--iid", "--total_clients", str(clients), "--num_rounds", "1",
        "--victim_images", str(images), "--threads", "1", *local_flags(images, epoch), *flags, "--quiet",
    )  # fmt: skip
    args = main_fed.parse_args(Run(attack, NORMALISED, federation, options).argv())
    try:
        fed.build_federation(args, fed.check(args))
    except UsageError as refused:
        return str(refused)
    return run_unwritten(fed, args).report


def recovered(report: dict, attack: str) -> float:
    """The share of the round's images recovered (PSNR > 30 dB for RtF, recognisable for the others)."""
    rows = report["per_image"]
    if attack == "rtf":
        return sum(row["psnr"] is not None and row["psnr"] > 30 for row in rows) / len(rows)
    return sum(bool(row["recognisable"]) for row in rows) / len(rows)


def secagg_case(attack: str, images: int, epoch: bool, bins: int | None = None, clients=CLIENTS) -> dict:
    """One row: `attack` against 1 to 16 clients of `images` images each."""
    flags = () if bins is None else ("--imprint", "--bins", str(bins))
    cells, seconds, threads, refused = {}, 0.0, None, []
    for count in clients:
        report = attack_round(attack, count, images, epoch, flags, SHORT.get(attack, {}))
        column = f"{count} client{'s' if count > 1 else ''}"
        if isinstance(report, str):
            cells[column] = "refused"
            refused.append(f"{count} x {images}: {report}")
            continue
        share, total = recovered(report, attack), report["experiments"][0]["total_examples"]
        if attack == "rtf":
            cells[column] = f"{share:.2f} ({expected_alone_share(total, bins):.2f})"
        elif attack in SHORT:
            cells[column] = f"{share:.2f} ({report['summary']['psnr']:.1f} dB)"
        else:
            cells[column] = f"{share:.2f}"
        seconds += report["summary"]["seconds"]
        threads = report["threads"]
    budget = {
        "cpa": "CPA's defaults (1000 Adam steps on the unmixing matrix); ",
        "rtf": f"imprint block of {bins} bins (placed from the test split's brightness) before FC-2; ",
        "idlg": "short CPU budget: 100 L-BFGS steps, 1 trial (iDLG's label trick needs batch 1; labels restored "
        "from the aggregate as one batch); cells add the mean PSNR; ",
        "ig_single": "short CPU budget: 500 signed-Adam steps (IG single reads the aggregate's pseudo-gradient as "
        "one batch's gradient); cells add the mean PSNR; ",
    }[attack]
    return {
        "table": TABLE,
        "attack": attack if bins is None else f"rtf {bins} bins",
        "images_per_client": images,
        "local": f"1 epoch, batch 4 ({images // 4} steps)" if epoch else "1 step",
        **cells,
        "attack_s": seconds,
        "threads": threads,
        "notes": f"{budget}{'; '.join(refused) + '; ' if refused else ''}{SHARED}",
    }


CASES = {
    f"secagg_{name}_{images}img_{'epoch' if epoch else 'step'}": partial(secagg_case, attack, images, epoch, bins)
    for name, attack, bins in (("cpa_fc2", "cpa", None), ("rtf128", "rtf", 128), ("rtf512", "rtf", 512))
    for images in (8, 32)
    for epoch in (False, True)
}
CASES |= {f"secagg_{attack}_fc2_8img_step": partial(secagg_case, attack, 8, False) for attack in ("idlg", "ig_single")}


PLUS_TABLE = (
    "Flower's SecAgg+ against the ideal functionality: 4 clients of 8 images, one local step, FC-2, CIFAR-10 "
    "subset (cells: share of the 32 images recovered, CPA recognisable, RtF PSNR > 30 dB; mean PSNR in brackets)"
)
PLUS_SETTINGS = {  # column -> main_fed flags (the ideal functionality: the local engine)
    "ideal": (),
    "SecAgg+ defaults, weights": ("--engine", "flower", "--secagg_payload", "weights"),
    "SecAgg+ defaults, update": ("--engine", "flower"),
    "SecAgg+ tuned, update": (
        *("--engine", "flower", "--secagg_max_weight", "8", "--secagg_clipping_range", "0.01"),
        *("--secagg_quantization_range", str(2**24)),
    ),
}


def secagg_plus_case(attack: str, bins: int | None = None) -> dict:
    """One row: `attack` on round 1 of 4 clients of 8 images under the ideal functionality and Flower's SecAgg+
    (its defaults on the weights as Flower's example sends them, on the update, and tuned on the update)."""
    imprint = () if bins is None else ("--imprint", "--bins", str(bins))
    cells, seconds = {}, 0.0
    for column, flags in PLUS_SETTINGS.items():
        report = attack_round(attack, 4, 8, False, (*imprint, *flags), {})
        cells[column] = f"{recovered(report, attack):.2f} ({report['summary']['psnr']:.1f} dB)"
        seconds += report["wall_seconds"]
    return {
        "table": PLUS_TABLE,
        "attack": attack if bins is None else f"rtf {bins} bins",
        **cells,
        "wall_s": seconds,
        "notes": "Flower's defaults: max_weight 1000, clipping_range 8, quantization_range 2^22, modulus 2^32; tuned: "
        "max_weight 8 (the clients' count), clipping_range 0.01, quantization_range 2^24; payloads in float64, "
        "stochastic rounding seeded per round and client; wall_s includes Flower's simulation (Ray's start once "
        f"per process); {SHARED}",
    }


CASES |= {
    "secagg_plus_cpa_fc2_4x8": partial(secagg_plus_case, "cpa"),
    "secagg_plus_rtf128_4x8": partial(secagg_plus_case, "rtf", 128),
}
