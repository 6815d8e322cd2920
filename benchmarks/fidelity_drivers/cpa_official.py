"""Fidelity driver for the Cocktail Party Attack's official code (facebookresearch/cocktail_party_attack, src/):
its CocktailPartyAttack and, for a convolutional model, its Direct feature inversion, stepped as its attack.py
steps them. Usage: python cpa_official.py REQUEST.pt ANSWER.pt.

The classes take the model, the gradient and an argparse namespace (its attack.py flags); the flags get the
request's settings. Its FC-2 class gets the shared weights; a convolutional model is the shared one behind an
adapter giving it the interface its code expects (forward(x, return_z=True), attack_index, model_type). Patched,
I/O only: its dataset statistics for the named dataset are the shared normalisation, and torchtext (imported by
its dataset module for text datasets only; it does not install beside torch 2.x) is an empty stub.
"""

import sys
import types
from argparse import Namespace
from pathlib import Path

from reference_io import Run, WithEmbedding, gradient_gap, load_parameters


def stub_torchtext(run: Run) -> None:
    """Empty torchtext modules with the names its dataset module imports (used only for text datasets)."""
    names = {"torchtext.data.utils": "get_tokenizer", "torchtext.data.functional": "to_map_style_dataset"}
    names["torchtext.vocab"] = "GloVe"
    for module in ("torchtext", "torchtext.data", *names):
        sys.modules[module] = types.ModuleType(module)
    for module, name in names.items():
        setattr(sys.modules[module], name, None)
    run.patched.append("I/O: torchtext (text datasets only) stubbed")


def flags(request: dict) -> Namespace:
    """Its attack.py flags: the defaults it documents, the request's settings over them."""
    settings = request["settings"]
    defaults = dict(model=settings["model_name"], ds="cifar10", batch_size=len(request["images"]), attack="cp")
    defaults |= dict(decor=1, tv=0, ne=1, l1=0, nv=0, T=5, n_iter=25000, opt="adam", lr=1e-3, sch="none")
    defaults |= dict(fi_method="direct", n_iter_fi=25000, opt_fi="adam", lr_fi=1e-1, sch_fi="cosine", gm=1, fi=1)
    defaults |= dict(fl_alg="fedsgd", C=1.0, sigma=0.0, defense="nodef", exp_name=None, use_labels=False)
    defaults |= dict(ideal_emb_rec=False)
    return Namespace(**{**defaults, **settings["flags"]})


def main(request_path: str, answer_path: str) -> None:
    run = Run(request_path, answer_path)
    request, settings = run.request, run.request["settings"]
    sys.path.insert(0, str(Path(request["reference"]) / "src"))
    stub_torchtext(run)
    import datasets
    from feature_inversion import Direct
    from gradient_inversion import CocktailPartyAttack

    from models import FC2
    from utils import get_attack_exp_path

    args = flags(request)
    Path(get_attack_exp_path(args)).mkdir(parents=True)  # its attack.py's setup() makes it (the whitening cache)
    mean, std = request["normalization"]
    datasets.ds_mean[args.ds], datasets.ds_std[args.ds] = list(mean), list(std)
    run.patched.append(f"I/O: its {args.ds} statistics are the shared normalisation")
    if settings["embedding"]:
        model = WithEmbedding(request["model"], settings["layer"], "conv")
    else:
        model = load_parameters(FC2(ds=args.ds, h_dim=settings["hidden"]), request["parameters"])
    gap = gradient_gap(model, run)
    gradient = list(request["gradient"])
    run.start()
    attack = CocktailPartyAttack(model, gradient, request["true_labels"], args, 0)
    for _ in range(args.n_iter):
        attack.step()
    recovered = attack.get_rec()
    if settings["embedding"]:
        if args.ideal_emb_rec:  # its flag: invert the true embeddings (what the unmixing would ideally recover)
            recovered = model(request["images"], return_z=True)[1].detach()
        inversion = Direct(recovered.abs(), model, args, gradient, request["true_labels"])
        for _ in range(args.n_iter_fi):
            inversion.step()
        recovered = inversion.get_rec()
    run.finish(
        recovered, None, "pixel", gradient_gap=gap, iterations=args.n_iter + args.n_iter_fi * settings["embedding"]
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
