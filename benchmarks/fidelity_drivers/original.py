"""Fidelity driver for the original implementation (hangyuzhu/privacy-attack-in-federated-learning): calls its
fleak/attack functions on the shared observation. Usage: python original.py REQUEST.pt ANSWER.pt.

Its attack functions take the model, the target tensors and a TorchDummyImage (shape, classes, normalisation)
as arguments, so nothing of it is patched: it runs on the CPU as `device="cpu"`. Where it defines the
architecture (GrnnLeNet, CifarConvNetNoDropout, CifarFC2) its own class gets the shared weights; otherwise
it attacks the shared model object itself.
"""

import sys

import torch
from reference_io import Run, WithEmbedding, gradient_gap, load_parameters


def fleak_model(run: Run) -> torch.nn.Module:
    """The original implementation's own model class carrying the shared weights, or the shared model."""
    name = run.request["settings"].get("fleak_model")
    if name is None:
        return run.request["model"]
    import fleak.model

    classes = run.request["num_classes"]
    return load_parameters(getattr(fleak.model, name)(classes), run.request["parameters"])


def dummy_of(run: Run):
    """The TorchDummyImage that tells fleak the batch shape, the classes and the normalisation."""
    from fleak.attack.dummy import TorchDummyImage

    request = run.request
    mean, std = request["normalization"]
    normalised = any(m != 0 for m in mean) or any(s != 1 for s in std)
    return TorchDummyImage(
        image_shape=list(request["images"].shape[1:]),
        batch_size=len(request["images"]),
        n_classes=request["num_classes"],
        normalize=normalised,
        dm=list(mean),
        ds=list(std),
        device="cpu",
    )


def attack(run: Run, model: torch.nn.Module, dummy) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """Run the fleak function of the requested attack; returns images, labels and the images' space."""
    import fleak.attack as fleak

    request, s = run.request, run.request["settings"]
    gradient = [g.clone() for g in request["gradient"]]
    name = request["attack"]
    if name == "dlg":
        images, labels = fleak.dlg(model, gradient, dummy, s["rec_epochs"], s["rec_lr"], device="cpu")
    elif name == "idlg":
        images, labels = fleak.idlg(model, gradient, dummy, s["rec_epochs"], s["rec_lr"], device="cpu")
    elif name == "ig_single":
        images, labels = fleak.ig_single(model, gradient, dummy, s["rec_epochs"], s["rec_lr"], s["tv"], device="cpu")
    elif name in ("ig_weight", "ig_multi"):
        # fleak's target is the broadcast minus the trained weights (multi_step_gradients), the negated update
        target = [-u for u in request["update"]]
        local = request["local"]
        images, labels = fleak.ig_multi(
            model, target, dummy, s["rec_epochs"], s["rec_lr"], local["steps"], local["lr"], s["tv"], device="cpu"
        )
    elif name == "grnn":
        images, labels = fleak.grnn(model, gradient, dummy, s["rec_epochs"], s["rec_lr"], s["tv"], device="cpu")
        return images, labels, "pixel"  # its generator's sigmoid output, fed to the model as is
    elif name == "ggl":
        from fleak.attack.ggl import CMAReconstructor

        model.eval()
        generator = request["generator"].eval()
        search = CMAReconstructor(model, generator, s["budget"], search_dim=s["latent"], device="cpu")
        images, labels = search.reconstruct(gradient)
    elif name == "rtf":  # its own malicious model in front of the shared base model; the client's gradient through it
        from fleak.model.imprint import ImprintModel

        imprinted = ImprintModel(
            request["num_classes"], lambda classes: model, list(request["images"].shape), s["bins"]
        )
        loss = torch.nn.functional.cross_entropy(imprinted(request["images"]), request["true_labels"])
        gradient = [g.detach() for g in torch.autograd.grad(loss, imprinted.parameters())]
        images, labels = fleak.invert_linear_layer(gradient, dummy), None
    elif name == "cpa":
        if not hasattr(model, "model_type"):  # not one of its own CPA models: give the shared one their interface
            model = WithEmbedding(model, s["layer"], "cpa_cov" if s["embedding"] else "cpa_fc2")
        images = fleak.cpa(
            model,
            gradient,
            dummy,
            s["rec_epochs"],
            s["rec_lr"],
            s["fi_lr"],
            s["decor"],
            s["T"],
            s["tv"],
            s["nv"],
            s["l1"],
            s["fi"],
            device="cpu",
        )
        return images, None, "pixel"  # min-max images, or feature inversion mapped back to pixels
    else:
        raise SystemExit(f"no original-implementation call for {name}")
    return images, labels, "normalised"


def main(request_path: str, answer_path: str) -> None:
    run = Run(request_path, answer_path)
    model = fleak_model(run)
    gap = gradient_gap(model, run)
    dummy = dummy_of(run)
    run.start()
    images, labels, space = attack(run, model, dummy)
    run.finish(images, labels, space, gradient_gap=gap, iterations=run.request["iterations"])


if __name__ == "__main__":
    main(*sys.argv[1:])
