"""What a share gives away in closed form, before any optimisation (Geiping et al., NeurIPS 2020,
Proposition 3.1; Zhu and Blaschko, R-GAP, ICLR 2021).

For a fully connected layer y = W x + b and a batch of one, the loss gradient is dW = (dL/dy) x^T and
db = dL/dy, so every row i with a nonzero bias gradient gives the layer's input, x = dW_i / db_i; the
least-squares fit over all rows, x = db^T dW / |db|^2, is exact when dW is rank one. The server thus reads
off the input of every such layer: the image itself when the layer reads the image (a first-layer FC),
the features the layers before it compute otherwise. A FedAvg update of several local steps sums
per-step gradients: the layer reading the image sees the same image at every step (still exact), deeper
layers see features that move with the weights, and the rank-one residual says how far that is from
exact. At batch 1 the label is exact too (attacks/labels.py); at larger batches every layer's gradient
mixes the batch's inputs and nothing is read off here.
"""

from dataclasses import dataclass

import torch
from torch import nn

from fedprivacy.attacks.cpa import sees_images
from fedprivacy.attacks.fits import final_linear
from fedprivacy.attacks.labels import restore_labels
from fedprivacy.fl.observation import Observation

EXACT = 1e-4  # rank-one residual below which a layer's input counts as read off exactly (float32 shares)


@dataclass(frozen=True)
class LayerInput:
    """The input a fully connected layer read, recovered from its gradient: which layer, whether it is the
    image or features, and the residual of the rank-one fit (||dW - db x^T|| / ||dW||)."""

    layer: str
    reads: str  # "image" or "features"
    inputs: torch.Tensor  # the recovered input vector
    residual: float

    @property
    def exact(self) -> bool:
        return self.residual < EXACT

    def describe(self) -> dict:
        return {
            "layer": self.layer,
            "reads": self.reads,
            "size": self.inputs.numel(),
            "exact": self.exact,
            "rank_one_residual": self.residual,
        }


@dataclass(frozen=True)
class Leakage:
    """What the share gives away in closed form: the batch size it concerns, the labels, each layer's input."""

    batch: int
    labels: list[int] | None
    layers: list[LayerInput]

    def describe(self) -> dict:
        """For the JSON: no tensors (they go to the .npz), a sentence saying what was read off."""
        return {
            "batch": self.batch,
            "labels": self.labels,
            "labels_exact": self.labels is not None,
            "layer_inputs": [layer.describe() for layer in self.layers],
            "summary": self.sentence(),
        }

    def sentence(self) -> str:
        exact = [f"{layer.layer}'s {layer.inputs.numel()} input {layer.reads}" for layer in self.layers if layer.exact]
        if self.batch != 1:
            return f"batch of {self.batch}: each layer's gradient mixes the inputs; nothing read off in closed form"
        if not exact:
            return "no fully connected layer's input read off exactly"
        return "read off exactly: " + ", ".join(exact)

    def arrays(self) -> dict[str, torch.Tensor]:
        """The recovered inputs by layer, for the .npz beside the reconstruction."""
        return {f"analytic_{layer.layer}": layer.inputs for layer in self.layers}


def batch_size(obs: Observation) -> int:
    """How many images the share mixes: the client's example count for an update, else the batch."""
    return obs.num_examples if obs.num_examples is not None else obs.num_images


def read_layer(gradient_w: torch.Tensor, gradient_b: torch.Tensor) -> tuple[torch.Tensor, float] | None:
    """The input x with dW ~ db x^T (least squares over the rows) and the relative residual; None when the
    bias gradient is zero (the layer passed no gradient)."""
    weight, bias = gradient_w.detach().double().flatten(1), gradient_b.detach().double()
    energy = float((bias**2).sum())
    if energy == 0.0 or not torch.isfinite(weight).all():
        return None
    inputs = bias @ weight / energy
    misfit = torch.linalg.norm(weight - torch.outer(bias, inputs))
    residual = float(misfit / torch.linalg.norm(weight).clamp_min(1e-300))
    return inputs.float(), residual


def leakage(obs: Observation) -> Leakage:
    """At batch 1, the label and the input of every fully connected layer with a bias the share gives away."""
    batch = batch_size(obs)
    if batch != 1:  # label counts at larger batches are estimates (the attacks restore them themselves)
        return Leakage(batch, None, [])
    labels = None
    if final_linear(obs.model, obs.num_classes) is not None:
        labels = [int(y) for y in restore_labels(obs).cpu()]
    gradients = dict(zip(obs.parameters(), obs.gradient, strict=True))
    layers = []
    for name, module in obs.model.named_modules():
        if not isinstance(module, nn.Linear) or module.bias is None or f"{name}.bias" not in gradients:
            continue
        found = read_layer(gradients[f"{name}.weight"], gradients[f"{name}.bias"])
        if found is not None:
            reads = "image" if sees_images(obs, module) else "features"
            layers.append(LayerInput(name, reads, found[0].cpu(), found[1]))
    return Leakage(batch, labels, layers)
