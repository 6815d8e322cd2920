"""Fidelity driver for GGL's official code (zhuohangli/GGL, celeba32_wgan-gp.py): its NGReconstructor (CMA-ES
through nevergrad) on the shared gradient with the shared generator. Usage: python ggl_official.py REQUEST.pt
ANSWER.pt.

The script parses its flags when imported, so it is imported with none (its defaults). NGReconstructor takes
the model, the generator, the loss, the class count, the latent size and the budget (rounds of 50 samples) as
arguments; it gets the shared model, our trained generator (the artefact GGL does not ship, mapped into the
model's normalised space) and GGL's own inversefed Classification loss. Patched, I/O only: the conversion of the
result to PIL images for display is skipped (it assumes three channels).
"""

import importlib.util
import sys
from pathlib import Path

from reference_io import Run, gradient_gap


def main(request_path: str, answer_path: str) -> None:
    run = Run(request_path, answer_path)
    request, settings = run.request, run.request["settings"]
    path = Path(request["reference"]) / "celeba32_wgan-gp.py"
    sys.argv = [str(path)]
    spec = importlib.util.spec_from_file_location("celeba32_wgan_gp", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    from inversefed.data.loss import Classification

    model = request["model"].eval()
    gap = gradient_gap(model, run)
    run.patch(script, "convert_to_images", lambda images: None, "I/O: no PIL images of the result (display only)")
    attacker = script.NGReconstructor(
        fl_model=model,
        generator=request["generator"].eval(),
        loss_fn=Classification(),
        num_classes=request["num_classes"],
        search_dim=(settings["latent"],),
        strategy="CMA",
        budget=settings["rounds"],
        use_tanh=False,
        defense_setting=None,
    )
    run.start()
    _, images, _, _ = attacker.reconstruct(list(request["gradient"]), use_pbar=False)
    labels = attacker.infer_label(list(request["gradient"]))
    run.finish(images, labels, "normalised", gradient_gap=gap, iterations=settings["rounds"] * attacker.num_samples)


if __name__ == "__main__":
    main(*sys.argv[1:])
