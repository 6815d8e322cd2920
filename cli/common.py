"""Command-line plumbing shared by the entry scripts: one-line errors, devices, flag checks."""

import argparse
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from fedprivacy.utils import claims, signals
from fedprivacy.utils.data_dir import DATA_DIR, base_data_dir
from fedprivacy.utils.domains import COUNT, IMAGE_SIZE, THREADS, path_text
from fedprivacy.utils.errors import Interrupted, RunFailed, UsageError

if TYPE_CHECKING:
    from fedprivacy.data import DatasetInfo


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line instead of usage text, and takes flags only by their
    whole names (a mistyped or renamed flag is an error, never silently another flag's abbreviation)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **{"allow_abbrev": False, **kwargs})

    def error(self, message: str) -> None:
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def device_name(text: str) -> str:
    """--device's domain: cpu, cuda or cuda:N (argparse type)."""
    if not re.fullmatch(r"cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not cpu, cuda or cuda:N")
    return text


def resolve_device(name: str | None) -> torch.device:
    """--device: CUDA when available unless told otherwise; an unavailable CUDA device is an error."""
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available here; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UsageError(
            f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s), cuda:0 upwards"
        )
    return device


positive = COUNT  # argparse type for counts that must be at least 1 (utils/domains.py)


def run_cli(main: Callable[[], None]) -> None:
    """Run an entry point: a UsageError becomes one `error:` line and exit code 2; a fault during the work
    (RunFailed, or the machine's OSError or MemoryError) one line and exit 1; Ctrl-C or SIGTERM (handled
    alike, utils/signals.py) one line and exit 130 or 143. Never a traceback; names it claimed but did not
    write are released."""
    try:
        with signals.sigterm_as_interrupt():
            main()
    except UsageError as error:
        fail(str(error), 2)
    except RunFailed as error:
        fail(str(error), 1)
    except Interrupted as error:
        fail(str(error), signals.exit_code(), "interrupted")
    except KeyboardInterrupt:
        fail(
            f"{signals.stopped_by()} before any experiment finished; nothing was written",
            signals.exit_code(),
            "interrupted",
        )
    except MemoryError:
        fail(OUT_OF_MEMORY, 1)
    except RuntimeError as error:  # torch reports an allocation it could not make as a RuntimeError
        if not any(words in str(error) for words in ("can't allocate memory", "out of memory")):
            raise
        fail(f"{OUT_OF_MEMORY} ({str(error).strip().splitlines()[0][:160]})", 1)
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        fail(f"{error.strerror or error}{where}", 1)
    finally:
        claims.release_all()


OUT_OF_MEMORY = "out of memory during the run; lower the sizes (batch, image size, model) or free memory"


def fail(message: str, code: int, kind: str = "error") -> None:
    """One line on stderr, then exit with `code`."""
    print(f"{kind}: {message}", file=sys.stderr)
    raise SystemExit(code) from None


def add_data_arguments(parser: argparse.ArgumentParser, model: str, dataset: str) -> None:
    """Flags both entry scripts share: the model, the dataset and its normalisation."""
    from fedprivacy.data import DATASETS
    from fedprivacy.data.catalog import NORM_STATS
    from fedprivacy.models import MODELS

    add = parser.add_argument
    add("--model", default=model, help=f"one of: {', '.join(MODELS)}")
    add("--dataset", default=dataset, help=f"one of: {', '.join(DATASETS)}")
    add(
        "--base_data_dir",
        type=path_text,
        default=base_data_dir(),
        help=f"folder of real datasets (or the .npz file for --dataset npz); default $BASE_DATADIR, else {DATA_DIR}",
    )
    add("--download", action="store_true", help="download a torchvision dataset into --base_data_dir")
    add("--image_size", type=IMAGE_SIZE, default=None, help="resize images to this square size")
    add("--rgb", action="store_true", help="repeat grey images into 3 channels (GRNN's official MNIST on LeNet-5)")
    add(
        "--num_classes",
        type=COUNT,
        default=None,
        help="outputs of the model's last layer (default: the dataset's classes; never fewer), e.g. 100 on CIFAR-10",
    )
    add("--normalize", action="store_true", help="train and attack in the normalised space (see --norm_stats)")
    add("--norm_stats", choices=NORM_STATS, default="half", help="half: mean=std=0.5 (seed); dataset; imagenet")


def head_width(requested: int | None, info: "DatasetInfo") -> int:
    """The model's number of outputs: --num_classes, else the dataset's classes (never fewer than its labels need)."""
    if requested is None:
        return info.num_classes
    if requested < info.num_classes:
        raise UsageError(
            f"--num_classes {requested}: --dataset {info.name} has {info.num_classes} classes; use at least that"
        )
    return requested


def add_output_arguments(parser: argparse.ArgumentParser, outputs: str) -> None:
    """Flags both entry scripts share: device, where results go, overwriting and progress bars."""
    add = parser.add_argument
    add("--device", type=device_name, default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    add(
        "--threads",
        type=THREADS,
        default=None,
        help="CPU threads, and processes for dlg/idlg restarts (default: $OMP_NUM_THREADS, else every usable core)",
    )
    add("--out_dir", type=path_text, default="images", help=f"where {outputs} go (created if missing)")
    add("--overwrite", action="store_true", help="replace an earlier result of the same name instead of numbering")
    add("--quiet", action="store_true", help="no progress bars")


def add_dry_run_argument(parser: argparse.ArgumentParser) -> None:
    """--dry_run [full|flags]: check and describe the run, then exit 0 without attacking or training."""
    parser.add_argument(
        "--dry_run",
        nargs="?",
        const="full",
        choices=("full", "flags"),
        default=None,
        help="check everything and print what would run, then stop: full (default) also loads the data and builds "
        "the model (and, in main_grad, the observations); flags checks the flags alone (no data needed)",
    )
