"""The privacy audit: every attack against every client-side defense at three strengths, and what each
defense costs FedAvg in accuracy. Fast CPU settings (two images or one small batch per cell, short budgets).

    python -m benchmarks.audit [--data_dir DIR] [--rows dlg ...] [--columns none prune_0.9 ...] [--fresh] [--no_fed]
                               [--ray local|auto|HOST:PORT]

Each cell runs main_grad's run with the row's flags plus the column's defense flags, so it measures exactly
what the command line does. Cells are cached in benchmarks/audit/cells/ (an interrupted audit resumes;
--fresh recomputes; with --ray the cells run as Ray tasks, flower/tasks.py, instead of local processes); the
table (audit.md) and the numbers (audit.json) are rebuilt from the cache, and from the committed audit.json
for cells not run in this checkout, so a partial audit changes only its cells; the picture (audit.png, one
reconstruction per cell) is redrawn when every cell's reconstruction is cached. A cell that fails says why in
the table; data missing from --data_dir is refused before any cell runs.
"""

import argparse
import json
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import torch
from tqdm import tqdm

import main_fed
import main_grad
from benchmarks.common import CIFAR10, ROOT, MissingData, machine, require
from benchmarks.privacy_utility import points, write_privacy_utility
from fedprivacy.cli import fed, grad
from fedprivacy.cli.common import OneLineParser, add_dry_run_argument, positive, run_cli
from fedprivacy.cli.runner import run_unwritten
from fedprivacy.flower.simulation import ray_address
from fedprivacy.utils.atomic import prepare_out_dir, write_together
from fedprivacy.utils.domains import path_text
from fedprivacy.utils.errors import Interrupted, UsageError
from fedprivacy.utils.signals import stopped_by

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

OUT = ROOT / "benchmarks" / "audit"
CELLS = OUT / "cells"
GENERATOR = ROOT / "checkpoints" / "mnist_dcgan.pt"


@dataclass(frozen=True)
class Row:
    """An attack in its fast setting: main_grad flags (without data) and the data it needs."""

    setting: str
    flags: tuple[str, ...]
    data: str = CIFAR10.name  # a file in --data_dir


@dataclass(frozen=True)
class Column:
    """A defense at one strength: its name in the table and its flags; or (`clients` set) secure aggregation, where
    each attack takes the aggregate of that many clients holding the row's images each (main_fed)."""

    defense: str
    strength: str
    flags: tuple[str, ...] = ()
    clients: int | None = None

    @property
    def key(self) -> str:
        return self.defense if not self.strength else f"{self.defense}_{self.strength}"


def lenet(preset: str, *extra: str) -> tuple[str, ...]:
    return ("--preset", preset, "--model", "lenet", *extra)


def cnn(preset: str, *extra: str) -> tuple[str, ...]:
    return ("--preset", preset, "--model", "cnn", "--normalize", *extra)


