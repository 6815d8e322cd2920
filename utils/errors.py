"""One exception type for bad user input, printed by the entry scripts as a single line."""


class UsageError(Exception):
    """A problem the user can fix (a flag, a path, a checkpoint); shown as one line, no traceback."""


class AttackDiverged(Exception):
    """An attack's optimisation produced NaN or inf; the run stops and the other results are kept."""


class RunFailed(Exception):
    """The run stopped on a fault after writing what it had (e.g. a federation turned non-finite); one line, exit 1."""


class Interrupted(Exception):
    """Ctrl-C, after the experiments already finished were written (marked interrupted); one line, exit 130."""
