"""A private virtual environment with breaching 0.1.2 for the side-by-side benchmark (never a dependency).

Made once at .breaching-venv (git-ignored) and marked done by a stamp file. It reuses this
interpreter's own torch, torchvision and the rest of its site-packages through a .pth line placed after
the venv's own site-packages, so breaching runs on the very same torch build as our attacks (and nothing
large is downloaded); pip installs only breaching and what it adds (hydra-core, omegaconf, antlr4), with
torch and torchvision pinned to our versions. When pip cannot install it (no registry, a timeout) the case
is skipped with one line saying why.
"""

import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import torch
import torchvision

from benchmarks.common import Skipped

BREACHING = "breaching==0.1.2"
# At the checkout's root, outside every package (the architecture test walks the packages' .py files).
VENV = Path(__file__).resolve().parent.parent / ".breaching-venv"
STAMP = VENV / "installed-breaching-0.1.2"
INSTALL_TIMEOUT = 600  # seconds for pip (it normally takes well under a minute)
# What pip's retry warnings say when the index cannot be reached.
UNREACHABLE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable", "timed out")


def venv_python() -> Path:
    return VENV / "bin" / "python"


def host_site_packages() -> list[str]:
    """This interpreter's site-packages folders (pure and platform), which the venv sees after its own."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def pins() -> str:
    """Constraints keeping pip from replacing our torch and torchvision."""
    versions = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    return "".join(f"{name}=={version.split('+')[0]}\n" for name, version in versions.items())


def pip_failure(done: subprocess.CompletedProcess) -> str:
    """Why pip failed, in one line: no connection to the index, or pip's first error line."""
    text = done.stderr + done.stdout
    if any(marker in text for marker in UNREACHABLE):
        return "no connection to the package index"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or [f"exit status {done.returncode}"])[0]


def ensure() -> Path:
    """The venv's interpreter, creating the venv and installing breaching first if not done yet."""
    if STAMP.is_file() and venv_python().is_file():
        return venv_python()
    shutil.rmtree(VENV, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
    site = Path(
        subprocess.run(
            [str(venv_python()), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "_host_site_packages.pth").write_text("\n".join(host_site_packages()) + "\n")
    constraints = VENV / "constraints.txt"
    constraints.write_text(pins())
    command = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    command += ["--timeout", "20", "--retries", "1", "--constraint", str(constraints), BREACHING]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        shutil.rmtree(VENV, ignore_errors=True)
        raise Skipped(f"pip could not install {BREACHING} within {INSTALL_TIMEOUT} s") from None
    if done.returncode:
        shutil.rmtree(VENV, ignore_errors=True)
        raise Skipped(f"pip could not install {BREACHING}: {pip_failure(done)}")
    STAMP.write_text(f"installed in {time.perf_counter() - started:.0f} s\n")
    return venv_python()
