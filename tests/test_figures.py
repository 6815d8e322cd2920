"""Figures people can read: one of each kind (a run's grid in one and in two blocks, a federation's accuracy
curve, the audit picture) is rendered, and every piece of text must lie inside the canvas, clear of every other
text and of every other picture; every row of a grid is labelled."""

import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from benchmarks import audit  # noqa: E402
from benchmarks.privacy_utility import points, privacy_utility_figure  # noqa: E402
from fedprivacy.evaluation.report import curve_figure, curve_title, grid_figure, grid_title  # noqa: E402

TOLERANCE = 1.0  # pixels


def overlap(a, b) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > TOLERANCE and min(a.y1, b.y1) - max(a.y0, b.y0) > TOLERANCE


def text_problems(figure: Figure) -> list[str]:
    """Every visible text that leaves the canvas, overlaps another text, or covers a picture it does not label."""
    renderer = figure.canvas.get_renderer()
    figure.canvas.draw()
    canvas = figure.bbox
    hidden = {id(label) for axis in figure.axes for label in off_view_tick_labels(axis)}
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in hidden]
    boxes = [(t, t.get_window_extent(renderer)) for t in texts]
    pictures = [axis for axis in figure.axes if axis.images]
    problems = []
    for index, (text, box) in enumerate(boxes):
        name = repr(text.get_text())
        if min(box.x0, box.y0) < -TOLERANCE or box.x1 > canvas.x1 + TOLERANCE or box.y1 > canvas.y1 + TOLERANCE:
            problems.append(f"{name} leaves the canvas")
        problems += [f"{name} overlaps {other.get_text()!r}" for other, b in boxes[index + 1 :] if overlap(box, b)]
        owner = text.axes or getattr(text, "_owner", None)
        problems += [
            f"{name} covers another picture" for axis in pictures if axis is not owner and overlap(box, axis.bbox)
        ]
    return problems


def off_view_tick_labels(axis) -> list[Text]:
    """Tick labels matplotlib keeps but does not draw: at ticks outside the axis's view, or of an axis turned off."""
    if not axis.axison:
        return [*axis.get_xticklabels(), *axis.get_yticklabels(), axis.xaxis.label, axis.yaxis.label]
    (x0, x1), (y0, y1) = sorted(axis.get_xlim()), sorted(axis.get_ylim())
    return [
        *(t for t in axis.get_xticklabels() if not x0 <= t.get_position()[0] <= x1),
        *(t for t in axis.get_yticklabels() if not y0 <= t.get_position()[1] <= y1),
    ]


def owned(figure: Figure) -> Figure:
    """Mark each axis label and title with its axis (labels are not children of `Text.axes`)."""
    for axis in figure.axes:
        for text in (axis.xaxis.label, axis.yaxis.label, axis.title, axis._left_title, axis._right_title):
            text._owner = axis
    return figure


def images(count: int, channels: int = 3, size: int = 32) -> torch.Tensor:
    return torch.rand((count, channels, size, size), generator=torch.Generator().manual_seed(count))


GRAD = {"args": {"attack": "idlg", "model": "lenet", "dataset": "cifar10_sample"}}
FED = {
    "args": {**GRAD["args"], "dataset": "digits", "total_clients": 10, "client.epochs": 1, "client.batch_size": 10},
    "rounds": [],
}


@pytest.mark.parametrize(("count", "report"), [(2, FED), (4, GRAD), (13, GRAD)])
def test_a_grid_keeps_its_text_inside_and_labels_every_row(count: int, report: dict) -> None:
    captions = [f"r{i} {10 + 3.3 * i:.1f} dB" for i in range(count)]
    figure = owned(grid_figure(images(count), images(count), captions, grid_title(report)))
    assert text_problems(figure) == []
    labels = [axis.get_ylabel() for axis in figure.axes if axis.get_ylabel()]
    assert labels == ["truth", "attack"] * -(-count // 10)
    assert "reconstruction" in figure._suptitle.get_text()


def test_an_accuracy_curve_has_whole_rounds_a_0_to_1_axis_and_a_title_that_says_what_it_shows() -> None:
    figure = owned(curve_figure([0.1, 0.1003, 0.0998, 0.101], "test accuracy", curve_title(FED)))
    assert text_problems(figure) == []
    (axis,) = figure.axes
    assert axis.get_ylim() == (0, 1)
    assert all(float(tick).is_integer() for tick in axis.get_xticks())
    assert axis.get_title().startswith("FedAvg test accuracy per round")


def test_the_audit_picture_keeps_its_captions_clear_and_says_when_a_picture_is_not_the_cells_best() -> None:
    ok = {"status": "ok", "example_psnr": 13.46, "psnr": 88.95}
    cells = {
        row: {
            column.key: (None if c % 7 == 3 else {"status": "failed"} if c % 7 == 5 else ok)
            for c, column in enumerate(audit.COLUMNS)
        }
        for row in audit.ROWS
    }
    channels = {row: 1 if row == "ggl" else 3 for row in audit.ROWS}

    def example(row: str, column) -> dict:
        picture = images(1, channels[row])[0]
        return {"truth": picture, "reconstructed": picture.flip(1)}

    figure = owned(audit.audit_figure(list(audit.ROWS), cells, example))
    assert text_problems(figure) == []
    assert audit.example_caption(ok) == "13 dB (mean 89)\nothers better"
    assert audit.example_caption({**ok, "example_psnr": 88.0}) == "88 dB (mean 89)"


def test_the_privacy_utility_picture_puts_each_defense_at_its_accuracy_and_says_what_was_not_recorded() -> None:
    ok = {"status": "ok", "psnr": 30.0, "ssim": 0.9}
    cells = {row: {column.key: dict(ok) for column in audit.COLUMNS} for row in audit.ROWS}
    cells["rtf"]["none"] = {**ok, "psnr": 90.0, "ssim": 0.5, "recognisable": 0.75}
    cells["cpa"]["secagg"] = {**ok, "ssim": 0.95, "recognisable": 0.875}
    cells["ig_weight"]["secagg"] = {"status": "refused", "why": "needs one client's update"}
    fed = {"status": "ok", "final_accuracy": 0.37, "epsilon": None}
    cells["fedavg"] = {column.key: dict(fed) for column in audit.COLUMNS if column.key != "secagg"}
    cells["fedavg"]["dpsgd_1"] = {**fed, "final_accuracy": 0.26, "epsilon": 13.5}
    found = {(p.defense, p.strength): p for p in points(cells, audit.COLUMNS, list(audit.ROWS))}
    assert found[("none", "")].by_psnr == ("rtf", 90.0) and found[("none", "")].by_ssim == ("dlg", 0.9)
    secagg = found[("secagg", "")]
    assert secagg.accuracy is None and secagg.by_ssim == ("cpa", 0.95) and secagg.recognisable == 0.875
    figure = owned(privacy_utility_figure(list(found.values()), "test"))
    texts = [text.get_text() for axis in figure.axes for text in axis.texts]
    assert any("not recorded" in text for text in texts)
    assert "dpsgd 1 eps 13.5 (dlg)" in texts and "secagg (cpa 88% rec.)" in texts
    assert text_problems(figure) == []
