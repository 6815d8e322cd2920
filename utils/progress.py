"""Progress over optimisation steps with the current loss: a tqdm bar on a terminal, and where no bar can
show (a log file, Flower's captured ServerApp output, a Ray worker) one line every LINE_EVERY of the way,
with the elapsed time and an estimate of what is left; either can be forced (--progress bar, lines)."""

import sys
import time

from tqdm import tqdm

LINE_EVERY = 0.1  # share of the steps between two log lines
STYLES = ("auto", "bar", "lines")  # auto: a bar on a terminal, log lines elsewhere


def duration(seconds: float) -> str:
    """Seconds in the largest unit that reads well: 42 s, 12 min, 3.5 h."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class LogLines:
    """tqdm's interface as used here (update, set_postfix, set_description, a context manager), writing a
    line to stderr each time another LINE_EVERY of the total is done."""

    def __init__(self, total: int, description: str) -> None:
        self.total, self.description = max(total, 1), description
        self.done, self.postfix, self.next_line = 0, "", LINE_EVERY
        self.started = time.perf_counter()

    def update(self, steps: int = 1) -> None:
        self.done += steps
        share = self.done / self.total
        if share + 1e-12 >= self.next_line:
            while self.next_line <= share + 1e-12:
                self.next_line += LINE_EVERY
            self.write(share)

    def write(self, share: float) -> None:
        elapsed = time.perf_counter() - self.started
        left = elapsed * (1 - share) / share if 0 < share < 1 else 0.0
        loss = f", {self.postfix}" if self.postfix else ""
        print(
            f"{self.description}: {100 * min(share, 1):.0f}% ({self.done}/{self.total}){loss}, "
            f"{elapsed:.0f} s elapsed, about {left:.0f} s left",
            file=sys.stderr,
            flush=True,
        )

    def set_postfix(self, refresh: bool = True, **values: object) -> None:
        self.postfix = ", ".join(f"{name} {value}" for name, value in values.items())

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        self.postfix = text

    def set_description(self, description: str, refresh: bool = True) -> None:
        self.description = description

    def close(self) -> None:
        """Done: nothing more to write (the last line was written at 100%)."""

    def __enter__(self) -> "LogLines":
        return self

    def __exit__(self, *_) -> None:
        self.close()


def loss_bar(total: int, description: str, enabled: bool | str = True) -> tqdm | LogLines:
    """Progress over `total` steps: call `.set_postfix(loss=...)` and `.update()` per step. `enabled`: False for
    nothing, True or "auto" for a bar on a terminal and log lines elsewhere, "bar" or "lines" for that one."""
    style = "auto" if enabled is True else enabled
    if style == "lines" or (style == "auto" and not sys.stderr.isatty()):
        return LogLines(total, description)
    return tqdm(total=total, desc=description, disable=not style, leave=False, mininterval=0.5, dynamic_ncols=True)
