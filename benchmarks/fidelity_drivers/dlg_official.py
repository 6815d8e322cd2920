"""Fidelity driver for DLG's official code (mit-han-lab/dlg, main.py): runs the script itself on the shared image
and weights. Usage: python dlg_official.py REQUEST.pt ANSWER.pt.

main.py is a script: it loads CIFAR-100 image `--index` (downloading it), draws LeNet weights with
`weights_init`, computes the gradient and runs 300 L-BFGS steps. Patched, device and I/O only: the dataset
constructor returns the shared image (no download), `weights_init` loads the shared weights (the artefact it
would otherwise draw), CUDA is reported absent, figures are not drawn, and torch.optim.LBFGS is a subclass that
remembers its variables so the driver can read the final dummy image (a local of the script).
"""

import runpy
import sys
from pathlib import Path

import matplotlib
import torch
import torchvision
from PIL import Image
from reference_io import RecordingLBFGS, Run, cpu_only, gradient_gap, load_parameters, shared_weights_init

matplotlib.use("Agg")


def private_dataset(run: Run):
    """A stand-in for datasets.CIFAR100: item i is (the shared image as PIL, its label)."""
    request = run.request
    pixels = (request["images"][0] * 255).round().byte().permute(1, 2, 0).numpy()  # exact: the images are k / 255
    image = Image.fromarray(pixels)
    label = int(request["true_labels"][0])
    return lambda *args, **kwargs: [(image, label)]


def main(request_path: str, answer_path: str) -> None:
    run = Run(request_path, answer_path)
    root = Path(run.request["reference"])  # importable: Run put it first on sys.path
    import matplotlib.pyplot as plt
    import models.vision

    gap = gradient_gap(load_parameters(models.vision.LeNet(), run.request["parameters"]), run)
    cpu_only(run)
    run.patch(torchvision.datasets, "CIFAR100", private_dataset(run), "I/O: CIFAR-100 is the shared image")
    run.patch(models.vision, "weights_init", shared_weights_init(run, "LeNet"), "weights: the shared ones")
    run.patch(plt, "show", lambda *args, **kwargs: None, "I/O: no figure window")
    run.patch(torch.optim, "LBFGS", RecordingLBFGS, "I/O: L-BFGS remembers its variables (read at the end)")
    sys.argv = [str(root / "main.py"), "--index", "0"]
    run.start()
    runpy.run_path(str(root / "main.py"), run_name="__main__")
    images, label_logits = RecordingLBFGS.made[-1]
    run.finish(images, label_logits.argmax(dim=-1), "pixel", gradient_gap=gap, iterations=300)


if __name__ == "__main__":
    main(*sys.argv[1:])
