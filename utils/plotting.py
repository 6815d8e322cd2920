"""Figures are only ever written to files. An inherited MPLBACKEND that matplotlib does not know makes
importing matplotlib fail (here, or inside cma) with a traceback before any flag is read; such a value is
replaced by Agg, with a one-line note, before anything imports matplotlib."""

import os
import sys


def usable_backend() -> None:
    """Replace an MPLBACKEND that matplotlib refuses by Agg (nothing to do when it is unset or matplotlib is
    already imported; a valid value, e.g. a notebook's inline backend, is kept)."""
    inherited = os.environ.get("MPLBACKEND")
    if not inherited or "matplotlib" in sys.modules:
        return
    del os.environ["MPLBACKEND"]  # matplotlib reads it on import, and refuses an unknown one there
    import matplotlib

    try:
        matplotlib.rcParams["backend"] = inherited
        os.environ["MPLBACKEND"] = inherited
    except ValueError:
        os.environ["MPLBACKEND"] = matplotlib.rcParams["backend"] = "agg"
        print(
            f"note: MPLBACKEND={inherited!r} is not a matplotlib backend; figures are written with Agg", file=sys.stderr
        )
