"""Outputs of a run: the PNG grid, the metrics JSON, the one-line summary; never silent overwrites."""

import hashlib
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from fedprivacy.defenses import Defense  # noqa: E402
from fedprivacy.utils import claims, strict_json  # noqa: E402

COLUMNS = 10
MAX_STEM = 180  # file names stay under the usual 255-byte limit with a run number, suffixes and temporary marks


def output_paths(
    out_dir: str | Path, stem: str, overwrite: bool, also: tuple[str, ...] = (), claim: bool = True
) -> tuple[Path, Path]:
    """PNG and JSON paths for `stem` (a long stem is cut and given a hash of the whole). The name is claimed
    in `out_dir` for this run (utils/claims.py): an existing result, or one another run is writing, gets a
    numbered sibling unless `overwrite`; `also` lists the other suffixes the result writes (e.g.
    "_accuracy.png"). Without `claim` nothing is reserved: the name a run would write now (--dry_run)."""
    out_dir = Path(out_dir)
    if len(stem.encode()) > MAX_STEM:
        stem = f"{stem.encode()[: MAX_STEM - 9].decode(errors='ignore')}_{hashlib.sha1(stem.encode()).hexdigest()[:8]}"
    if claim:
        out_dir.mkdir(parents=True, exist_ok=True)
    name = claims.claim_name(out_dir, stem, (".png", ".json", *also), overwrite, reserve=claim)
    return out_dir / f"{name}.png", out_dir / f"{name}.json"


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


def verdict_words(verdicts: dict[str, int]) -> str:
    """'verdict recovered' for one experiment, 'verdicts 3 recovered, 1 not_converged' for several."""
    if sum(verdicts.values()) == 1:
        return f"verdict {next(iter(verdicts))}"
    return "verdicts " + ", ".join(f"{count} {name}" for name, count in verdicts.items())


def summary_line(attack: str, summary: dict, png: Path) -> str:
    """attack | PSNR | SSIM | label accuracy | verdicts | seconds | where the grid is."""
    label = fmt(None if summary["label_acc"] is None else 100 * summary["label_acc"], ".1f")
    failed = f" | {summary['failed']} failed" if summary.get("failed") else ""
    warnings = summary.get("warnings", [])
    warned = (
        f" | warning: {warnings[0]}{f' (+{len(warnings) - 1} more)' if len(warnings) > 1 else ''}" if warnings else ""
    )
    verdicts = f" | {verdict_words(summary['verdicts'])}" if summary.get("verdicts") else ""
    return (
        f"{attack} | PSNR {fmt(summary['psnr'], '.2f')} dB | SSIM {fmt(summary['ssim'], '.3f')} | "
        f"label acc {label}%{verdicts} | {summary['seconds']:.1f} s{failed}{warned} | {png}"
    )


def attack_label(attack: str, defense: Defense) -> str:
    """The attack's name for summary lines, with the defense it faced (if any)."""
    return attack if defense.name == "none" else f"{attack} vs {defense.label()}"
