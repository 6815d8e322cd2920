"""GRNN on CIFAR-10 (LeNet, CNN; batch 1 to 16) and GGL on MNIST, each next to DLG on the same images.

GGL's generator is trained here (checkpoints/, not committed) when its checkpoint is missing; the
row reports how long its training took.
"""

from pathlib import Path

from benchmarks.common import CIFAR10, IMAGES, MNIST, ROOT, require, run_grad
from cli.train_generator import main as train_generator
from models.generators import read_checkpoint

SUCCESS_DB = 20.0  # the success threshold for GRNN and DLG in these tables
GRNN_TABLE = "GRNN vs DLG: CIFAR-10 test images (normalised), batch 1-16, same images per row"
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


def run_named(case: str, *flags: str) -> dict:
    """run_grad, then rename its grid and JSON to <case>_<attack> so that rows of the same shape
    (e.g. batch 16 with 1000 and 3000 iterations) keep their own images."""
    report = run_grad(*flags)
    png, target = Path(report["grid"]), IMAGES / f"{case}_{report['args']['attack']}.png"
    png.replace(target)
    png.with_suffix(".json").replace(target.with_suffix(".json"))
    report["grid"] = str(target)
    return report


def grid(report: dict) -> str:
    return str(Path(report["grid"]).relative_to(ROOT))


def grnn_case(name: str, model: str, batch: int, num_exp: int, iterations: int, dlg_steps: int, restarts: int = 1):
    def case() -> dict:
        data = ["--model", model, "--dataset", "npz", "--base_data_dir", str(require(CIFAR10)), "--normalize"]
        data += ["--rec_batch_size", str(batch), "--num_exp", str(num_exp)]
        grnn = run_named(name, "--attack", "grnn", *data, "--rec_epochs", str(iterations), "--restarts", str(restarts))
        dlg = run_named(name, "--attack", "dlg", *data, "--rec_epochs", str(dlg_steps))
        return {
            "table": GRNN_TABLE,
            "model": model,
            "batch": batch,
            "images": grnn["summary"]["images"],
            "grnn_iterations": iterations,
            "grnn_restarts": restarts,
            "threads": grnn.get("threads"),
            **scores(grnn, "grnn"),
            "dlg_steps": dlg_steps,
            **scores(dlg, "dlg"),
            "grid": grid(grnn),
            "notes": f"GRNN: RMSprop 1e-4, tv 1e-3, {iterations} iterations x {restarts} batched trial(s); "
            f"DLG: L-BFGS, {dlg_steps} steps, 1 trial; test images 0-{num_exp * batch - 1}; {SHARED_MACHINE}",
        }

    return case


def ensure_generator() -> dict:
    """The MNIST generator's metadata, training it first when the checkpoint is missing."""
    if not GENERATOR.is_file():
        data = ["--dataset", "npz", "--base_data_dir", str(require(MNIST)), "--split", "test"]
        train_generator([*data, "--num_images", str(GGL_START), *GENERATOR_FLAGS, "--out", str(GENERATOR), "--quiet"])
    return read_checkpoint(GENERATOR)["meta"]


def ggl_case(name: str, search: str):
    def case() -> dict:
        meta = ensure_generator()
        data = ["--model", "lenet", "--dataset", "npz", "--base_data_dir", str(require(MNIST))]
        data += ["--num_exp", str(GGL_IMAGES), "--start_index", str(GGL_START)]
        ggl = run_named(name, "--attack", "ggl", *data, "--generator", str(GENERATOR), "--search", search)
        dlg = run_named(name, "--attack", "dlg", *data)
        search_note = f"CMA-ES, budget {GGL_BUDGET}" if search == "cma" else "Adam over the latent, 1000 steps"
        return {
            "table": GGL_TABLE,
            "search": search,
            "images": ggl["summary"]["images"],
            "generator_steps": meta["steps"],
            "generator_train_seconds": meta["seconds"],
            **scores(ggl, "ggl"),
            "ggl_ssim_over_0.5": sum(row["ssim"] > 0.5 for row in ggl["per_image"]) / len(ggl["per_image"]),
            **scores(dlg, "dlg"),
            "grid": grid(ggl),
            "notes": f"GGL: {search_note}, KL 0.1, iDLG label; generator {meta['loss']} width {meta['width']}, "
            f"latent {meta['latent']}, {meta['steps']} steps on MNIST test 0-8999; DLG: L-BFGS 300 steps; "
            + SHARED_MACHINE,
        }

    return case


GRNN_ROWS = {  # name: model, batch, batches, GRNN iterations, DLG steps[, GRNN restarts]
    "grnn_lenet_b1": ("lenet", 1, 4, 1000, 300),
    "grnn_lenet_b4": ("lenet", 4, 1, 1000, 100),
    "grnn_lenet_b8": ("lenet", 8, 1, 1000, 100),
    "grnn_lenet_b16": ("lenet", 16, 1, 1000, 300),
    "grnn_lenet_b16_long": ("lenet", 16, 1, 3000, 100),
    "grnn_lenet_b8_r4_3000": ("lenet", 8, 1, 3000, 100, 4),  # the budget batched restarts buy
    "grnn_cnn_b1": ("cnn", 1, 1, 200, 100),
    "grnn_cnn_b4": ("cnn", 4, 1, 200, 100),
}
CASES = {name: grnn_case(name, *row) for name, row in GRNN_ROWS.items()}
CASES["ggl_mnist_cma"] = ggl_case("ggl_mnist_cma", "cma")
