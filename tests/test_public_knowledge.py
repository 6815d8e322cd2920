"""The threat model's rule: what the server knows from data comes from a public source disjoint from the
attacked and the clients' images. Changing only the private images must leave every public part of the
observation and the malicious model unchanged; without a public source the run is refused in one line."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import main_fed
import main_grad
from fedprivacy.cli import fed, grad
from fedprivacy.cli.common import run_cli
from fedprivacy.fl.public import PublicData, generator_record
from fedprivacy.models.imprint import brightness, find_imprint, thresholds_from
from fedprivacy.utils.errors import UsageError

SIZE = 8


def pixels(seed: int, count: int, brightness_shift: float) -> np.ndarray:
    """Random uint8 RGB images whose brightness is shifted, so private and public ones differ."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, (count, SIZE, SIZE, 3)) * 0.5 + brightness_shift
    return (255 * values.clip(0, 1)).astype(np.uint8)


def npz(path: Path, train_seed: int | None, test_seed: int) -> Path:
    """An npz whose test (and, unless `train_seed` is None, train) split has its own images."""
    arrays = {"test_x": pixels(test_seed, 12, 0.4), "test_y": np.arange(12) % 3}
    if train_seed is not None:
        arrays |= {"train_x": pixels(train_seed, 30, 0.1), "train_y": np.arange(30) % 3}
    np.savez(path, **arrays)
    return path


def flat_folder(root: Path) -> Path:
    """Class sub-folders of images with no train/ or test/ split."""
    for label in range(2):
        (root / str(label)).mkdir(parents=True)
        for index, image in enumerate(pixels(label, 4, 0.2)):
            Image.fromarray(image).save(root / str(label) / f"{index}.png")
    return root


GRAD = ["--dataset", "npz", "--model", "fc2", "--attack", "rtf", "--imprint", "--bins", "8", "--rec_batch_size", "4"]
NORMALISED = ["--normalize", "--norm_stats", "dataset", "--quiet"]


def grad_public_parts(path: Path) -> tuple[torch.Tensor, tuple, dict, dict]:
    """main_grad's imprint thresholds, the observation's normalisation and model, and the knowledge record."""
    args = main_grad.parse_args([*GRAD, *NORMALISED, "--base_data_dir", str(path)])
    torch.manual_seed(0)
    cases, knowledge = grad.build_cases(args, grad.check(args))
    observation = cases[0].observation
    block = find_imprint(observation.model)[1]
    normalization = (observation.normalization.mean, observation.normalization.std)
    return block.imprint.bias.detach().clone(), normalization, observation.model.state_dict(), knowledge.report()


def test_main_grad_public_parts_do_not_depend_on_the_attacked_images(tmp_path) -> None:
    first = grad_public_parts(npz(tmp_path / "a.npz", train_seed=1, test_seed=2))
    second = grad_public_parts(npz(tmp_path / "b.npz", train_seed=1, test_seed=3))
    assert torch.equal(first[0], second[0]) and first[1] == second[1]
    assert all(torch.equal(first[2][key], second[2][key]) for key in first[2])
    knowledge = first[3]
    assert knowledge["imprint"]["from"] == "npz:a.npz train split" and knowledge["imprint"]["images"] == 30
    assert knowledge["normalization"]["from"] == "npz:a.npz train split"
    assert knowledge["label_probe"]["images"] > 0
    # the bins are the equal-mass quantiles of the training images' brightness, nothing else
    train = torch.from_numpy(np.load(tmp_path / "a.npz")["train_x"]).permute(0, 3, 1, 2).float() / 255
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in first[1])
    expected, spread = thresholds_from(brightness((train - mean) / std), 8, 0.0)
    block_thresholds = -first[0] * spread / 0.01
    assert torch.allclose(block_thresholds[1:], expected[1:], atol=1e-4)


@pytest.mark.parametrize("layout", ["flat folder", "npz without train split"])
@pytest.mark.parametrize("flags", [["--imprint"], ["--normalize", "--norm_stats", "dataset"]])
def test_main_grad_without_a_public_split_is_refused_in_one_line(tmp_path, capsys, layout: str, flags) -> None:
    if layout == "flat folder":
        data = ["--dataset", "imagefolder", "--base_data_dir", str(flat_folder(tmp_path / "images"))]
    else:
        data = ["--dataset", "npz", "--base_data_dir", str(npz(tmp_path / "test_only.npz", None, 2))]
    attack = ["--attack", "rtf", "--bins", "8"] if "--imprint" in flags else ["--attack", "idlg", "--rec_epochs", "1"]
    argv = [*data, "--model", "fc2", *attack, *flags, "--rec_batch_size", "2", "--quiet", "--out_dir", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: main_grad.main(argv))
    message = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "\n" not in message
    assert message.startswith("error: --imprint" if "--imprint" in flags else "error: --norm_stats dataset")
    assert not list(tmp_path.glob("*.json"))


def test_main_grad_report_names_the_public_source(tmp_path) -> None:
    path = npz(tmp_path / "data.npz", train_seed=1, test_seed=2)
    main_grad.main([*GRAD, "--base_data_dir", str(path), "--quiet", "--out_dir", str(tmp_path)])
    (report,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert report["public_knowledge"]["imprint"]["from"] == "npz:data.npz train split"
    assert "test split" in report["public_knowledge"]["imprint"]["disjoint_from"]


FED = ["--dataset", "npz", "--model", "fc2", "--attack", "rtf", "--imprint", "--bins", "8", "--rec_batch_size", "2"]
FED += ["--total_clients", "2", "--num_rounds", "1", "--iid", *NORMALISED]


def fed_public_parts(path: Path) -> tuple[dict, tuple, dict]:
    """main_fed's initial server model, normalisation and knowledge record."""
    args = main_fed.parse_args([*FED, "--base_data_dir", str(path)])
    torch.manual_seed(0)
    model, data, knowledge = fed.build_federation(args, fed.check(args))
    return model.state_dict(), (data.normalization.mean, data.normalization.std), knowledge.report()


def test_main_fed_public_parts_do_not_depend_on_the_clients_images(tmp_path) -> None:
    first = fed_public_parts(npz(tmp_path / "a.npz", train_seed=1, test_seed=2))
    second = fed_public_parts(npz(tmp_path / "b.npz", train_seed=4, test_seed=2))
    assert all(torch.equal(first[0][key], second[0][key]) for key in first[0]) and first[1] == second[1]
    assert first[2]["imprint"]["from"] == "npz:a.npz test split" and first[2]["imprint"]["images"] == 12
    assert "train split" in first[2]["imprint"]["disjoint_from"]


def test_a_generator_trained_on_the_attacked_images_is_refused() -> None:
    public = PublicData("digits", "unused", None, private="test")
    meta = {"dataset": "digits", "split": "test", "num_images": 100}
    assert "test images 100-101" in generator_record(meta, public, range(100, 102))["disjoint_from"]
    assert generator_record({**meta, "split": "train"}, public, range(0, 2))["disjoint_from"].startswith("the test")
    with pytest.raises(UsageError, match="--start_index 100"):
        generator_record(meta, public, range(50, 52))
    fed = PublicData("digits", "unused", None, private="train")
    with pytest.raises(UsageError, match="may hold"):
        generator_record({**meta, "split": "train"}, fed, range(0))
