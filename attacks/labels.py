"""Label restoration from the last linear layer's gradient.

Batch of 1 (iDLG, Zhao et al. 2020): with softmax cross-entropy the bias gradient is p - y,
negative only at the true class; without a bias, the weight-row sums carry the same sign when
the layer's inputs are non-negative.

Batch > 1 (count estimation, after Geng et al. 2021 / Wainakh et al. 2022): the mean-reduced
bias gradient is mean(p) - counts / B, so counts = B * (mean(p) - grad_b). The server does not
know mean(p) on the private batch; it estimates it, and the mean feature sum for the no-bias
case, from the model's outputs on random images in the pixel box. Counts are rounded to sum to
B, and every class with a negative gradient keeps at least one image.
"""

import torch
from torch import nn
from torch.func import functional_call

from fedprivacy.attacks.fits import final_linear
from fedprivacy.fl.knowledge import PROBE_IMAGES
from fedprivacy.fl.observation import Observation
from fedprivacy.utils.errors import AttackDiverged


def last_linear(obs: Observation) -> tuple[nn.Linear, torch.Tensor, torch.Tensor | None]:
    """The last nn.Linear producing the logits, and its weight and bias gradients."""
    found = final_linear(obs.model, obs.num_classes)
    if found is None:
        raise ValueError("label restoration needs a final nn.Linear layer with one output per class")
    name, module = found
    gradients = dict(zip(obs.parameters(), obs.gradient, strict=True))
    bias = gradients.get(f"{name}.bias") if module.bias is not None else None
    return module, gradients[f"{name}.weight"], bias


def restore_labels(obs: Observation, generator: torch.Generator | None = None) -> torch.Tensor:
    """Labels of the private batch (sorted by class when B > 1) read off the shared gradient."""
    layer, weight_grad, bias_grad = last_linear(obs)
    signal = bias_grad if bias_grad is not None else weight_grad.sum(dim=1)
    if obs.num_images == 1:
        return signal.argmin().view(1)
    mean_probs, mean_feature_sum = probe_outputs(obs, layer, generator)
    scale = 1.0 if bias_grad is not None else mean_feature_sum
    counts = obs.num_images * (mean_probs - signal / scale)
    return counts_to_labels(counts, signal < 0, obs.num_images)


def probe_outputs(
    obs: Observation, layer: nn.Linear, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean softmax output and mean input-feature sum of `layer` on random in-box images (drawn on the CPU
    from `generator`, so every device probes the same images, then moved to the observation's device)."""
    low, high = obs.normalization.box(torch.zeros(1))
    noise = torch.rand((PROBE_IMAGES, *obs.image_shape), generator=generator)
    images = (low + (high - low) * noise).to(obs.device)
    features = []
    hook = layer.register_forward_hook(lambda _m, inputs, _o: features.append(inputs[0]))
    try:
        with torch.no_grad():
            logits = functional_call(obs.model, (obs.parameters(), obs.buffers()), (images,))
    finally:
        hook.remove()
    return logits.softmax(dim=1).mean(dim=0), features[0].sum(dim=1).mean()


def counts_to_labels(counts: torch.Tensor, present: torch.Tensor, total: int) -> torch.Tensor:
    """Round non-negative class counts to integers summing to `total` (largest remainder); counts that are
    not finite (a NaN/inf shared gradient) stop only this attack (AttackDiverged)."""
    if not torch.isfinite(counts).all():
        raise AttackDiverged("label restoration: the shared gradient's last layer holds NaN/inf")
    counts = counts.clamp_min(0)
    counts = counts * total / counts.sum().clamp_min(1e-12)
    integer = counts.floor().long()
    integer[present & (integer == 0)] = 1
    remainder = counts - counts.floor()
    while integer.sum() < total:
        index = int(remainder.argmax())
        integer[index] += 1
        remainder[index] = -1
    while integer.sum() > total:
        index = int(torch.where(integer > 0, counts - integer, torch.inf).argmin())
        integer[index] -= 1
    return torch.repeat_interleave(torch.arange(len(counts), device=integer.device), integer)