ROWS = {  # each attack's preset (a fast CPU budget where it differs), restarts as a user runs them
    "dlg": Row(
        "LeNet, 2 images, batch 1, 300 L-BFGS steps, best of 3 trials",
        lenet("dlg.paper", "--normalize", "--num_exp", "2", "--dlg.restarts", "3"),
    ),
    "idlg": Row(
        "LeNet, 2 images, batch 1, 300 L-BFGS steps, best of 3 trials",
        lenet("idlg.paper", "--normalize", "--num_exp", "2", "--idlg.restarts", "3"),
    ),
    "grnn": Row("LeNet, 1 image, 1000 iterations", lenet("grnn.paper", "--normalize", "--num_exp", "1")),
    "ig_single": Row(
        "ConvNet, 1 image, 250 iterations", cnn("ig_single.original", "--num_exp", "1", "--ig_single.iterations", "250")
    ),
    "ig_weight": Row(
        "ConvNet, 1 image, update of 2 SGD steps (lr 1e-4), 250 iterations",
        cnn(
            "ig_weight.original",
            *("--num_exp", "1", "--ig_weight.iterations", "250", "--client.epochs", "2", "--client.lr", "1e-4"),
        ),
    ),
    "ig_multi": Row(
        "ConvNet, 4 images, update of 2 mini-batches of 2 (lr 1e-4), labels known, 200 iterations",
        cnn(
            "ig_multi.original",
            *("--rec_batch_size", "4", "--client.epochs", "1", "--client.batch_size", "2", "--client.lr", "1e-4"),
            *("--known_labels", "--ig_multi.lr", "0.1", "--ig_multi.iterations", "200"),
        ),
    ),
    "cpa": Row(
        "FC-2, batch 8, 1000 Adam steps",
        ("--attack", "cpa", "--model", "fc2", "--normalize", *("--rec_batch_size", "8")),
    ),
    "rtf": Row(
        "ConvNet + imprint block (128 bins), batch 16",
        ("--attack", "rtf", "--model", "cnn", "--normalize", "--imprint", "--bins", "128", "--rec_batch_size", "16"),
    ),
    "ggl": Row(
        "MNIST test 9000-9001 in [0, 1], LeNet, CMA-ES (budget 2000), generator trained on MNIST test 0-8999",
        ("--attack", "ggl", "--model", "lenet", "--num_exp", "2", "--start_index", "9000", "--ggl.generator",
         str(GENERATOR)),
        "mnist_test.npz",
    ),
}  # fmt: skip


def strengths(defense: str, flag: str, values: tuple[str, ...], *fixed: str) -> list[Column]:
    return [Column(defense, value, ("--defense", defense, flag, value, *fixed)) for value in values]


COLUMNS = [
    Column("none", ""),
    *strengths("gaussian", "--noise_scale", ("1e-4", "1e-3", "1e-2")),
    *strengths("laplacian", "--noise_scale", ("1e-4", "1e-3", "1e-2")),
    *strengths("clip", "--clip_norm", ("10", "1", "0.1")),
    *strengths("dpsgd", "--noise_multiplier", ("0.01", "0.1", "1"), "--clip_norm", "1"),
    *strengths("prune", "--prune_ratio", ("0.2", "0.9", "0.99")),
    *strengths("soteria", "--soteria_ratio", ("0.2", "0.5", "0.8")),
    Column("secagg", "", ("--secure_aggregation",), clients=8),
]
SECAGG_SETTING = (
    "secagg: the row's attack on the ideal secure aggregate of 8 clients (main_fed --secure_aggregation, one "
    "round, iid CIFAR-10 subset training split), each holding the row's batch and taking one SGD step (lr 0.1) "
    "on it; the attack reconstructs all 8 batches (a cell's images are 8 x the row's batch)"
)
PICTURE_SETTING = (
    "Leakage: the audit's attack cells (each attack's fast CPU setting on one image or a small batch; secagg: on "
    "the aggregate of 8 clients); accuracy: the FedAvg row (FC-2, CIFAR-10 subset, 10 clients, 10 rounds). The "
    "share recognisable (SSIM >= 0.5 and a PSNR floor: docs/verdicts.md) is shown where a cell records it (every "
    "row but DLG's, iDLG's and GGL's, measured before that rule)."
)
FED_FLAGS = (
    *("--model", "fc2", "--dataset", "npz", "--normalize", "--total_clients", "10", "--num_rounds", "10"),
    *("--C", "1", "--p_type", "dirichlet", "--beta", "0.5", "--client.epochs", "1", "--client.batch_size", "50"),
    *("--client.lr", "0.1", "--lr_decay", "0.95", "--client.momentum", "0", "--attack", "none", "--seed", "0"),
)
FED_SETTING = "FedAvg accuracy: FC-2, CIFAR-10 subset (5,000 train / 1,000 test), 10 clients, Dirichlet 0.5, 10 rounds"


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def attack_flags(row: Row, column: Column, data_dir: Path, threads: int) -> list[str]:
    """main_grad's flags of one attack cell: the row's attack, the column's defense, the data, the threads."""
    data = str(require(data_dir / row.data))
    return [
        *row.flags,
        *column.flags,
        "--dataset",
        "npz",
        "--base_data_dir",
        data,
        "--threads",
        str(threads),
        "--quiet",
    ]


