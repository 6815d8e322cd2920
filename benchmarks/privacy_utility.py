"""The audit's privacy-utility picture: per defense and strength, the best attack's leakage against the FedAvg
test accuracy the defense leaves (benchmarks/audit/privacy_utility.png, drawn from the audit's cells alone)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import ConnectionPatch  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

MARKERS = {  # defense -> (marker, colour)
    "none": ("*", "black"),
    "gaussian": ("o", "tab:blue"),
    "laplacian": ("s", "tab:cyan"),
    "clip": ("^", "tab:green"),
    "dpsgd": ("D", "tab:purple"),
    "prune": ("v", "tab:orange"),
    "soteria": ("P", "tab:brown"),
    "secagg": ("X", "tab:red"),
}


@dataclass(frozen=True)
class Point:
    """One defense at one strength: the FedAvg accuracy it leaves (None: not recorded), DP-SGD's epsilon, and the
    best attack by mean PSNR and by mean SSIM (name, value), with that attack's share recognisable if recorded."""

    defense: str
    strength: str
    accuracy: float | None
    epsilon: float | None
    by_psnr: tuple[str, float] | None
    by_ssim: tuple[str, float] | None
    recognisable: float | None


def points(cells: Mapping[str, Mapping[str, dict | None]], columns: Sequence, rows: Sequence[str]) -> list[Point]:
    """Every column of the audit as a Point (`columns`: the audit's Columns; `rows`: its attack rows)."""
    found = []
    for column in columns:
        fed = cells.get("fedavg", {}).get(column.key)
        fed = fed if fed and fed.get("status") == "ok" else None
        scored = [(name, cells[name][column.key]) for name in rows if cells.get(name, {}).get(column.key)]
        scored = [(name, cell) for name, cell in scored if cell["status"] == "ok"]
        best_psnr = max(scored, key=lambda pair: pair[1]["psnr"], default=None)
        best_ssim = max(scored, key=lambda pair: pair[1]["ssim"], default=None)
        found.append(
            Point(
                column.defense,
                column.strength,
                None if fed is None else fed["final_accuracy"],
                None if fed is None else fed.get("epsilon"),
                None if best_psnr is None else (best_psnr[0], best_psnr[1]["psnr"]),
                None if best_ssim is None else (best_ssim[0], best_ssim[1]["ssim"]),
                None if best_ssim is None else best_ssim[1].get("recognisable"),
            )
        )
    return found


def label(point: Point, attack: str, share: bool) -> str:
    """A point's caption: strength, DP-SGD's epsilon, the best attack (and its share recognisable)."""
    strength = f"{point.defense} {point.strength} " if point.strength else f"{point.defense} "
    epsilon = f"eps {point.epsilon:.3g} " if point.epsilon is not None else ""
    recognised = f" {point.recognisable:.0%} rec." if share and point.recognisable is not None else ""
    return f"{strength}{epsilon}({attack}{recognised})"


def privacy_utility_figure(found: Sequence[Point], setting: str) -> Figure:
    """Two panels sharing the accuracy axis: the best attack's mean PSNR, and its mean SSIM (with the share of
    images recognisable where the cell records it); a point whose accuracy was not recorded is drawn
    in a strip left of the axis that says so."""
    known = [p.accuracy for p in found if p.accuracy is not None]
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    margin = max(0.02, 0.08 * (high - low))
    unknown_x = low - 2.5 * margin
    figure, axes = plt.subplots(1, 2, figsize=(15, 6.2))
    for axis, which, title in (
        (axes[0], "by_psnr", "best attack's mean PSNR (dB)"),
        (axes[1], "by_ssim", "best attack's mean SSIM"),
    ):
        placed = []  # (x, value, caption) of every point, captioned in a column right of the panel
        for defense in MARKERS:
            members = [p for p in found if p.defense == defense and getattr(p, which) is not None]
            for p in members:
                attack, value = getattr(p, which)
                x = unknown_x if p.accuracy is None else p.accuracy
                marker, colour = MARKERS[defense]
                size = 140 if defense in ("secagg", "none") else 45
                axis.scatter(x, value, marker=marker, color=colour, s=size, edgecolor="black", linewidth=0.4,
                             label=defense if p is members[0] else None, zorder=4 if size > 45 else 3)  # fmt: skip
                placed.append((x, value, label(p, attack, which == "by_ssim")))
        top, bottom = (95.0, 0.0) if which == "by_psnr" else (1.05, 0.0)
        axis.set_ylim(bottom, top)
        captions_column(axis, placed, (top - bottom) / 36)
        if any(p.accuracy is None for p in found):
            axis.axvspan(unknown_x - margin, unknown_x + margin, color="0.92", zorder=0)
            axis.text(unknown_x, 0.02, "FedAvg accuracy\nnot recorded", transform=axis.get_xaxis_transform(),
                      ha="center", fontsize=6)  # fmt: skip
        axis.set_xlim(unknown_x - margin, high + 3 * margin)
        axis.set_xlabel("FedAvg test accuracy the defense leaves")
        axis.set_ylabel(title)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    figure.suptitle(
        "Privacy against utility: for each defense and strength, the best attack's leakage against the accuracy "
        f"FedAvg keeps (lower right is best: little leakage, accuracy kept). {setting}",
        fontsize=8,
        wrap=True,
    )
    figure.subplots_adjust(left=0.05, right=0.86, top=0.86, bottom=0.09, wspace=0.62)
    return figure


def captions_column(axis, placed: list[tuple[float, float, str]], gap: float) -> None:
    """Each point's caption in a column just right of `axis`, at the point's height where it can be: at least
    `gap` (data units, less if the column needs it) from its neighbours and within the axis's height; a thin line
    joins each caption to its point."""
    ordered = sorted(placed, key=lambda item: -item[1])
    low, high = axis.get_ylim()
    gap = min(gap, (high - low) / max(1, len(ordered)))
    heights: list[float] = []
    for _, value, _ in ordered:  # down from the top: no caption closer than gap below the one above
        heights.append(min(value, high - gap / 2) if not heights else min(value, heights[-1] - gap))
    for index in range(len(heights) - 1, -1, -1):  # up from the bottom: none below the axis
        floor = low + gap / 2 if index == len(heights) - 1 else heights[index + 1] + gap
        heights[index] = max(heights[index], floor)
    column = blended_transform_factory(axis.transAxes, axis.transData)
    for (x, value, text), height in zip(ordered, heights, strict=True):
        axis.text(1.03, height, text, transform=column, fontsize=5.5, va="center", clip_on=False)
        line = ConnectionPatch((x, value), (1.025, height), axis.transData, column, color="0.6", linewidth=0.4)
        axis.add_artist(line)


def write_privacy_utility(found: Sequence[Point], setting: str, path) -> None:
    """The picture of `found` with `setting`'s words, saved to `path`."""
    figure = privacy_utility_figure(found, setting)
    figure.savefig(path, dpi=120)
    plt.close(figure)
