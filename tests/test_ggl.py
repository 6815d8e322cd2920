"""GGL: finds a planted latent through the shared gradient; checkpoint problems are one-line errors."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fedprivacy.attacks import get_attack
from fedprivacy.attacks.ggl import LatentLoss, search_adam
from fedprivacy.cli.train_generator import main as train_generator
from fedprivacy.data import Normalization
from fedprivacy.evaluation.metrics import psnr
from fedprivacy.fl.exchange import share_gradient
from fedprivacy.models import build_model
from fedprivacy.models.generators import ImageGenerator, load_image_generator, save_checkpoint
from fedprivacy.utils.errors import UsageError
from fedprivacy.utils.progress import loss_bar

ROOT = Path(__file__).resolve().parent.parent
LATENT = 8
SHAPE = (1, 8, 8)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A small random generator saved as a checkpoint, and an image made from a known latent."""
    torch.manual_seed(1)
    generator = ImageGenerator(LATENT, 1, SHAPE[1:], width=16).eval()
    path = tmp_path_factory.mktemp("ggl") / "generator.pt"
    meta = {"dataset": "planted", "channels": 1, "image_size": list(SHAPE[1:]), "latent": LATENT, "width": 16}
    save_checkpoint(path, {**meta, "steps": 0}, {"generator": generator.state_dict()})
    latent = torch.randn(1, LATENT, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        image = generator(latent)
    return path, generator, latent, image


def attack(path: Path, image: torch.Tensor, label: int, search: str, normalization: Normalization):
    model = build_model("lenet", 1, SHAPE[1:], 10)
    observation = share_gradient(model, normalization.normalize(image), torch.tensor([label]), normalization, "train")
    config = get_attack("ggl").configure(
        generator=str(path), budget=1500, search=search, kl_weight=0.1, iterations=300, lr=0.05, seed=0, progress=False
    )
    result = get_attack("ggl").run(observation, config)
    return normalization.denormalize(result.images).clamp(0, 1), result


@pytest.mark.parametrize(
    ("search", "normalization"), [("cma", Normalization.identity(1)), ("adam", Normalization((0.5,), (0.5,)))]
)
def test_recovers_the_image_of_a_planted_latent(planted, search: str, normalization: Normalization) -> None:
    path, generator, latent, image = planted
    recovered, result = attack(path, image, 3, search, normalization)
    with torch.no_grad():
        others = generator(torch.randn(64, LATENT, generator=torch.Generator().manual_seed(0)))
    best_random = float(psnr(others, image.expand_as(others)).max())
    assert result.labels.tolist() == [3]
    assert float(psnr(recovered, image)) > max(25.0, best_random + 6)  # about 28 dB; random latents under 19


def test_batched_adam_searches_end_where_each_would_alone(planted) -> None:
    path, _, _, image = planted
    half = Normalization((0.5,), (0.5,))
    model = build_model("lenet", 1, SHAPE[1:], 10)
    observation = share_gradient(model, half.normalize(image), torch.tensor([3]), half, "train")
    generator, _ = load_image_generator(str(path), SHAPE)
    config = get_attack("ggl").configure(generator=str(path), search="adam", iterations=40, lr=0.05, progress=False)
    objective = LatentLoss(observation, config, generator, torch.tensor([3]))
    seeds = [1, 2, 3]
    with loss_bar(1, "ggl", False) as bar:
        together = search_adam(objective, LATENT, config, seeds, bar)
        alone = [search_adam(objective, LATENT, config, [seed], bar)[0] for seed in seeds]
    for (loss, latent), (single_loss, single_latent) in zip(together, alone, strict=True):
        assert loss == pytest.approx(single_loss, rel=1e-4)
        np.testing.assert_allclose(latent, single_latent, atol=1e-4)
    assert len({round(loss, 4) for loss, _ in together}) == 3


def test_checkpoint_problems_are_one_line_usage_errors(planted, tmp_path) -> None:
    path, *_ = planted
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    garbage = tmp_path / "garbage.pt"
    garbage.write_text("not a checkpoint")
    cases = [
        (None, SHAPE, "--generator PATH is required"),
        (tmp_path / "missing.pt", SHAPE, "no such file"),
        (foreign, SHAPE, "not a checkpoint of cli.train_generator"),
        (garbage, SHAPE, "not a readable checkpoint"),
        (path, (3, 32, 32), "makes 1x8x8 images"),
    ]
    for checkpoint, shape, message in cases:
        with pytest.raises(UsageError, match=message) as error:
            load_image_generator(checkpoint, shape)
        assert "\n" not in str(error.value) and "python -m fedprivacy.cli.train_generator" in str(error.value)


def test_cli_reports_a_mismatched_generator_and_a_batch_in_one_line(planted) -> None:
    path, *_ = planted
    base = [sys.executable, "main_grad.py", "--attack", "ggl", "--quiet", "--out_dir", "/tmp/ggl-test"]
    for flags, message in [
        (["--dataset", "cifar10_sample", "--generator", str(path)], "makes 1x8x8 images"),
        (["--dataset", "digits", "--generator", str(path), "--rec_batch_size", "2"], "at most 1 image"),
    ]:
        done = subprocess.run([*base, *flags], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_generator_training_saves_metadata_and_resumes(tmp_path) -> None:
    out = tmp_path / "digits.pt"
    common = ["--dataset", "digits", "--loss", "wgan-gp", "--batch_size", "16", "--quiet", "--out", str(out)]
    train_generator([*common, "--steps", "3", "--critic_steps", "2"])
    generator, meta = load_image_generator(out, SHAPE)
    assert isinstance(generator, ImageGenerator) and not generator.training
    assert (meta["dataset"], meta["channels"], meta["image_size"], meta["steps"]) == ("digits", 1, [8, 8], 3)
    assert out.with_suffix(".png").is_file()
    with pytest.raises(UsageError, match="pass --resume"):
        train_generator([*common, "--steps", "5"])
    train_generator([*common, "--steps", "5", "--critic_steps", "2", "--resume"])
    assert load_image_generator(out, SHAPE)[1]["steps"] == 5
    with pytest.raises(UsageError, match="latent"):
        train_generator([*common, "--steps", "6", "--latent", "16", "--resume"])
