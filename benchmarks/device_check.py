"""The GPU check (benchmarks/device_check.sh): every attack, the batch label strategies, a defense and a FedAvg
run once on the device with small budgets, and their table in markdown.

Each run writes its JSON report into its own folder under OUT; the table gives the command, its seconds, the
mean PSNR and label accuracy from that report (or the first line of the error), and its exit status. Runs
that would pass the total deadline (DEADLINE seconds by default) are not started and say so.
"""

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

DEADLINE = 420.0  # seconds for all runs, under the 8 minutes the check is given
RUN_LIMIT = 150.0  # seconds one run may take
GENERATOR = "ggl_digits.pt"  # the tiny GGL generator trained first, in OUT

ONE = ["--num_exp", "1"]
CIFAR = ["--dataset", "cifar10_sample", *ONE]
CASES: list[tuple[str, list[str]]] = [
    ("dlg", ["main_grad.py", "--attack", "dlg", "--model", "lenet", *CIFAR, "--rec_epochs", "10"]),
    ("idlg", ["main_grad.py", "--attack", "idlg", "--model", "lenet", *CIFAR, "--rec_epochs", "10"]),
    ("ig_single", ["main_grad.py", "--attack", "ig_single", "--model", "resnet20", *CIFAR, "--rec_epochs", "50"]),
    (
        "ig_single, batch 4, count labels",
        ["main_grad.py", "--attack", "ig_single", "--model", "lenet5", *CIFAR, "--rec_batch_size", "4"]
        + ["--label_strategy", "count", "--rec_epochs", "100"],
    ),
    (
        "idlg, batch 4, llg labels",
        ["main_grad.py", "--attack", "idlg", "--model", "lenet5", *CIFAR, "--rec_batch_size", "4"]
        + ["--label_strategy", "llg", "--rec_epochs", "10"],
    ),
    (
        "ig_single, batch 4, ilrg labels",
        ["main_grad.py", "--attack", "ig_single", "--model", "lenet5", *CIFAR, "--rec_batch_size", "4"]
        + ["--label_strategy", "ilrg", "--rec_epochs", "100"],
    ),
    (
        "ig_weight",
        ["main_grad.py", "--attack", "ig_weight", "--model", "lenet5", *CIFAR, "--rec_batch_size", "2"]
        + ["--local_steps", "2", "--local_lr", "0.1", "--rec_epochs", "100"],
    ),
    (
        "ig_multi",
        ["main_grad.py", "--attack", "ig_multi", "--model", "lenet5", *CIFAR, "--rec_batch_size", "4"]
        + ["--local_epochs", "1", "--local_batch_size", "2", "--local_lr", "0.1", "--rec_epochs", "100"],
    ),
    ("grnn", ["main_grad.py", "--attack", "grnn", "--model", "lenet", *CIFAR, "--rec_epochs", "100"]),
    (
        "ggl",
        ["main_grad.py", "--attack", "ggl", "--model", "lenet", "--dataset", "digits", *ONE]
        + ["--generator", "{out}/" + GENERATOR, "--budget", "200"],
    ),
    (
        "cpa",
        ["main_grad.py", "--attack", "cpa", "--model", "fc2", *CIFAR, "--rec_batch_size", "4", "--rec_epochs", "100"],
    ),
    (
        "cpa, feature inversion",
        ["main_grad.py", "--attack", "cpa", "--model", "cnn", "--dataset", "digits", *ONE, "--rec_batch_size", "4"]
        + ["--rec_epochs", "100", "--fi_epochs", "50"],
    ),
    (
        "rtf",
        ["main_grad.py", "--attack", "rtf", "--model", "cnn", "--imprint", "--bins", "64", *CIFAR]
        + ["--rec_batch_size", "4"],
    ),
    (
        "ig_single, soteria defense",
        ["main_grad.py", "--attack", "ig_single", "--model", "lenet5", *CIFAR, "--defense", "soteria"]
        + ["--prune_ratio", "0.5", "--rec_epochs", "100"],
    ),
    (
        "main_fed rtf",
        ["main_fed.py", "--attack", "rtf", "--model", "cnn", "--imprint", "--bins", "64", "--dataset", "digits"]
        + ["--normalize", "--num_rounds", "1", "--victim_images", "16", "--rec_batch_size", "16"],
    ),
    (
        "main_fed ig_multi, dpsgd defense",
        ["main_fed.py", "--attack", "ig_multi", "--model", "lenet", "--dataset", "digits", "--num_rounds", "1"]
        + ["--victim_images", "2", "--rec_batch_size", "2", "--rec_epochs", "100"]
        + ["--defense", "dpsgd", "--clip_norm", "1", "--noise_multiplier", "0.1"],
    ),
]
TRAIN_GENERATOR = ["-m", "fedprivacy.cli.train_generator", "--dataset", "digits", "--loss", "dcgan", "--steps", "100"]


