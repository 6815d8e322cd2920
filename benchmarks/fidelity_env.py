"""The references' virtual environment for the fidelity ledger (never a dependency of this project).

Made once at <refs>/venv (benchmarks/fidelity.py's REFS, outside the checkout) by `python -m
benchmarks.fidelity_env`, and marked done by a stamp file. Like breaching's venv (benchmarks/breaching_env.py) it
sees this interpreter's site-packages through a .pth line, so the references run on the very torch build ours
does; pip installs only what the references import beyond it, with torch and torchvision pinned:

- nevergrad: the original implementation's GGL and GGL's official code (CMA-ES);
- hydra-core, omegaconf: breaching (Robbing the Fed);
- pandas, lpips, pytorch-pretrained-biggan, gpytorch: imported at the top of GGL's celeba32_wgan-gp.py (its
  NGReconstructor uses none of them).
"""

import subprocess
import sys
import time

from benchmarks.breaching_env import host_site_packages, pins, pip_failure
from benchmarks.fidelity import REFS

VENV = REFS / "venv"
PACKAGES = ("nevergrad", "hydra-core", "omegaconf", "pandas", "lpips", "pytorch-pretrained-biggan", "gpytorch")
STAMP = VENV / "installed-fidelity-references"
INSTALL_TIMEOUT = 1200  # seconds for pip


def ensure() -> None:
    """Create the venv and install the packages, unless the stamp says it is done; one error line if pip fails."""
    python = VENV / "bin" / "python"
    if STAMP.is_file() and python.is_file():
        print(f"{VENV}: ready ({STAMP.read_text().strip()})")
        return
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with open(f"{site}/_host_site_packages.pth", "w") as pth:
        pth.write("\n".join(host_site_packages()) + "\n")
    constraints = VENV / "constraints.txt"
    constraints.write_text(pins())
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    command += ["--constraint", str(constraints), *PACKAGES]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"error: pip did not finish within {INSTALL_TIMEOUT} s") from None
    if done.returncode:
        raise SystemExit(f"error: pip could not install the references' packages: {pip_failure(done)}")
    STAMP.write_text(f"installed in {time.perf_counter() - started:.0f} s\n")
    print(f"{VENV}: made in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    ensure()
