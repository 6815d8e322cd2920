"""fl/functional.py reproduces fl.client.train_locally exactly and is differentiable w.r.t. the images."""

import pytest
import torch

from fedprivacy.fl.client import train_locally
from fedprivacy.fl.functional import functional_update, train_functional
from fedprivacy.fl.observation import LocalTraining
from fedprivacy.models import MODELS, build_model

LOCAL = LocalTraining(epochs=2, batch_size=2, lr=0.01, momentum=0.9, weight_decay=1e-3)


def broadcast(model: torch.nn.Module) -> tuple[dict, dict]:
    parameters = {name: p.detach().requires_grad_() for name, p in model.named_parameters()}
    return parameters, {name: b.detach().clone() for name, b in model.named_buffers()}


@pytest.mark.parametrize(("model_name", "model_mode"), [("cnn", "train"), ("resnet20", "train"), ("resnet20", "eval")])
def test_matches_module_training(cifar_sample, model_name: str, model_mode: str) -> None:
    model = build_model(model_name, 3, (32, 32), 10)
    if model_mode == "eval":  # sensible running statistics, so eval-mode training does not blow up
        with torch.no_grad():
            model.train()(cifar_sample.batch(list(range(10, 20)))[0] * 2 - 1)
    images, labels = cifar_sample.batch(list(range(6)))
    images = images * 2 - 1
    reference = train_locally(model, images, labels, LOCAL, model_mode)
    parameters, buffers = broadcast(model)
    before = {name: b.clone() for name, b in buffers.items()}
    trained, new_buffers = train_functional(model, parameters, buffers, images, labels, LOCAL, model_mode, False)
    for name, parameter in reference.named_parameters():
        assert (trained[name] - parameter).abs().max() < 1e-5, name
        assert (trained[name] - parameters[name]).abs().max() > 0, name  # training did move it
    for name, buffer in reference.named_buffers():
        assert torch.allclose(new_buffers[name].float(), buffer.float(), atol=1e-5), name
        assert torch.equal(buffers[name], before[name])  # the broadcast buffers are left alone
    if model_name == "resnet20" and model_mode == "train":
        assert not torch.equal(new_buffers["bn1.running_mean"], before["bn1.running_mean"])


def test_update_is_differentiable_wrt_images() -> None:
    """Finite differences agree with autograd through two SGD steps of a BatchNorm ResNet (float64)."""
    model = build_model("resnet20", 1, (8, 8), 4).double()
    parameters, buffers = broadcast(model)
    images = torch.randn(2, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([1, 3])
    local = LocalTraining(epochs=1, batch_size=1, lr=0.1)

    def update(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return functional_update(model, parameters, buffers, x, labels, local, "train")[-2:]

    assert torch.autograd.gradcheck(update, (images,), fast_mode=True)


@pytest.mark.parametrize("model_name", sorted(set(MODELS) - {"cnn", "resnet20"}))
def test_matches_module_training_for_every_registry_model(model_name: str) -> None:
    """One momentum step on two mini-batches: functional_call needs no per-architecture code."""
    model = build_model(model_name, 3, (32, 32), 10)
    images, labels = torch.rand(4, 3, 32, 32) * 2 - 1, torch.tensor([1, 2, 3, 4])
    local = LocalTraining(epochs=1, batch_size=2, lr=0.01, momentum=0.5)
    reference = train_locally(model, images, labels, local, "train")
    parameters, buffers = broadcast(model)
    trained, _ = train_functional(model, parameters, buffers, images, labels, local, "train", create_graph=False)
    for name, parameter in reference.named_parameters():
        assert (trained[name] - parameter).abs().max() < 1e-5, name