MAIN_GRAD_ONLY = ("--num_exp", "--rec_batch_size", "--start_index")  # main_grad's batch choices; main_fed has its own


def secagg_flags(row: Row, column: Column, data_dir: Path, threads: int) -> list[str]:
    """main_fed's flags of one secure-aggregation cell: the row's attack and model, `column.clients` clients of the
    row's batch each, one local step, the ideal functionality."""
    kept, skip = [], False
    for flag in row.flags:
        kept += [] if skip or flag in MAIN_GRAD_ONLY else [flag]
        skip = flag in MAIN_GRAD_ONLY  # the flag's value follows it
    batch = next((row.flags[i + 1] for i, f in enumerate(row.flags) if f == "--rec_batch_size"), "1")
    local = ("--client.epochs", "1", "--client.batch_size", batch, "--client.lr", "0.1", "--client.momentum", "0")
    federation = ("--total_clients", str(column.clients), "--iid", "--num_rounds", "1", "--victim_images", batch)
    data = str(require(data_dir / row.data))
    return [*kept, *column.flags, *federation, *local, "--dataset", "npz", "--base_data_dir", data,
            "--threads", str(threads), "--quiet"]  # fmt: skip


def fed_flags(column: Column, data_dir: Path) -> list[str]:
    """main_fed's flags of one FedAvg cell: the federation, the column's defense, the data."""
    return [*FED_FLAGS, *column.flags, "--base_data_dir", str(require(data_dir / CIFAR10.name)), "--quiet"]


def attack_cell(row: Row, column: Column, data_dir: Path, example_path: Path) -> dict:
    """Attack with the column's defense; mean PSNR/SSIM, label accuracy, and the first reconstruction saved."""
    # the cell's share of the cores (set by cell_pool), also as DLG/iDLG's trial processes: one per core
    flags = attack_flags(row, column, data_dir, torch.get_num_threads())
    return scored_cell(lambda: run_unwritten(grad, main_grad.parse_args(flags)), example_path)


def secagg_cell(row: Row, column: Column, data_dir: Path, example_path: Path) -> dict:
    """The row's attack on the secure aggregate of `column.clients` clients; an attack that cannot take an
    aggregate (one client's update needed, a batch beyond its limit) is refused, and the cell says why."""
    flags = secagg_flags(row, column, data_dir, torch.get_num_threads())
    try:
        args = main_fed.parse_args(flags)
        fed.build_federation(args, fed.check(args))  # the refusals main_fed gives before any work
    except UsageError as refused:
        return {"status": "refused", "why": str(refused)}
    cell = scored_cell(lambda: run_unwritten(fed, args), example_path)
    return {**cell, "clients": column.clients}


def scored_cell(run: Callable, example_path: Path) -> dict:
    """The cell of one run (`run()`: its Outcome): mean PSNR/SSIM, the share recognisable (evaluation.metrics), label
    accuracy, the first reconstruction saved; or why it failed."""
    try:
        outcome = run()
        report, result = outcome.report, outcome.result
    except Exception as error:  # the audit goes on; the cell says why it failed
        return {"status": "failed", "why": first_line(error)}
    summary = report["summary"]
    if summary["psnr"] is None:
        reasons = {e.get("error", "") for e in report["experiments"]}
        return {"status": "failed", "why": "diverged: " + "; ".join(sorted(reasons))[:200]}
    torch.save({"truth": result.truth[0], "reconstructed": result.reconstructed[0]}, example_path)
    return {
        "status": "ok",
        "example_psnr": result.per_image[0]["psnr"],  # the pictured image's own PSNR (None if its case diverged)
        "psnr": summary["psnr"],
        "ssim": summary["ssim"],
        "recognisable": sum(bool(row.get("recognisable")) for row in report["per_image"]) / len(report["per_image"]),
        "label_acc": summary["label_acc"],
        "failed_images": summary.get("failed", 0),
        "images": summary["images"],
        "seconds": summary["seconds"],
        "defense": report["defense"],
    }


