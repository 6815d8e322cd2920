"""main_fed.py --engine flower runs the same federation loop as --engine local, with Flower's Simulation Engine
as the transport (one Ray start for this module): over 2 rounds of 4 clients the global model after every
round and the attack's PSNR agree, and the outputs get the same name. Bad engine flags are one line before
any work."""

import importlib.util
import json
import os
from pathlib import Path

import pytest
import torch

pytest.importorskip("flwr")

import fedprivacy.fl.federation as federation  # noqa: E402
import main_fed  # noqa: E402
from fedprivacy.cli.common import run_cli  # noqa: E402

FLAGS = [
    "--num_rounds", "2", "--total_clients", "4", "--C", "0.5", "--local_epochs", "2", "--batch_size", "8",
    "--lr", "0.1", "--client_momentum", "0.5", "--attack", "ig_multi", "--rec_batch_size", "2",
    "--rec_epochs", "10", "--seed", "3", "--quiet", "--device", "cpu", "--attack_rounds", "all", "--victim_images", "2",
]  # fmt: skip


def spy_on_global_models(monkeypatch, module) -> list[dict]:
    """Record the global model each time the server evaluates it (before round 1 and after each round)."""
    seen, real = [], module.accuracy

    def accuracy(model, images, labels):
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return real(model, images, labels)

    monkeypatch.setattr(module, "accuracy", accuracy)
    return seen


def test_the_flower_engine_matches_the_local_engine(tmp_path: Path, monkeypatch) -> None:
    out = ["--out_dir", str(tmp_path)]
    seen = spy_on_global_models(monkeypatch, federation)  # the one loop both engines run
    local = main_fed.main([*FLAGS, *out])
    local_models, seen[:] = list(seen), []
    remote = main_fed.main([*FLAGS, *out, "--engine", "flower"])
    flower_models = seen
    assert len(local_models) == len(flower_models) == 3
    for ours, theirs in zip(local_models, flower_models, strict=True):
        assert max(float((ours[k] - theirs[k]).abs().max()) for k in ours) < 1e-6
    assert [r["clients"] for r in remote["rounds"]] == [r["clients"] for r in local["rounds"]]
    assert remote["case_rounds"] == local["case_rounds"] == [1, 2]
    assert abs(remote["summary"]["psnr"] - local["summary"]["psnr"]) < 0.1
    for a, b in zip(remote["per_image"], local["per_image"], strict=True):
        assert abs(a["psnr"] - b["psnr"]) < 0.1 and a["label"] == b["label"]
    assert Path(remote["grid"]).stem == Path(local["grid"]).stem + "_run2"
    assert json.loads(Path(remote["grid"]).with_suffix(".json").read_text())["args"]["engine"] == "flower"


def one_line(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as stopped:
        run_cli(lambda: main_fed.main(argv))
    assert stopped.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    return line


def test_more_cpus_per_client_than_the_machine_has_is_one_line(capsys) -> None:
    cpus = os.cpu_count() or 1
    line = one_line([*FLAGS, "--engine", "flower", "--client_cpus", str(cpus + 1)], capsys)
    assert line == f"error: --client_cpus {cpus + 1}: this machine has {cpus} CPUs for Ray's clients"


def test_more_gpus_per_client_than_the_machine_has_is_one_line(capsys) -> None:
    gpus = torch.cuda.device_count()
    line = one_line([*FLAGS, "--engine", "flower", "--client_gpus", str(gpus + 1)], capsys)
    assert line == f"error: --client_gpus {gpus + 1}: this machine has {gpus} CUDA GPUs for Ray's clients"


def test_a_ray_cluster_that_does_not_answer_is_one_line(capsys) -> None:
    line = one_line([*FLAGS, "--engine", "flower", "--ray_address", "127.0.0.1:1"], capsys)
    assert line.startswith("error: --ray_address 127.0.0.1:1: no Ray cluster answers there (")


def test_the_flower_engine_without_flwr_names_the_install_command(capsys, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    line = one_line([*FLAGS, "--engine", "flower"], capsys)
    assert line == (
        "error: --engine flower needs the Flower extra (ray is not installed): pip install -r requirements-flower.txt"
    )
