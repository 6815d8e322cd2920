"""Fidelity driver for GRNN's official code (Rand2AI/GRNN, GRNN.py): runs the script's main() on the shared
batch and weights. Usage: python grnn_official.py REQUEST.pt ANSWER.pt.

Settings edited as its README tells a user to (the block at the top of main()): batchsize, Iteration, num_exp 1,
dataset 'mnist' (its 10 classes, 32x32 RGB images), device0 = device1 = 0. Patched, device and I/O only: CUDA
calls stay on the CPU, the dataset reader returns the shared batch (no download), `weights_init` loads the
shared weights, the TensorBoard logger (TensorFlow) writes nothing, figures are not saved. The answer is what
the script saves as its result: the PNGs of its last snapshot (saved_img/fake_data, the label in each name).
"""

import sys
import types
from pathlib import Path

import matplotlib
import torch
from PIL import Image
from reference_io import Run, cpu_only, gradient_gap, load_parameters, script_namespace, shared_weights_init
from torch.utils.data import TensorDataset
from torchvision.transforms.functional import to_tensor

matplotlib.use("Agg")


class NoLogger:
    """Stands in for its TFLogger (TensorBoard through TensorFlow): logs nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def main(request_path: str, answer_path: str) -> None:
    run = Run(request_path, answer_path)
    request = run.request
    cpu_only(run)
    import matplotlib.pyplot as plt

    batch = len(request["images"])
    settings = {"batchsize": batch, "Iteration": request["iterations"], "num_exp": 1, "dataset": "mnist"}
    settings |= {"device0": 0, "device1": 0}
    logger = types.ModuleType("TFLogger.logger")
    logger.TFLogger = NoLogger
    sys.modules["TFLogger.logger"] = logger  # the script imports it at the top; it would import TensorFlow
    script = script_namespace(Path(request["reference"]) / "GRNN.py", settings, "main")
    gap = gradient_gap(load_parameters(script["LeNet"](num_classes=request["num_classes"]), request["parameters"]), run)
    run.patched.append("settings: batchsize, Iteration, num_exp 1, dataset 'mnist', device0 = device1 = 0")
    private = TensorDataset(request["images"], request["true_labels"])
    script["gen_dataset"] = lambda *args: (private, request["num_classes"])
    script["weights_init"] = shared_weights_init(run, "LeNet")
    run.patched += ["I/O: the dataset is the shared batch", "weights: the shared ones", "I/O: no TensorBoard log"]
    run.patch(plt, "savefig", lambda *args, **kwargs: None, "I/O: figures not saved")
    run.start()
    script["main"]()
    saved = sorted(Path("Results").glob("*/saved_img/fake_data/exp000/*.png"), key=lambda p: int(p.stem.split("_")[0]))
    images = torch.stack([to_tensor(Image.open(path).convert("RGB")) for path in saved])
    labels = torch.tensor([int(path.stem.split("_")[1]) for path in saved])
    run.finish(images, labels, "pixel", gradient_gap=gap, iterations=request["iterations"])


if __name__ == "__main__":
    main(*sys.argv[1:])