def fed_cell(column: Column, data_dir: Path) -> dict:
    """FedAvg with every client applying the column's defense: final accuracy (and epsilon for DP-SGD)."""
    flags = fed_flags(column, data_dir)
    try:
        report = run_unwritten(fed, main_fed.parse_args(flags)).report
    except Exception as error:
        return {"status": "failed", "why": first_line(error)}
    privacy = report["defense"]["privacy"]
    return {
        "status": "ok",
        "final_accuracy": report["summary"]["final_accuracy"],
        "accuracy": report["summary"]["accuracy"],
        "epsilon": None if privacy is None else privacy["epsilon_max"],
        "seconds": report["wall_seconds"],
    }


def cell_path(name: str, column: Column) -> Path:
    return CELLS / f"{name}__{column.key}.json"


def compute_cell(name: str, column: Column, data_dir: Path) -> dict:
    """One cell, timed (in a worker process or a Ray task; the driver caches it). Missing data is raised
    (MissingData), never cached as the cell's result."""
    started = time.perf_counter()
    if name == "fedavg":
        cell = fed_cell(column, data_dir)
    elif column.clients is not None:
        cell = secagg_cell(ROWS[name], column, data_dir, cell_path(name, column).with_suffix(".pt"))
    else:
        cell = attack_cell(ROWS[name], column, data_dir, cell_path(name, column).with_suffix(".pt"))
    cell["wall_seconds"] = time.perf_counter() - started
    return cell


def worker_setup(threads: int) -> None:
    """A local cell process: its share of the cores; Ctrl-C is the driver's (it stops the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)


def cell_pool(jobs: int, ray: str | None):
    """`jobs` local processes, or Ray tasks on the cluster `ray` names (local, auto or HOST:PORT)."""
    if ray is not None:
        from fedprivacy.flower.tasks import RayExecutor

        return RayExecutor(ray)
    threads = max(1, (os.cpu_count() or 1) // jobs)
    return ProcessPoolExecutor(jobs, initializer=worker_setup, initargs=(threads,))


def stop_workers(pool) -> None:
    """Ctrl-C or SIGTERM: end the local cell processes now (the executor would wait for their cells)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):  # ProcessPoolExecutor's own
        process.terminate()


def run_cells(
    rows: list[str], columns: list[Column], data_dir: Path, fed: bool, fresh: bool, jobs: int, ray: str | None = None
) -> int:
    """Compute every missing (or, with fresh, every) cell in `jobs` processes (or as Ray tasks), with a
    progress bar over cells; the driver caches each cell as it arrives (written whole). Returns the number
    computed. Ctrl-C or SIGTERM stops the workers and keeps the cells finished so far (Interrupted)."""
    CELLS.mkdir(parents=True, exist_ok=True)
    todo = [(name, column) for name in [*rows, *(["fedavg"] if fed else [])] for column in columns]
    todo = [(name, column) for name, column in todo if fresh or not cell_path(name, column).exists()]
    done = 0
    with cell_pool(jobs, ray) as pool, tqdm(total=len(todo), desc="audit", unit="cell") as bar:
        try:
            futures = {pool.submit(compute_cell, name, column, data_dir): (name, column) for name, column in todo}
            for future in as_completed(futures):
                name, column = futures[future]
                cell = future.result()
                write_together({cell_path(name, column): lambda path, cell=cell: write_cell(path, cell)})
                done += 1
                tqdm.write(f"{name:10s} {column.key:18s} {cell_text(name, cell)}  ({cell['wall_seconds']:.0f} s)")
                bar.set_postfix_str(f"last: {name} vs {column.key}")
                bar.update()
        except (KeyboardInterrupt, Interrupted):
            stop_workers(pool)
            raise Interrupted(
                f"{stopped_by()} after {done} of {len(todo)} cells; they are cached in {shown(CELLS)}, "
                "the same command resumes; the table is unchanged"
            ) from None
        except MissingData as missing:
            stop_workers(pool)
            raise UsageError(f"missing data: {missing}; the table is unchanged") from None
    return done


