"""Fidelity driver for iDLG's official code (PatrickZH/Improved-Deep-Leakage-from-Gradients, iDLG.py): runs the
script's main() on the shared image and weights. Usage: python idlg_official.py REQUEST.pt ANSWER.pt.

Settings edited as a user edits the script's settings block: dataset 'cifar100' (its 100-class LeNet),
num_exp 1 (one network), Iteration from the request. Patched, device and I/O only: the CIFAR-100 constructor
returns the shared image, `weights_init` loads the shared weights, CUDA is reported absent, figures are not
saved, and torch.optim.LBFGS remembers its variables. The script runs DLG and then iDLG on the same network;
the iDLG run's image is the answer, its label read from the script's printed result.
"""

import re
import sys
from pathlib import Path

import matplotlib
import torch
import torchvision
from dlg_official import private_dataset
from reference_io import (
    RecordingLBFGS,
    Run,
    captured_stdout,
    cpu_only,
    gradient_gap,
    load_parameters,
    script_namespace,
    shared_weights_init,
)

matplotlib.use("Agg")


def main(request_path: str, answer_path: str) -> None:
    run = Run(request_path, answer_path)
    import matplotlib.pyplot as plt

    settings = {"dataset": "cifar100", "num_exp": 1, "Iteration": run.request["iterations"]}
    script = script_namespace(Path(run.request["reference"]) / "iDLG.py", settings, "main")
    model = script["LeNet"](channel=3, hideen=768, num_classes=run.request["num_classes"])
    gap = gradient_gap(load_parameters(model, run.request["parameters"]), run)
    run.patched.append("settings: dataset 'cifar100', num_exp 1, Iteration as the budget")
    cpu_only(run)
    run.patch(torchvision.datasets, "CIFAR100", private_dataset(run), "I/O: CIFAR-100 is the shared image")
    script["weights_init"] = shared_weights_init(run, "LeNet")
    run.patched.append("weights: the shared ones")
    run.patch(plt, "savefig", lambda *args, **kwargs: None, "I/O: figures not saved")
    run.patch(torch.optim, "LBFGS", RecordingLBFGS, "I/O: L-BFGS remembers its variables (read at the end)")
    run.start()
    with captured_stdout() as printed:
        script["main"]()
    images = RecordingLBFGS.made[-1][0]  # the iDLG run (the script runs DLG first)
    run.started = RecordingLBFGS.made_at[-1]  # time the iDLG run only
    label = int(re.search(r"lab_iDLG: (\d+)", printed.getvalue()).group(1))
    run.finish(images, torch.tensor([label]), "pixel", gradient_gap=gap, iterations=run.request["iterations"])


if __name__ == "__main__":
    main(*sys.argv[1:])
