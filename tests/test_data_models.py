"""Embedded datasets load offline, normalisation round-trips, every model fits every data shape."""

import pytest
import torch

from fedprivacy.data import load_split, make_normalization
from fedprivacy.models import MODELS, build_model, load_pretrained
from fedprivacy.utils.errors import UsageError
from tests.conftest import SHARED


@pytest.mark.parametrize(
    ("name", "shape", "count"),
    [("digits", (1, 8, 8), 360), ("cifar10_sample", (3, 32, 32), 20), ("mnist_sample", (1, 28, 28), 20)],
)
def test_embedded_sets_load_real_images(name: str, shape: tuple, count: int) -> None:
    split = load_split(name)
    images, labels = split.batch(list(range(len(split))))
    assert tuple(images.shape[1:]) == shape and len(split) == count
    assert float(images.min()) >= 0 and float(images.max()) <= 1 and float(images.std()) > 0.1
    assert int(labels.max()) < split.info.num_classes


def test_rgb_repeats_grey_images_and_their_published_stats() -> None:
    grey, rgb = load_split("mnist_sample"), load_split("mnist_sample", rgb=True)
    images, _ = grey.batch([0, 1])
    coloured, _ = rgb.batch([0, 1])
    assert rgb.info.shape == (3, 28, 28) and torch.equal(coloured, images.expand(-1, 3, -1, -1))
    assert rgb.info.stats.mean == grey.info.stats.mean * 3 and rgb.info.stats.std == grey.info.stats.std * 3
    with pytest.raises(UsageError, match="--rgb applies only to grey images"):  # refused, not silently ignored
        load_split("cifar10_sample", rgb=True)


def test_num_classes_widens_the_head(tmp_path) -> None:
    import main_grad

    flags = ["--attack", "idlg", "--num_classes", "100", "--rec_epochs", "2", "--quiet", "--out_dir", str(tmp_path)]
    report = main_grad.main(flags)
    # iDLG reads the label off a 100-wide last layer and still finds the true one among 100
    assert report["args"]["num_classes"] == 100 and report["summary"]["label_acc"] == 1.0


def test_normalisation_round_trip_and_box(cifar_sample) -> None:
    images, _ = cifar_sample.batch([0, 1])
    for stats in ("half", "dataset", "imagenet"):
        normalization = make_normalization(cifar_sample.info, True, stats)
        normalized = normalization.normalize(images)
        assert torch.allclose(normalization.denormalize(normalized), images, atol=1e-6)
        low, high = normalization.box(images)
        assert torch.allclose(normalization.clamp(normalized), normalized, atol=1e-6)
        assert (normalization.clamp(normalized * 10) <= high + 1e-6).all()
        assert (normalization.clamp(normalized * 10) >= low - 1e-6).all()


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 28, 28), (1, 8, 8)])
def test_every_model_adapts_to_the_data(name: str, shape: tuple) -> None:
    model = build_model(name, shape[0], shape[1:], 7).eval()
    assert model(torch.rand(2, *shape)).shape == (2, 7)


def test_lenet_is_the_dlg_lenet() -> None:
    model = build_model("lenet", 3, (32, 32), 10)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [12, 12, 12] and all(c.kernel_size == (5, 5) for c in convs)
    assert all(float(p.detach().abs().max()) <= 0.5 for p in model.parameters())


def test_lenet5_is_the_grnn_lenet() -> None:
    model = build_model("lenet5", 3, (32, 32), 100)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(400, 120), (120, 84), (84, 100)]
    # (3*25+1)*6 + (6*25+1)*16 + 401*120 + 121*84 + 85*100
    assert sum(p.numel() for p in model.parameters()) == 456 + 2416 + 48120 + 10164 + 8500
    values = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert float(values.abs().max()) < 0.5 and float(values.abs().max()) > 0.49
    assert abs(float(values.mean())) < 0.01 and abs(float(values.std()) - 1 / 12**0.5) < 0.01
    sigmoids = sum(isinstance(m, torch.nn.Sigmoid) for m in model.modules())
    assert sigmoids == 4 and isinstance(list(model)[-1], torch.nn.Linear)


@pytest.mark.skipif(not (SHARED / "weights" / "resnet20_cifar10.th").exists(), reason="shared weights missing")
def test_pretrained_resnet20_classifies_real_cifar10() -> None:
    import numpy as np

    model = load_pretrained(build_model("resnet20", 3, (32, 32), 10), SHARED / "weights" / "resnet20_cifar10.th")
    arrays = np.load(SHARED / "data" / "cifar10_subset.npz")
    images = torch.from_numpy(arrays["test_x"][:200]).permute(0, 3, 1, 2).float() / 255
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        accuracy = (model.eval()((images - mean) / std).argmax(1) == torch.from_numpy(arrays["test_y"][:200])).float()
    assert float(accuracy.mean()) > 0.7  # 91.8% on clean CIFAR-10; the subset is JPEG re-encoded