def shown(path: Path) -> Path:
    """A path as the user reads it: relative to the checkout when it lies inside."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def write_cell(path: Path, cell: dict) -> None:
    path.write_text(json.dumps(cell, indent=1, default=str) + "\n")


def cell_text(name: str, cell: dict | None) -> str:
    """What a table cell shows: PSNR / SSIM, the accuracy (and epsilon), or why it failed."""
    if cell is None:
        return "not run"
    if cell["status"] == "refused":
        return "refused: needs one client's update" if "one client" in cell["why"] else f"refused: {cell['why']}"
    if cell["status"] != "ok":
        return f"failed: {cell['why']}"
    if name == "fedavg":
        epsilon = "" if cell["epsilon"] is None else f" (eps {cell['epsilon']:.3g})"
        return f"{100 * cell['final_accuracy']:.1f}%{epsilon}"
    failed = f" ({cell['failed_images']} diverged)" if cell["failed_images"] else ""
    return f"{cell['psnr']:.1f} / {cell['ssim']:.2f}{failed}"


def load_cells(names: list[str]) -> dict[str, dict[str, dict | None]]:
    """Every cell of `names` by row and column key: this checkout's cached cell, else the committed table's
    (audit.json), else None (never run). A partial audit thus changes only the cells it ran."""
    committed = committed_cells()
    return {
        name: {
            column.key: read_cell(cell_path(name, column)) or committed.get(name, {}).get(column.key)
            for column in COLUMNS
        }
        for name in names
    }


def read_cell(path: Path) -> dict | None:
    """A cached cell, or None when there is none (or it is unreadable: computed again next time)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def committed_cells() -> dict[str, dict[str, dict | None]]:
    """The cells of the committed audit.json ({} when it is missing or unreadable)."""
    try:
        cells = json.loads((OUT / "audit.json").read_text())["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return cells if isinstance(cells, dict) else {}


def write_table(rows: list[str], cells: dict[str, dict[str, dict | None]]) -> None:
    """audit.md (rows attacks, columns defense and strength) and audit.json from the cached cells."""
    names = [*rows, "fedavg"]
    header = "| attack | " + " | ".join(f"{c.defense} {c.strength}".strip() for c in COLUMNS) + " |"
    lines = [
        "# Privacy audit: attacks against client-side defenses",
        "",
        "Rebuilt by `python -m benchmarks.audit`. Attack cells: mean PSNR (dB) / mean SSIM of the reconstructions;",
        "the FedAvg row: final test accuracy (and DP-SGD's epsilon at delta 1e-5 for the weakest client).",
        "Strengths: gaussian/laplacian `--noise_scale`, clip `--clip_norm`, dpsgd `--noise_multiplier` (with",
        "`--clip_norm 1`), prune `--prune_ratio`, soteria `--soteria_ratio`; secagg: secure aggregation (below).",
        "The privacy-utility picture: [privacy_utility.png](privacy_utility.png).",
        "",
        header,
        "|" + "---|" * (len(COLUMNS) + 1),
    ]
    for name in names:
        lines.append("| " + " | ".join([name, *(cell_text(name, cells[name][c.key]) for c in COLUMNS)]) + " |")
    lines += ["", "Settings:", ""]
    lines += [f"- {name}: {ROWS[name].setting}" for name in rows]
    lines += [f"- fedavg: {FED_SETTING}", f"- {SECAGG_SETTING}", f"- machine: {machine()}", ""]
    settings = {name: ROWS[name].setting for name in rows} | {"fedavg": FED_SETTING, "secagg": SECAGG_SETTING}
    numbers = json.dumps({"settings": settings, "cells": cells}, indent=1) + "\n"
    write_together(
        {
            OUT / "audit.md": lambda path: path.write_text("\n".join(lines)),
            OUT / "audit.json": lambda path: path.write_text(numbers),
        }
    )


def write_picture(rows: list[str], cells: dict[str, dict[str, dict | None]], path: Path = OUT / "audit.png") -> None:
    """audit.png from the cached cells and their pictured examples."""

    def example(name: str, column: Column) -> dict | None:
        path = cell_path(name, column).with_suffix(".pt")
        return torch.load(path) if path.exists() else None

    figure = audit_figure(rows, cells, example)
    figure.savefig(path, dpi=110)
    plt.close(figure)


BELOW_MEAN_DB = 3.0  # a pictured image this far below its cell's mean is said not to be the cell's best


def audit_figure(rows: list[str], cells: dict[str, dict[str, dict | None]], example: Callable) -> Figure:
    """Per attack, the first private image, then its reconstruction under every column (`example(row, column)`:
    {"truth", "reconstructed"} or None), captioned with that reconstruction's own PSNR and the cell's mean;
    a picture well below its cell's mean says that the cell's other images were recovered better."""
    figure, axes = plt.subplots(
        len(rows), len(COLUMNS) + 1, figsize=(0.9 * (len(COLUMNS) + 1), 1.3 * len(rows) + 0.8), squeeze=False
    )
    for r, name in enumerate(rows):
        truth = None
        for c, column in enumerate(COLUMNS):
            axis = axes[r][c + 1]
            cell = cells[name][column.key]
            saved = example(name, column) if cell and cell["status"] == "ok" else None
            if saved is not None:
                truth = saved["truth"]
                axis.imshow(image_array(saved["reconstructed"]), cmap="gray", vmin=0, vmax=1)
                axis.set_xlabel(example_caption(cell), fontsize=5, labelpad=1)
            else:
                shown = cell["status"] if cell and cell["status"] != "ok" else "failed" if cell else "not run"
                axis.text(0.5, 0.5, shown, ha="center", va="center", fontsize=6)
                axis.set_aspect(1)  # square like the pictures beside it
            if r == 0:
                axis.set_title(f"{column.defense}\n{column.strength}", fontsize=6)
        if truth is not None:
            axes[r][0].imshow(image_array(truth), cmap="gray", vmin=0, vmax=1)
        axes[r][0].set_ylabel(name, fontsize=7)
        if r == 0:
            axes[r][0].set_title("private", fontsize=6)
    for axis in axes.flat:
        axis.set_xticks([]), axis.set_yticks([])
    figure.suptitle(
        "Privacy audit: each attack (row) against each client-side defense and strength (column). Each picture is "
        "the reconstruction of the private image on the left, with its own PSNR and, in brackets, the cell's mean "
        "PSNR over all its images; 'others better': the cell recovered its other images better than this one",
        fontsize=6,
        wrap=True,
    )
    figure.tight_layout(pad=0.2, rect=(0, 0, 1, 0.955))  # keep the title clear of the column headers
    return figure


def example_caption(cell: dict) -> str:
    """The pictured reconstruction's PSNR, the cell's mean, and whether the picture is below the cell's best."""
    own, mean = cell["example_psnr"], cell["psnr"]
    caption = f"{'diverged' if own is None else f'{own:.0f} dB'} (mean {mean:.0f})"
    return f"{caption}\nothers better" if own is not None and own < mean - BELOW_MEAN_DB else caption


def image_array(image: torch.Tensor):
    """A [C, H, W] image in [0, 1] as what imshow takes (H x W for grey, H x W x 3 for colour)."""
    return image[0].numpy() if image.shape[0] == 1 else image.permute(1, 2, 0).numpy()


def missing_examples(rows: list[str], cells: dict[str, dict[str, dict | None]]) -> int:
    """How many pictured cells have no reconstruction in this checkout's cache (committed cells have none)."""
    return sum(
        1
        for name in rows
        for column in COLUMNS
        if not (cells[name][column.key] and cell_path(name, column).with_suffix(".pt").exists())
    )


def cluster_address(text: str) -> str:
    """--ray: local, or a cluster address Ray takes (flower/simulation.py)."""
    return text if text == "local" else ray_address(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data_dir",
        type=path_text,
        default=str(CIFAR10.parent),
        help="folder with cifar10_subset.npz and mnist_test.npz",
    )
    parser.add_argument("--rows", nargs="+", choices=tuple(ROWS), default=None, help="attacks to run (default: all)")
    parser.add_argument(
        "--columns", nargs="+", choices=[c.key for c in COLUMNS], default=None, help="defense columns to run"
    )
    parser.add_argument("--no_fed", action="store_true", help="skip the FedAvg accuracy row")
    parser.add_argument("--fresh", action="store_true", help="recompute cells already in the cache")
    parser.add_argument("--jobs", type=positive, default=2, help="cells computed at once (processes)")
    parser.add_argument(
        "--ray",
        type=cluster_address,
        default=None,
        help="run the cells as Ray tasks: local (start Ray here), auto or HOST:PORT (a cluster)",
    )
    add_dry_run_argument(parser)
    return parser.parse_args(argv)


def runnable_rows(args: argparse.Namespace) -> list[str]:
    """The rows to run; their data must be in --data_dir (else UsageError: nothing is run, the table is kept).
    GGL's generator checkpoint is needed when --rows names ggl; by default a missing one skips its row."""
    rows = list(ROWS) if args.rows is None else args.rows
    data_dir = Path(args.data_dir)
    needed = {ROWS[row].data for row in rows} | (set() if args.no_fed else {CIFAR10.name})
    missing = sorted(name for name in needed if not (data_dir / name).is_file())
    if missing:
        raise UsageError(
            f"--data_dir {data_dir}: {', '.join(missing)} missing; nothing was run, the table is unchanged"
        )
    if "ggl" in rows and not GENERATOR.is_file():
        train = f"python -m fedprivacy.cli.train_generator (docs/attacks/ggl.md) --out {shown(GENERATOR)}"
        if args.rows is not None:
            raise UsageError(f"--rows ggl: {shown(GENERATOR)} is missing; train it with {train}")
        print(f"note: skipping the ggl row ({shown(GENERATOR)} is missing; train it with {train})")
        rows.remove("ggl")
    return rows


def main(argv: list[str] | None = None) -> None:
    run_cli(lambda: audit(parse_args(argv)))


def audit(args: argparse.Namespace) -> None:
    """Check, run the missing cells, then rebuild the table (and the picture when every cell's
    reconstruction is at hand) from the cache and the committed table; one line per outcome."""
    columns = [c for c in COLUMNS if args.columns is None or c.key in args.columns]
    if args.dry_run:
        rows = list(ROWS) if args.rows is None else args.rows
        if args.dry_run == "full":
            rows = runnable_rows(args)
        cells = len(columns) * (len(rows) + (0 if args.no_fed else 1))
        print(f"dry run ({args.dry_run}): {cells} audit cells from {args.data_dir}; would write {OUT / 'audit.md'}")
        return
    rows = runnable_rows(args)
    prepare_out_dir(CELLS, "benchmarks/audit/cells")
    prepare_out_dir(OUT, "benchmarks/audit")
    computed = run_cells(rows, columns, Path(args.data_dir), not args.no_fed, args.fresh, args.jobs, args.ray)
    cells = load_cells([*ROWS, "fedavg"])
    write_table(list(ROWS), cells)
    found = points(cells, COLUMNS, list(ROWS))
    write_together({OUT / "privacy_utility.png": lambda path: write_privacy_utility(found, PICTURE_SETTING, path)})
    unpictured = missing_examples(list(ROWS), cells)
    if unpictured:
        picture = f"picture kept: {unpictured} cells have no reconstruction in this checkout (a full audit redraws it)"
    else:
        write_together({OUT / "audit.png": lambda path: write_picture(list(ROWS), cells, path)})
        picture = f"picture: {OUT / 'audit.png'}"
    print(f"{computed} cells computed | table: {OUT / 'audit.md'} | {picture} | {OUT / 'privacy_utility.png'}")


if __name__ == "__main__":
    main()
