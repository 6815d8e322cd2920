"""The published claims about defenses, checked on more images and finer strengths than the audit's cells.

- Zhu et al. (NeurIPS 2019): pruning up to about 20% of the gradient barely stops DLG; heavy pruning does.
- Li et al. (CVPR 2022): GGL degrades more gracefully than pixel-space attacks under noise and pruning.
"""

from benchmarks.audit import GENERATOR
from benchmarks.common import CIFAR10_SUBSET, MNIST_TEST, Run, require, row_from_report, run_grad

PRUNE_TABLE = "Pruning against DLG and iDLG: LeNet, CIFAR-10 test 0-3 in [0, 1], batch 1, 300 L-BFGS steps"
GGL_TABLE = "GGL against DLG under noise and pruning: MNIST test 9000-9003 in [0, 1], LeNet, batch 1"
PRUNE_RATIOS = ("0", "0.1", "0.2", "0.3", "0.5", "0.9")
GGL_DEFENSES = {  # name: defense flags
    "none": (),
    "gaussian_1e-3": ("--defense", "gaussian", "--noise_scale", "1e-3"),
    "gaussian_1e-2": ("--defense", "gaussian", "--noise_scale", "1e-2"),
    "gaussian_1e-1": ("--defense", "gaussian", "--noise_scale", "1e-1"),
    "prune_0.5": ("--defense", "prune", "--prune_ratio", "0.5"),
    "prune_0.9": ("--defense", "prune", "--prune_ratio", "0.9"),
    "prune_0.99": ("--defense", "prune", "--prune_ratio", "0.99"),
}


def defended(report: dict) -> dict:
    """The row columns every defended run shares: the defense, the share of images above 20 dB."""
    above = [row["psnr"] is not None and row["psnr"] > 20 for row in report["per_image"]]
    return {"defense": report["defense"]["name"], "over_20db": sum(above) / len(above)}


def prune_case(attack: str, ratio: str):
    def case() -> dict:
        flags = ("--model", "lenet", "--num_exp", "4", "--defense", "prune", "--prune_ratio", ratio)
        report = run_grad(*Run(f"{attack}.paper", CIFAR10_SUBSET, flags, {"restarts": 2}).argv())
        return {
            "table": PRUNE_TABLE,
            **row_from_report(report),
            "prune_ratio": float(ratio),
            **defended(report),
            "notes": "up to 2 trials per image; prune_ratio = share of entries per tensor set to zero",
        }

    return case


def ggl_case(attack: str, defense: str):
    def case() -> dict:
        flags = ("--model", "lenet", "--num_exp", "4", "--start_index", "9000", *GGL_DEFENSES[defense])
        options = {"generator": require(GENERATOR)} if attack == "ggl" else {"restarts": 2}
        report = run_grad(*Run(f"{attack}.paper", MNIST_TEST, flags, options).argv())
        return {
            "table": GGL_TABLE,
            **row_from_report(report),
            "setting": defense,
            **defended(report),
            "notes": "GGL: CMA-ES budget 2000, generator trained on MNIST test 0-8999 (benchmarks ggl_mnist_cma); "
            "DLG: up to 2 trials of 300 L-BFGS steps",
        }

    return case


CASES = {
    f"defense_prune_{attack}_{ratio}": prune_case(attack, ratio) for attack in ("dlg", "idlg") for ratio in PRUNE_RATIOS
}
CASES |= {f"defense_{attack}_{name}": ggl_case(attack, name) for attack in ("ggl", "dlg") for name in GGL_DEFENSES}