def outcome(folder: Path) -> str:
    """Mean PSNR and label accuracy from the run's JSON report, or what is missing."""
    reports = sorted(folder.glob("*.json"))
    if not reports:
        return "no report"
    summary = json.loads(reports[-1].read_text()).get("summary", {})
    if summary.get("psnr") is None:
        return f"no PSNR ({summary.get('failed', '?')} failed)"
    return f"{summary['psnr']:.2f} dB, labels {100 * summary.get('label_acc', 0):.0f}%"


def first_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else "no output")[:120]


def run(command: list[str], folder: Path, python: str, started: float, deadline: float) -> tuple[float, str, str]:
    """Run one command with a time limit (never past the deadline); seconds, outcome, exit status."""
    left = deadline - (time.perf_counter() - started)
    if left < 10:
        return 0.0, "not run: out of time", "-"
    folder.mkdir(parents=True, exist_ok=True)
    begin = time.perf_counter()
    try:
        done = subprocess.run([python, *command], capture_output=True, text=True, timeout=min(RUN_LIMIT, left))
    except subprocess.TimeoutExpired:
        return time.perf_counter() - begin, "timed out", "timeout"
    seconds = time.perf_counter() - begin
    if done.returncode != 0:
        return seconds, first_error(done.stderr or done.stdout), str(done.returncode)
    return seconds, outcome(folder), "0"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N (or cpu, to test the check itself)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the runs' reports and the generator")
    parser.add_argument("--table", type=Path, required=True, help="markdown file the table is written to")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--deadline", type=float, default=DEADLINE, help="seconds for all runs together")
    args = parser.parse_args(argv)
    common = ["--device", args.device, "--quiet", "--overwrite"]
    started = time.perf_counter()
    rows = []
    generator = [*TRAIN_GENERATOR, "--out", str(args.out / GENERATOR), *common[:3]]
    seconds, _, status = run(generator, args.out, args.python, started, args.deadline)
    rows.append(("ggl generator (DCGAN, 100 steps)", generator, seconds, "trained" if status == "0" else "", status))
    for name, flags in CASES:
        command = [flag.replace("{out}", str(args.out)) for flag in flags]
        folder = args.out / name.replace(", ", "_").replace(" ", "_")
        command += [*common, "--out_dir", str(folder)]
        rows.append((name, command, *run(command, folder, args.python, started, args.deadline)))
        print(f"{name}: {rows[-1][3]} ({rows[-1][2]:.1f} s, exit {rows[-1][4]})", flush=True)
    total = time.perf_counter() - started
    lines = [
        f"# Device check on {args.device}: {device_name(args.device, args.python)}",
        "",
        f"Written by benchmarks/device_check.sh in {total:.0f} s. Each run: small budgets, not a benchmark of quality.",
        "",
        "| attack | command | seconds | outcome | exit |",
        "|---|---|---:|---|---|",
    ]
    for name, command, seconds, result, status in rows:
        shown = shlex.join(["python", *command]).replace(str(args.out), "$OUT")
        lines.append(f"| {cell(name)} | `{cell(shown)}` | {seconds:.1f} | {cell(result)} | {status} |")
    args.table.write_text("\n".join(lines) + "\n")
    print(f"table: {args.table} ({total:.0f} s)")
    return 0 if all(row[4] == "0" for row in rows) else 1


def device_name(device: str, python: str) -> str:
    """The device's name as torch reports it (in the runs' interpreter)."""
    probe = "import sys, torch; d = sys.argv[1]; print(torch.cuda.get_device_name(d) if d != 'cpu' else 'the CPU')"
    done = subprocess.run([python, "-c", probe, device], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
