"""Regression tests for issue 14's defect classes: non-finite or negative flags, mismatched output pairs,
--out_dir checked late, malformed data, a federation turned NaN, other flags reaching torch, Ctrl-C."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import main_fed
import main_grad
from fedprivacy.cli.common import run_cli
from fedprivacy.utils import atomic

TINY = ["--attack", "idlg", "--rec_epochs", "1", "--model", "mlp", "--quiet"]
FED = ["--num_rounds", "2", "--total_clients", "2", "--attack", "none", "--model", "mlp", "--quiet"]


def one_error(capsys: pytest.CaptureFixture, run, code: int = 2) -> str:
    """Run an entry point through run_cli; it must exit with `code` after exactly one stderr line."""
    with pytest.raises(SystemExit) as exit_info:
        run_cli(run)
    assert exit_info.value.code == code
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def outputs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# 1. Non-finite or negative numbers are refused by the flags, inf clip norms are written as null.
@pytest.mark.parametrize(
    "flags",
    [
        ["--rec_lr", "nan"],
        ["--rec_lr", "-1"],
        ["--rec_lr", "0"],
        ["--tv", "-5"],
        ["--local_lr", "0"],
        ["--kl_weight", "nan"],
        ["--budget", "-5"],
        ["--fi_epochs", "-3"],
        ["--bins", "-5"],
        ["--noise_scale", "inf"],
        ["--seed", "-1"],
    ],
)
def test_bad_numbers_are_one_line(flags: list[str], capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    line = one_error(capsys, lambda: main_grad.main([*TINY, *flags, "--out_dir", str(tmp_path)]))
    assert line.startswith(f"error: argument {flags[0]}: {flags[1]} is not")
    assert outputs(tmp_path) == []


@pytest.mark.parametrize("flags", [["--lr", "nan"], ["--lr", "inf"], ["--weight_decay", "nan"], ["--lr_decay", "inf"]])
def test_bad_protocol_numbers_are_one_line(flags: list[str], capsys: pytest.CaptureFixture) -> None:
    assert one_error(capsys, lambda: main_fed.main([*FED, *flags])).startswith(f"error: argument {flags[0]}")


def test_an_infinite_clip_norm_is_null_in_strict_json_with_the_reason(tmp_path: Path) -> None:
    report = main_grad.main([*TINY, "--defense", "clip", "--clip_norm", "inf", "--out_dir", str(tmp_path)])
    written = json.loads(Path(report["grid"]).with_suffix(".json").read_text())
    assert written["defense"]["clip_norm"] is None
    assert written["non_finite"]["defense.clip_norm"].startswith("inf")


def test_a_tiny_noise_multiplier_reports_an_unbounded_epsilon() -> None:
    from fedprivacy.defenses.dpsgd import DPSGD

    assert DPSGD(1.0, 1e-300).privacy([(0.1, 5)])["epsilon"] is None


# 2. --overwrite replaces both files of a pair or neither.
def test_overwrite_that_fails_leaves_the_old_pair(tmp_path: Path) -> None:
    png, js = tmp_path / "r.png", tmp_path / "r.json"
    atomic.write_together({png: lambda p: p.write_text("old png"), js: lambda p: p.write_text("old json")})

    def broken(path: Path) -> None:
        path.write_text("half")
        raise ValueError("Out of range float values are not JSON compliant")

    with pytest.raises(ValueError):
        atomic.write_together({png: lambda p: p.write_text("new png"), js: broken})
    assert (png.read_text(), js.read_text()) == ("old png", "old json")
    assert outputs(tmp_path) == ["r.json", "r.png"]  # no temporary file left


def test_a_failed_rename_puts_the_old_pair_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    png, js = tmp_path / "r.png", tmp_path / "r.json"
    atomic.write_together({png: lambda p: p.write_text("old png"), js: lambda p: p.write_text("old json")})
    real_replace, calls = atomic.os.replace, []

    def flaky(source, target) -> None:
        calls.append(target)
        if Path(target) == js and Path(source).name.startswith(".r.partial"):
            raise OSError("disk full")
        real_replace(source, target)

    monkeypatch.setattr(atomic.os, "replace", flaky)
    with pytest.raises(atomic.WriteFailed, match="disk full"):
        atomic.write_together({png: lambda p: p.write_text("new png"), js: lambda p: p.write_text("new json")})
    assert (png.read_text(), js.read_text()) == ("old png", "old json")
    assert outputs(tmp_path) == ["r.json", "r.png"]


def test_overwrite_replaces_both_files(tmp_path: Path) -> None:
    flags = [*TINY, "--out_dir", str(tmp_path), "--overwrite"]
    first = main_grad.main(flags)
    second = main_grad.main([*flags, "--seed", "1"])
    assert first["grid"] == second["grid"]
    assert json.loads(Path(second["grid"]).with_suffix(".json").read_text())["args"]["seed"] == 1
    assert len(outputs(tmp_path)) == 2


# 3. --out_dir is checked before any work.
@pytest.mark.parametrize("where", ["file", "/proc/nope", "long", ""])
def test_an_unusable_out_dir_is_refused_before_the_run(
    where: str, capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = {"file": str(tmp_path / "f"), "long": str(tmp_path / ("a" * 300))}.get(where, where)
    (tmp_path / "f").write_text("")
    from fedprivacy.cli import grad

    monkeypatch.setattr(grad, "run", lambda args, checked: pytest.fail("the run started"))
    assert one_error(capsys, lambda: main_grad.main([*TINY, "--out_dir", target])).startswith("error: --out_dir")


# 4. Malformed data: one line naming the file; float pixels in [0, 1] kept as they are.
def save(path: Path, **arrays) -> str:
    np.savez(path, **arrays)
    return str(path)


IMAGES = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("arrays", "problem"),
    [
        ({"test_x": IMAGES}, "no 'test_y'"),
        ({"test_x": IMAGES[:, :, 0, 0], "test_y": np.arange(4)}, "shape"),
        ({"test_x": IMAGES.transpose(0, 3, 1, 2), "test_y": np.arange(4)}, "N,C,H,W"),
        ({"test_x": IMAGES, "test_y": np.arange(3)}, "3 labels for 4 images"),
        ({"test_x": IMAGES, "test_y": -np.arange(4)}, "labels must lie"),
        ({"test_x": IMAGES, "test_y": np.array(list("abcd"))}, "integer"),
        ({"test_x": IMAGES, "test_y": np.array([1, "a", None, 2], dtype=object)}, "pickle"),
        ({"test_x": IMAGES[:0], "test_y": np.arange(0)}, "empty"),
        ({"test_x": IMAGES, "test_y": np.array([0, 1, 2, 999999999])}, "labels must lie"),
        ({"test_x": IMAGES, "test_y": np.arange(4), "classes": np.array(["a", "b"])}, "'classes'"),
        ({"test_x": IMAGES.astype(np.float32), "test_y": np.arange(4)}, "[0, 1]"),
    ],
)
def test_a_malformed_npz_is_one_line(arrays: dict, problem: str, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    path = save(tmp_path / "bad.npz", **arrays)
    flags = [*TINY, "--dataset", "npz", "--base_data_dir", path, "--out_dir", str(tmp_path / "out")]
    line = one_error(capsys, lambda: main_grad.main(flags))
    assert line.startswith(f"error: --dataset npz: {path}") and problem in line


@pytest.mark.parametrize("content", ["text", "npy"])
def test_a_file_that_is_no_npz_is_one_line(content: str, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    if content == "text":
        path.write_text("hello")
    else:
        with path.open("wb") as handle:
            np.save(handle, IMAGES)
    flags = [*TINY, "--dataset", "npz", "--base_data_dir", str(path)]
    assert str(path) in one_error(capsys, lambda: main_grad.main(flags))


def test_float_pixels_in_the_unit_interval_are_not_divided_again(tmp_path: Path) -> None:
    from fedprivacy.data import load_split

    raw = save(tmp_path / "raw.npz", test_x=IMAGES, test_y=np.arange(4))
    unit = save(tmp_path / "unit.npz", test_x=IMAGES / 255.0, test_y=np.arange(4))
    a, b = load_split("npz", "test", raw).batch([0, 1, 2, 3])[0], load_split("npz", "test", unit).batch([0, 1, 2, 3])[0]
    assert torch.allclose(a, b) and float(b.max()) > 0.9


def image_folder(root: Path, classes: tuple[str, ...]) -> Path:
    for label, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(2):
            pixels = np.full((8, 8, 3), 40 * (label + 1) + 10 * i, dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def test_an_undecodable_image_names_the_file(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    root = image_folder(tmp_path / "folder", ("a", "b"))
    (root / "a" / "z.png").write_text("not an image")
    flags = [*TINY, "--dataset", "imagefolder", "--base_data_dir", str(root)]
    assert str(root / "a" / "z.png") in one_error(capsys, lambda: main_grad.main(flags))


def test_a_folder_with_only_train_is_not_one_class_named_train(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    image_folder(tmp_path / "folder" / "train", ("a", "b"))
    flags = [*TINY, "--dataset", "imagefolder", "--base_data_dir", str(tmp_path / "folder")]
    assert "has train/ but no test/" in one_error(capsys, lambda: main_grad.main(flags))


def test_a_single_class_gives_a_warning_not_a_perfect_score(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    root = image_folder(tmp_path / "folder", ("only",))
    flags = [*TINY, "--dataset", "imagefolder", "--base_data_dir", str(root), "--out_dir", str(tmp_path)]
    line = one_error(capsys, lambda: main_grad.main(flags), code=1)  # nothing could be attacked: a failed run
    assert line.startswith("error: every experiment failed (1 of 1 image(s) unscored)")
    (written,) = tmp_path.glob("*.json")
    report = json.loads(written.read_text())
    assert report["status"] == "failed" and "exactly zero" in report["summary"]["warnings"][0]
    assert report["summary"]["psnr"] is None
    assert report["summary"]["label_acc"] == 0.0 and report["experiments"][0]["status"] == "zero_gradient"


# 5. A federation whose global model turns non-finite stops in that round, marked failed, exit 1.
def test_a_federation_that_turns_nan_stops_and_is_marked_failed(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    flags = [*FED, "--lr", "1e10", "--out_dir", str(tmp_path)]
    line = one_error(capsys, lambda: main_fed.main(flags), code=1)
    assert line.startswith("error: round 1: the global model turned non-finite")
    (written,) = tmp_path.glob("*.json")
    report = json.loads(written.read_text())
    assert report["status"] == "failed" and report["rounds"] == [] and report["summary"]["final_accuracy"] is None


def test_a_federation_that_turns_nan_later_keeps_the_rounds_before(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    flags = [*FED, "--lr", "0.1", "--lr_decay", "1e12", "--out_dir", str(tmp_path)]
    assert one_error(capsys, lambda: main_fed.main(flags), code=1).startswith("error: round 2:")
    (written,) = tmp_path.glob("*.json")
    report = json.loads(written.read_text())
    assert report["status"] == "failed" and [r["round"] for r in report["rounds"]] == [1]
    assert report["summary"]["final_accuracy"] == report["rounds"][0]["accuracy"]


# 6. Other flags: --device, --pretrained, --image_size, --bins.
@pytest.mark.parametrize(
    ("flags", "names"),
    [
        (["--device", "nonsense"], "--device"),
        (["--device", "mps"], "--device"),
        (["--device", "meta"], "--device"),
        (["--image_size", "2"], "--image_size"),
        (["--image_size", "100000"], "--image_size"),
        (["--imprint", "--attack", "rtf", "--bins", "1000000000"], "--bins"),
        (["--model", "resnet20", "--image_size", "4"], "--model resnet20 cannot run on 3x4x4 images"),
    ],
)
def test_other_flags_are_one_line(flags: list[str], names: str, capsys: pytest.CaptureFixture) -> None:
    base = ["--model", "mlp", "--quiet"] if "--attack" in flags else TINY  # TINY's budget flag is idlg's
    assert names in one_error(capsys, lambda: main_grad.main([*base, *flags]))


def test_an_unavailable_cuda_device_is_one_line(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert "1 CUDA device" in one_error(capsys, lambda: main_grad.main([*TINY, "--device", "cuda:7"]))


@pytest.mark.parametrize(
    ("content", "problem"),
    [("junk", "not a torch checkpoint"), ("tensor", "holds a Tensor"), ("other", "missing key")],
)
def test_pretrained_says_what_is_wrong(
    content: str, problem: str, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    from fedprivacy.models import build_model

    path = tmp_path / "weights.th"
    if content == "junk":
        path.write_text("junk")
    elif content == "tensor":
        torch.save(torch.zeros(3), path)
    else:
        torch.save(build_model("lenet", 3, (32, 32), 10).state_dict(), path)
    line = one_error(capsys, lambda: main_grad.main([*TINY, "--pretrained", str(path)]))
    assert line.startswith(f"error: --pretrained {path}") and problem in line


# 7. Ctrl-C: one line, the finished experiments written marked interrupted, exit 130.
def test_ctrl_c_keeps_the_finished_experiments(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fedprivacy.attacks import idlg

    real, calls = idlg.run, []

    def interrupted_second(observation, config):
        calls.append(config.seed)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(observation, config)

    monkeypatch.setattr(idlg, "run", interrupted_second)
    line = one_error(capsys, lambda: main_grad.main([*TINY, "--num_exp", "3", "--out_dir", str(tmp_path)]), code=130)
    assert line.startswith("interrupted:")
    (written,) = tmp_path.glob("*.json")
    report = json.loads(written.read_text())
    assert report["interrupted"] is True and len(report["experiments"]) == 1
    assert len(outputs(tmp_path)) == 2


def test_ctrl_c_before_anything_finished_writes_nothing(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(*_args) -> None:
        raise KeyboardInterrupt

    from fedprivacy.cli import grad

    monkeypatch.setattr(grad, "build_cases", interrupt)
    line = one_error(capsys, lambda: main_grad.main([*TINY, "--out_dir", str(tmp_path)]), code=130)
    assert "nothing was written" in line and outputs(tmp_path) == []


def test_ctrl_c_in_a_federation_keeps_the_finished_rounds(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fedprivacy.fl import federation

    real, calls = federation.client_update, []

    def interrupted_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # round 2, first client (two clients a round)
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(federation, "client_update", interrupted_third)
    line = one_error(capsys, lambda: main_fed.main([*FED, "--out_dir", str(tmp_path)]), code=130)
    assert line.startswith("interrupted:")
    (written,) = tmp_path.glob("*.json")
    report = json.loads(written.read_text())
    assert report["interrupted"] is True and [r["round"] for r in report["rounds"]] == [1]
