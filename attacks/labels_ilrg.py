"""iLRG: instance-wise batch label restoration via gradients (Ma et al., ICLR 2023).

With softmax cross-entropy and a last linear layer z = W h + b, the mean-reduced gradients are
grad_b = mean_n(p_n - y_n) and grad_W = mean_n((p_n - y_n) h_n^T). Row c of grad_W divided by
grad_b[c] is a weighted mean of the batch's embeddings h that, for a class in the batch, is
dominated by that class's images (their weight p - 1 is large and negative): iLRG takes it as
the embedding of class c, runs the last layer on it to get that class's output probabilities
P[c], and assumes every image of class c has them. The bias gradient then is linear in the
class counts k:  B * grad_b[i] = sum_c k_c P[c, i] - k_i,  with sum_c k_c = B. Least squares
gives k, rounded to integers summing to B (largest remainder); the present classes are those
with k >= 1 (the paper's separate existence test, a rank and linear-programming argument, is
not used). Needs a bias in the last layer.

From a weight update of S local steps (our extension), the pseudo-gradient -update / (lr S) is
the mean of the S per-step gradients, so the same equations hold with P replaced by its mean
over the steps. The server knows S but not the intermediate models; it takes the last layer of
step t on the straight line from the broadcast one to the updated one (t / S of the way) and
averages the S probability matrices. One step is plain iLRG.
"""

import torch

from fedprivacy.attacks.labels import counts_to_labels, last_linear
from fedprivacy.fl.observation import Observation


def layer_path(obs: Observation, layer: torch.nn.Linear) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The last layer's (weight, bias) at each local step, interpolated along the shared update."""
    weight, bias = layer.weight.detach().double(), layer.bias.detach().double()
    if obs.update is None or obs.local_training is None:
        return [(weight, bias)]
    updates = dict(zip(obs.parameters(), obs.update, strict=True))
    name = next(name for name, module in obs.model.named_modules() if module is layer)
    weight_step, bias_step = updates[f"{name}.weight"].double(), updates[f"{name}.bias"].double()
    steps = obs.local_steps()
    return [(weight + t / steps * weight_step, bias + t / steps * bias_step) for t in range(steps)]


def solve_counts(obs: Observation) -> torch.Tensor:
    """The least-squares class counts (real numbers) of the private batch, solved on the CPU (the gelsd
    driver, which CUDA lacks)."""
    layer, weight_grad, bias_grad = last_linear(obs)
    if bias_grad is None:
        raise ValueError("iLRG needs a bias in the last linear layer")
    weight_grad, bias_grad = weight_grad.detach().double(), bias_grad.detach().double()
    tiny = bias_grad.abs() < 1e-12
    embeddings = weight_grad / torch.where(tiny, torch.ones_like(bias_grad), bias_grad)[:, None]
    embeddings[tiny] = 0
    with torch.no_grad():
        path = layer_path(obs, layer)
        probs = sum((embeddings @ weight.T + bias).softmax(dim=1) for weight, bias in path).cpu() / len(path)
    classes, batch = obs.num_classes, obs.num_images
    system = torch.cat([torch.ones(1, classes, dtype=torch.double), probs.T - torch.eye(classes, dtype=torch.double)])
    values = torch.cat([torch.tensor([float(batch)], dtype=torch.double), batch * bias_grad.cpu()])
    return torch.linalg.lstsq(system, values[:, None], driver="gelsd").solution.flatten()


def restore(obs: Observation, generator: torch.Generator | None = None) -> torch.Tensor:
    """`obs.num_images` labels, sorted by class, on the observation's device."""
    counts = solve_counts(obs).float()
    return counts_to_labels(counts, torch.zeros(obs.num_classes, dtype=torch.bool), obs.num_images).to(obs.device)
