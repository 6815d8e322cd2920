"""GRNN on CIFAR-10 (LeNet, CNN; batch 1 to 16), GRNN on its own LeNet-5 (MNIST to batch 256, CIFAR-100)
and GGL on MNIST, each next to DLG on the same images.

GGL's generator is trained here (checkpoints/, not committed) when its checkpoint is missing; the
row reports how long its training took.
"""

from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import CIFAR10_SUBSET, MNIST_TEST, ROOT, Data, Run, run_grad
from fedprivacy.cli.train_generator import main as train_generator
from fedprivacy.models.generators import read_checkpoint

SUCCESS_DB = 20.0  # the success threshold for GRNN and DLG in these tables
GRNN_TABLE = "GRNN vs DLG: CIFAR-10 test images (normalised), batch 1-16, same images per row"
GRNN5_TABLE = (
    "GRNN on GRNN's LeNet-5 (the official architecture and init): MNIST 32x32 RGB, the CIFAR-100 sample, "
    "CIFAR-10 with a 100-class head; images in [0, 1]"
)
DLG5_TABLE = "DLG on GRNN's LeNet-5: the same gradients as the GRNN-on-LeNet-5 rows (same data, batches and images)"
LENET5_MNIST = ((1, 4), (4, 2), (16, 1), (64, 1), (128, 1), (256, 1))  # (batch, batches)
LENET5_C100 = ((1, 4), (4, 2), (16, 1))  # the sample holds 20 images
GGL_TABLE = "GGL vs DLG: MNIST test images 9000+, LeNet, batch 1, generator trained on MNIST test 0-8999"
GENERATOR = ROOT / "checkpoints" / "mnist_dcgan.pt"
GENERATOR_FLAGS = ["--loss", "dcgan", "--width", "16", "--latent", "32", "--steps", "4000", "--minutes", "12"]
GGL_IMAGES, GGL_START, GGL_BUDGET = 6, 9000, 2000
SHARED_MACHINE = "timed on a shared 2-core machine (load 8-10), so seconds are several times a quiet machine's"


def scores(report: dict, prefix: str) -> dict:
    """Mean PSNR, SSIM, label accuracy, share of images above SUCCESS_DB and seconds of one run."""
    summary, rows = report["summary"], report["per_image"]
    above = sum(row["psnr"] is not None and row["psnr"] > SUCCESS_DB for row in rows) / len(rows)
    return {
        f"{prefix}_psnr": summary["psnr"],
        f"{prefix}_ssim": summary["ssim"],
        f"{prefix}_label_acc": summary["label_acc"],
        f"{prefix}_over_20db": above,
        f"{prefix}_seconds": summary["seconds"],
    }


def run_named(case: str, run: Run) -> dict:
    """run_grad with its grid and JSON named <case>_<attack>, so that rows of the same shape
    (e.g. batch 16 with 1000 and 3000 iterations) keep their own images."""
    return run_grad(*run.argv(), stem=f"{case}_{run.attack.partition('.')[0]}")


def grid(report: dict) -> str:
    return str(Path(report["grid"]).relative_to(ROOT))


@dataclass(frozen=True)
class GrnnRow:
    """One row of a GRNN-vs-DLG table: the model, the batches attacked and both attacks' budgets."""

    model: str
    batch: int
    batches: int
    iterations: int  # GRNN's
    dlg_steps: int
    restarts: int = 1  # GRNN's, batched
    source: str = "cifar10"  # a key of SOURCES


SOURCES = {  # name: (what the row attacks, its data)
    "cifar10": ("CIFAR-10 test images (normalised)", Data("npz", CIFAR10_SUBSET.path, ("--normalize",))),
    "mnist_rgb": (
        "MNIST test images, 32x32 RGB in [0, 1] (GRNN's official preprocessing)",
        Data("npz", MNIST_TEST.path, ("--image_size", "32", "--rgb")),
    ),
    "cifar100_sample": ("the 20 CIFAR-100 sample images in [0, 1], 100 classes", Data("cifar100_sample")),
    "cifar10_head100": (
        "CIFAR-10 test images in [0, 1] with a 100-class head (a stand-in for CIFAR-100's larger batches)",
        Data("npz", CIFAR10_SUBSET.path, ("--num_classes", "100")),
    ),
}


def recognised_share(report: dict, prefix: str) -> dict:
    """The share of images that are recognisable (evaluation/metrics.py: SSIM and the PSNR floor)."""
    rows = report["per_image"]
    return {f"{prefix}_recognised": sum(row.get("recognisable", False) for row in rows) / len(rows)}


def row_run(row: GrnnRow, attack: str) -> Run:
    """One attack's run of a row: GRNN's paper settings at the row's iterations and batched restarts, or the
    paper's DLG at the row's steps, on the row's model, data and batches."""
    flags = ("--model", row.model, "--rec_batch_size", str(row.batch), "--num_exp", str(row.batches))
    options = {"iterations": row.iterations, "restarts": row.restarts} if attack == "grnn" else {"steps": row.dlg_steps}
    return Run(f"{attack}.paper", SOURCES[row.source][1], flags, options)


def attack_columns(name: str, row: GrnnRow, attack: str) -> tuple[dict, dict]:
    """Run one attack of a row; return its report and its columns (budget, scores)."""
    report = run_named(name, row_run(row, attack))
    if attack == "grnn":
        budget = {"grnn_iterations": row.iterations, "grnn_restarts": row.restarts, "threads": report.get("threads")}
    else:
        budget = {"dlg_steps": row.dlg_steps}
    return report, {**budget, **scores(report, attack)}


