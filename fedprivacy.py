"""The import name of this repository, `fedprivacy`, in a checkout that is not installed.

`pip install -e .` (what `make demo` and `make test` do) installs the repository root as the package
`fedprivacy` (pyproject.toml), so `from fedprivacy.flower import AuditingStrategy` works from any folder.
Run from the root itself (`python main_grad.py`, `python -m fedprivacy.cli.train_generator`, pytest),
Python finds this file first; giving it the root as its package path makes `fedprivacy.<package>` the
checkout's own code, installed or not.
"""

from pathlib import Path

__path__ = [str(Path(__file__).resolve().parent)]

from fedprivacy.utils.plotting import usable_backend  # noqa: E402 (needs __path__)

usable_backend()  # before anything imports matplotlib (utils/plotting.py)
