"""Outputs of a run: the PNG grid, the metrics JSON, the one-line summary; never silent overwrites."""

import hashlib
import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from fedprivacy.defenses import Defense  # noqa: E402
from fedprivacy.utils import claims, strict_json  # noqa: E402

COLUMNS = 10
CHARS_PER_INCH = 13  # characters of an 8-point title per inch of figure width, with a margin
MIN_TITLED_WIDTH = 3.2  # inches: a grid of one or two pairs is widened so its title fits in a few lines
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


def grid_figure(
    truth: torch.Tensor, reconstructed: torch.Tensor, captions: list[str], title: str | None = None
) -> Figure:
    """Ground truth above its paired reconstruction (both [0, 1], N C H W), a caption under each pair, blocks of
    COLUMNS pairs, each block's two rows labelled."""
    count = len(truth)
    columns = min(COLUMNS, count)
    blocks = math.ceil(count / columns)
    width = max(1.3 * columns + 0.4, MIN_TITLED_WIDTH if title else 0)
    heading = wrapped(title, width) if title else []
    height = 2.9 * blocks + 0.15 * len(heading)
    figure, axes = plt.subplots(2 * blocks, columns, figsize=(width, height), squeeze=False, layout="constrained")
    for axis in axes.flat:
        axis.axis("off")
    for index in range(count):
        block, column = divmod(index, columns)
        for row, images in enumerate((truth, reconstructed)):
            axis = axes[2 * block + row, column]
            show_image(axis, images[index])
            bare(axis)
        axes[2 * block + 1, column].set_xlabel(captions[index], fontsize=7, labelpad=2)
    for block in range(blocks):
        axes[2 * block, 0].set_ylabel("truth", fontsize=7)
        axes[2 * block + 1, 0].set_ylabel("attack", fontsize=7)
    if heading:
        figure.suptitle("\n".join(heading), fontsize=8)
    return figure


def wrapped(text: str, inches: float) -> list[str]:
    """The lines of `text` (its own line breaks kept) wrapped to fit a figure `inches` wide at 8 points."""
    return [line for part in text.split("\n") for line in textwrap.wrap(part, int(CHARS_PER_INCH * inches))]


def show_image(axis: Axes, image: torch.Tensor) -> None:
    """One image ([0, 1], C H W) on `axis`: colour as is, one channel in grey."""
    picture = image.permute(1, 2, 0).numpy()
    axis.imshow(picture.squeeze(-1) if picture.shape[-1] == 1 else picture, cmap="gray", vmin=0, vmax=1)


def bare(axis: Axes) -> None:
    """An image axis without ticks or frame that keeps its labels (axis('off') would hide them)."""
    axis.set_axis_on()
    axis.set_xticks([]), axis.set_yticks([])
    for spine in axis.spines.values():
        spine.set_visible(False)


def save_grid(
    truth: torch.Tensor, reconstructed: torch.Tensor, captions: list[str], path: Path, title: str | None = None
) -> None:
    """grid_figure written to `path` as PNG."""
    save_figure(grid_figure(truth, reconstructed, captions, title), path)


def curve_figure(values: list[float], ylabel: str, title: str) -> Figure:
    """One accuracy per round, rounds counted from 0 (the initial model): whole rounds on the x axis, the full
    0-1 range on the y axis, so that noise around chance does not look like a trend."""
    figure, axis = plt.subplots(figsize=(4.5, 3))
    axis.plot(range(len(values)), values, marker="o", markersize=3)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_ylim(0, 1)
    axis.set_xlabel("round")
    axis.set_ylabel(ylabel)
    axis.set_title("\n".join(wrapped(title, 4.5)), fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def save_curve(values: list[float], path: Path, ylabel: str, title: str) -> None:
    """curve_figure written to `path` as PNG."""
    save_figure(curve_figure(values, ylabel, title), path)


def save_figure(figure: Figure, path: Path) -> None:
    figure.savefig(path, dpi=120)
    plt.close(figure)


def grid_title(report: dict) -> str:
    """What a run's grid shows, from its flags: the attack, the model and data, and how to read it."""
    args = report["args"]
    where = "a client's update in FedAvg" if "rounds" in report else "one gradient per batch"
    return (
        f"{args['attack']} on {where}: {args['model']}, {args['dataset']}; "
        "each truth image above its reconstruction, PSNR below"
    )


def curve_title(report: dict) -> str:
    """What a federation's accuracy plot shows, from its flags."""
    args = report["args"]
    return (
        f"FedAvg test accuracy per round (0: the initial model)\n{args['model']} on {args['dataset']}, "
        f"{args['total_clients']} clients, {args['client.epochs']} local epoch(s) at batch {args['client.batch_size']}"
    )


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


CHANCE_MARGIN = 0.05  # a federation within 5 points of always guessing the commonest class has learnt nothing


def federation_notes(report: dict) -> list[str]:
    """What a federation's numbers mean, for its summary line and JSON: a warning when its test accuracy is at
    chance, and that the attacked client was the realistic one (where, when no experiment's verdict is
    'recovered', failure is the expected outcome rather than a fault)."""
    summary, notes = report["summary"], []
    final, chance = summary.get("final_accuracy"), summary.get("chance_accuracy")
    if final is not None and chance is not None and final < chance + CHANCE_MARGIN:
        notes.append(
            f"warning: test accuracy {100 * final:.1f}% is chance level (always guessing the commonest class scores "
            f"{100 * chance:.1f}%): the federation has not learnt; try more --num_rounds or another --client.lr"
        )
    held = sorted({len(e["dataset_indices"]) for e in report.get("experiments", []) if "dataset_indices" in e})
    if report.get("scenario", {}).get("name") == "full_client" and held:
        args = report["args"]
        steps = sorted({args["client.epochs"] * math.ceil(count / args["client.batch_size"]) for count in held})
        images, local_steps = ("-".join(map(str, sorted({values[0], values[-1]}))) for values in (held, steps))
        failed = not summary.get("verdicts", {}).get("recovered")  # no experiment's verdict: recovered
        notes.append(
            f"a realistic client (it trained on all its {images} images, {local_steps} local steps)"
            + (": failure is the expected outcome here, not a fault" if failed else "")
            + "; --victim_images 1 attacks a client holding one image"
        )
    return notes


def with_notes(line: str, notes: list[str]) -> str:
    """A summary line followed by its notes."""
    return " | ".join([line, *notes])


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