def method_note(row: GrnnRow, attack: str) -> str:
    """The budget and settings of one attack of a row, for its notes."""
    if attack == "grnn":
        return f"GRNN: RMSprop 1e-4, tv 1e-3, {row.iterations} iterations x {row.restarts} batched trial(s)"
    return f"DLG: L-BFGS, {row.dlg_steps} steps, 1 trial (plain steps where the strong-Wolfe line search stalls)"


def grnn_case(name: str, row: GrnnRow):
    """A row of the CIFAR-10 table: GRNN and DLG on the same images, side by side."""

    def case() -> dict:
        what = SOURCES[row.source][0]
        grnn, grnn_columns = attack_columns(name, row, "grnn")
        _, dlg_columns = attack_columns(name, row, "dlg")
        return {
            "table": GRNN_TABLE,
            "model": row.model,
            "batch": row.batch,
            "images": grnn["summary"]["images"],
            **grnn_columns,
            **dlg_columns,
            "grid": grid(grnn),
            "notes": f"{what}; {method_note(row, 'grnn')}; {method_note(row, 'dlg')}; "
            f"images {grnn['summary']['images']} from index 0; {SHARED_MACHINE}",
        }

    return case


def lenet5_case(name: str, row: GrnnRow, attack: str):
    """A row of the LeNet-5 tables: one attack (GRNN or DLG), so that each can be rerun alone."""

    def case() -> dict:
        what = SOURCES[row.source][0]
        report, columns = attack_columns(name, row, attack)
        return {
            "table": GRNN5_TABLE if attack == "grnn" else DLG5_TABLE,
            "data": row.source,
            "batch": row.batch,
            "images": report["summary"]["images"],
            **columns,
            **recognised_share(report, attack),
            "grid": grid(report),
            "notes": f"{what}; {method_note(row, attack)}; images {report['summary']['images']} from index 0",
        }

    return case


def ensure_generator() -> dict:
    """The MNIST generator's metadata, training it first when the checkpoint is missing."""
    if not GENERATOR.is_file():
        data = [*MNIST_TEST.argv(), "--split", "test", "--num_images", str(GGL_START)]
        train_generator([*data, *GENERATOR_FLAGS, "--out", str(GENERATOR), "--quiet"])
    return read_checkpoint(GENERATOR)["meta"]


def ggl_case(name: str, search: str):
    def case() -> dict:
        meta = ensure_generator()
        flags = ("--model", "lenet", "--num_exp", str(GGL_IMAGES), "--start_index", str(GGL_START))
        ggl = run_named(name, Run("ggl.paper", MNIST_TEST, flags, {"generator": GENERATOR, "search": search}))
        dlg = run_named(name, Run("dlg.paper", MNIST_TEST, flags))
        search_note = f"CMA-ES, budget {GGL_BUDGET}" if search == "cma" else "Adam over the latent, 1000 steps"
        return {
            "table": GGL_TABLE,
            "search": search,
            "images": ggl["summary"]["images"],
            "generator_steps": meta["steps"],
            "generator_train_seconds": meta["seconds"],
            **scores(ggl, "ggl"),
            **recognised_share(ggl, "ggl"),
            **scores(dlg, "dlg"),
            "grid": grid(ggl),
            "notes": f"GGL: {search_note}, KL 0.1, iDLG label; generator {meta['loss']} width {meta['width']}, "
            f"latent {meta['latent']}, {meta['steps']} steps on MNIST test 0-8999; DLG: L-BFGS 300 steps; "
            + SHARED_MACHINE,
        }

    return case


GRNN_ROWS = {
    "grnn_lenet_b1": GrnnRow("lenet", 1, 4, 1000, 300),
    "grnn_lenet_b4": GrnnRow("lenet", 4, 1, 1000, 100),
    "grnn_lenet_b8": GrnnRow("lenet", 8, 1, 1000, 100),
    "grnn_lenet_b16": GrnnRow("lenet", 16, 1, 1000, 300),
    "grnn_lenet_b16_long": GrnnRow("lenet", 16, 1, 3000, 100),
    "grnn_lenet_b8_r4_3000": GrnnRow("lenet", 8, 1, 3000, 100, restarts=4),  # the budget batched restarts buy
    "grnn_cnn_b1": GrnnRow("cnn", 1, 1, 200, 100),
    "grnn_cnn_b4": GrnnRow("cnn", 4, 1, 200, 100),
}
# GRNN's own LeNet-5 (Table 3 of the paper: MNIST up to batch 256, CIFAR-100 up to 128; DLG only at batch 1)
LENET5_ROWS = {
    **{f"mnist_b{b}": GrnnRow("lenet5", b, n, 1000, 100, source="mnist_rgb") for b, n in LENET5_MNIST},
    **{f"cifar100_b{b}": GrnnRow("lenet5", b, n, 1000, 100, source="cifar100_sample") for b, n in LENET5_C100},
    **{f"cifar10h100_b{b}": GrnnRow("lenet5", b, 1, 1000, 100, source="cifar10_head100") for b in (32, 64)},
}
# quality against iterations where 1000 iterations fall short (GRNN only: DLG's gradient is the b64 row's)
LENET5_ITERATIONS = {f"mnist_b64_it{its}": GrnnRow("lenet5", 64, 1, its, 100, source="mnist_rgb") for its in (250, 500)}
CASES = {name: grnn_case(name, row) for name, row in GRNN_ROWS.items()}
CASES |= {
    f"grnn5_{key}": lenet5_case(f"grnn5_{key}", row, "grnn") for key, row in (LENET5_ROWS | LENET5_ITERATIONS).items()
}
CASES |= {f"dlg5_{key}": lenet5_case(f"dlg5_{key}", row, "dlg") for key, row in LENET5_ROWS.items()}
CASES["ggl_mnist_cma"] = ggl_case("ggl_mnist_cma", "cma")
