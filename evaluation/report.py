"""Outputs of a run: the PNG grid, the metrics JSON, the one-line summary; never silent overwrites."""

import hashlib
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from fedprivacy.defenses import Defense  # noqa: E402
from fedprivacy.utils import strict_json  # noqa: E402

COLUMNS = 10
MAX_STEM = 180  # file names stay under the usual 255-byte limit with a run number, suffixes and temporary marks


def output_paths(out_dir: str | Path, stem: str, overwrite: bool) -> tuple[Path, Path]:
    """PNG and JSON paths for `stem` (a long stem is cut and given a hash of the whole); an existing result
    gets a numbered sibling unless `overwrite`."""
    out_dir = Path(out_dir)
    if len(stem.encode()) > MAX_STEM:
        stem = f"{stem.encode()[: MAX_STEM - 9].decode(errors='ignore')}_{hashlib.sha1(stem.encode()).hexdigest()[:8]}"
    out_dir.mkdir(parents=True, exist_ok=True)
    candidate, run = stem, 1
    while not overwrite and ((out_dir / f"{candidate}.png").exists() or (out_dir / f"{candidate}.json").exists()):
        run += 1
        candidate = f"{stem}_run{run}"
    return out_dir / f"{candidate}.png", out_dir / f"{candidate}.json"


def save_grid(truth: torch.Tensor, reconstructed: torch.Tensor, captions: list[str], path: Path) -> None:
    """Ground truth above its paired reconstruction (both [0, 1], N C H W), a caption under each pair."""
    count = len(truth)
    columns = min(COLUMNS, count)
    blocks = math.ceil(count / columns)
    figure, axes = plt.subplots(2 * blocks, columns, figsize=(1.3 * columns, 2.9 * blocks), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for index in range(count):
        block, column = divmod(index, columns)
        for row, images in enumerate((truth, reconstructed)):
            picture = images[index].permute(1, 2, 0).numpy()
            axes[2 * block + row, column].imshow(
                picture.squeeze(-1) if picture.shape[-1] == 1 else picture, cmap="gray", vmin=0, vmax=1
            )
        axes[2 * block + 1, column].set_title(captions[index], fontsize=7, y=-0.28)
    axes[0, 0].set_title("truth", fontsize=7, loc="left")
    axes[1, 0].set_title("attack", fontsize=7, loc="left")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def save_curve(values: list[float], path: Path, ylabel: str, title: str) -> None:
    """A line plot of one value per round, rounds counted from 0 (e.g. test accuracy of FedAvg)."""
    figure, axis = plt.subplots(figsize=(4.5, 3))
    axis.plot(range(len(values)), values, marker="o", markersize=3)
    axis.set_xlabel("round")
    axis.set_ylabel(ylabel)
    axis.set_title(title, fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_json(path: Path, payload: dict) -> None:
    path.write_text(strict_json.dumps(payload))


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def summary_line(attack: str, summary: dict, png: Path) -> str:
    """attack | PSNR | SSIM | label accuracy | seconds | where the grid is."""
    label = fmt(None if summary["label_acc"] is None else 100 * summary["label_acc"], ".1f")
    failed = f" | {summary['failed']} failed" if summary.get("failed") else ""
    warnings = summary.get("warnings", [])
    warned = (
        f" | warning: {warnings[0]}{f' (+{len(warnings) - 1} more)' if len(warnings) > 1 else ''}" if warnings else ""
    )
    return (
        f"{attack} | PSNR {fmt(summary['psnr'], '.2f')} dB | SSIM {fmt(summary['ssim'], '.3f')} | "
        f"label acc {label}% | {summary['seconds']:.1f} s{failed}{warned} | {png}"
    )


def mark_failed(report: dict, summary: dict) -> str | None:
    """When no image of any experiment could be scored (each diverged, or had nothing to invert), mark the
    report failed and return why (the entry script then exits non-zero); else None."""
    if summary["images"] == 0 or summary["failed"] < summary["images"]:
        return None
    report["status"] = "failed"
    report["error"] = f"every experiment failed ({summary['failed']} of {summary['images']} image(s) unscored)"
    return report["error"]


def attack_label(attack: str, defense: Defense) -> str:
    """The attack's name for summary lines, with the defense it faced (if any)."""
    return attack if defense.name == "none" else f"{attack} vs {defense.label()}"
