"""The entry layer's flag machinery, shared by every script and importable without torch (--help never loads
it): a parser that reports a bad flag in one line, knows which flags the user actually passed and refuses one
that does not apply to the run; the flag groups both entry scripts share; and run_cli's one-line endings."""

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fedprivacy.data import DATASETS, NORM_STATS
from fedprivacy.data.names import REAL, TORCHVISION_SETS
from fedprivacy.defenses import PARAMETERS, add_defense_arguments, taking
from fedprivacy.models import BUILDERS
from fedprivacy.utils import claims, signals
from fedprivacy.utils.data_dir import DATA_DIR, base_data_dir
from fedprivacy.utils.domains import COUNT, IMAGE_SIZE, SEED, THREADS, path_text
from fedprivacy.utils.errors import Interrupted, RunFailed, UsageError
from fedprivacy.utils.progress import STYLES

if TYPE_CHECKING:
    from fedprivacy.data import DatasetInfo

PASSED = "_passed"  # the Namespace attribute holding {dest: the option string as typed} of the flags given


@dataclass(frozen=True)
class AppliesTo:
    """When a flag has an effect: while the flag whose destination is `decider` (attack, engine, defense,
    imprint, ...) has one of `values` (a switch: True, or False for "without it"); `words` says the condition
    where listing the values would not read well (e.g. "with an attack"). A flag given while it does not hold is
    refused."""

    decider: str
    values: frozenset
    words: str | None = None

    def holds(self, args: argparse.Namespace) -> bool:
        return getattr(args, self.decider) in self.values

    def describe(self) -> str:
        """The condition as the user writes it, e.g. `with --attack dlg, idlg`, `with --imprint`, `without --iid`."""
        if self.words is not None:
            return self.words
        if self.values in (frozenset({True}), frozenset({False})):
            return setting(self.decider, True in self.values)
        return setting(self.decider, ", ".join(sorted(map(str, self.values))))

    def refusal(self, typed: str, args: argparse.Namespace) -> str:
        """The one line refusing the flag `typed` while the rule does not hold."""
        return f"{typed} applies only {self.describe()}, not {setting(self.decider, getattr(args, self.decider))}"


def setting(dest: str, value: Any) -> str:
    """A flag's value as the user writes it: `with --attack dlg`, `with --imprint` or `without --imprint`."""
    if isinstance(value, bool):
        return f"{'with' if value else 'without'} --{dest}"
    return f"with --{dest} {value}"


def described(help: str, default: Any, unit: str = "") -> str:
    """A flag's help ending with its default (and unit): every flag states both."""
    if default is None or default == "":
        return f"{help} (no default)" if not unit else f"{help} ({unit}; no default)"
    shown = "off" if default is False else f"{default:g}" if isinstance(default, float) else str(default)
    return f"{help} (default: {shown}{f' {unit}' if unit and default is not False else ''})"


class FlagGroup:
    """A --help group whose flags state their default (and unit), the default written once."""

    def __init__(self, parser: argparse.ArgumentParser, title: str, description: str | None = None) -> None:
        self.group = parser.add_argument_group(title, description)

    def value(self, name: str, default: Any, help: str, unit: str = "", shown: str | None = None, **kwargs) -> None:
        """A flag that takes a value; `shown` words a default that is not a value (e.g. "cuda when available")."""
        text = f"{help} (default: {shown})" if shown is not None else described(help, default, unit)
        self.group.add_argument(name, default=default, help=text, **kwargs)

    def switch(self, name: str, help: str) -> None:
        """An on/off flag, off by default."""
        self.group.add_argument(name, action="store_true", help=described(help, False))


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line instead of usage text, takes flags only by their whole
    names (a mistyped or renamed flag is an error, never silently another flag's abbreviation), records which
    flags were passed (`passed(args)`), runs its `finishers` on the parsed flags and refuses, in one line, a
    passed flag whose AppliesTo rules do not hold."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **{"allow_abbrev": False, **kwargs})
        self.rules: dict[str, list[AppliesTo]] = {}
        self.finishers: list[Callable[[argparse.Namespace], None]] = []

    def error(self, message: str) -> None:
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)

    def applies(self, dest: str, rule: AppliesTo, note: bool = True) -> None:
        """Declare that the flag stored under `dest` has an effect only while `rule` holds; with `note`, its
        --help says so (without: its group's title or its own help already does)."""
        self.rules.setdefault(dest, []).append(rule)
        for action in self._actions:
            if note and action.dest == dest and action.help not in (None, argparse.SUPPRESS):
                action.help += f"{' and' if '; only ' in action.help else '; only'} {rule.describe()}"

    def passed_flags(self, argv: Sequence[str]) -> dict[str, str]:
        """{dest: option string} of the flags in `argv`, in the order of their last occurrence (argparse takes a
        flag only by its whole name, and the last of repeated ones)."""
        passed: dict[str, str] = {}
        for token in argv:
            if token == "--":
                break
            action = self._option_string_actions.get(token.split("=", 1)[0])
            if action is not None:
                passed.pop(action.dest, None)
                passed[action.dest] = token.split("=", 1)[0]
        return passed

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:
        argv = sys.argv[1:] if args is None else list(args)
        parsed = super().parse_args(argv, namespace)
        setattr(parsed, PASSED, self.passed_flags(argv))
        try:
            for finish in self.finishers:
                finish(parsed)
        except UsageError as error:
            self.error(str(error))
        for dest, typed in passed(parsed).items():
            for rule in self.rules.get(dest, []):
                if not rule.holds(parsed):
                    self.error(rule.refusal(typed, parsed))
        return parsed


def passed(args: argparse.Namespace) -> dict[str, str]:
    """{dest: option string as typed} of the flags the user gave, the last given last (empty for a Namespace
    made by hand)."""
    return getattr(args, PASSED, {})


def last_given(args: argparse.Namespace, dests: Sequence[str]) -> str | None:
    """Of several flags that set one thing (a namespaced flag and its older names), the one given last (as
    argparse lets the last of a repeated flag win); None when none was given."""
    given = [dest for dest in passed(args) if dest in dests]
    given = given or [dest for dest in dests if hasattr(args, dest)]  # a Namespace made by hand
    return given[-1] if given else None


def flag_values(args: argparse.Namespace, resolved: dict[str, Any] | None = None) -> dict:
    """The flags for the report: the plain flags as parsed, then `resolved`, what the namespaced flags and their
    older names resolved to (every option of the chosen attack, the client's training), whatever was typed
    (dotted keys are namespaced or older flags; the parser's own bookkeeping starts with `_`)."""
    plain = {key: value for key, value in vars(args).items() if not key.startswith("_") and "." not in key}
    return plain | (resolved or {})


def device_name(text: str) -> str:
    """--device's domain: cpu, cuda or cuda:N (argparse type)."""
    if not re.fullmatch(r"cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not cpu, cuda or cuda:N")
    return text


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


def add_data_arguments(parser: OneLineParser, model: str, dataset: str) -> None:
    """Flags both entry scripts share: the model, the dataset and its normalisation (a flag for a dataset that
    is not read from disk, or a normalisation that is off, is refused)."""
    flags = FlagGroup(parser, "data and model")
    flags.value("--model", model, f"one of: {', '.join(BUILDERS)}")
    flags.value("--dataset", dataset, f"one of: {', '.join(DATASETS)}")
    where = "folder of real datasets (or the .npz file for --dataset npz)"
    flags.value("--base_data_dir", base_data_dir(), where, shown=f"$BASE_DATADIR, else {DATA_DIR}", type=path_text)
    parser.applies("base_data_dir", AppliesTo("dataset", frozenset(REAL)))
    flags.switch("--download", "download a torchvision dataset into --base_data_dir")
    parser.applies("download", AppliesTo("dataset", frozenset(TORCHVISION_SETS)))
    flags.value("--image_size", None, "resize images to this square size, in pixels", shown="the dataset's size",
                type=IMAGE_SIZE)  # fmt: skip
    flags.switch("--rgb", "repeat grey images into 3 channels (GRNN's official MNIST on LeNet-5); grey datasets only")
    head = "outputs of the model's last layer, e.g. 100 on CIFAR-10"
    flags.value("--num_classes", None, head, shown="the dataset's classes; never fewer", type=COUNT)
    flags.switch("--normalize", "train and attack in the normalised space")
    stats = "half = mean=std=0.5 (seed), dataset, or imagenet statistics"
    flags.value("--norm_stats", "half", stats, choices=NORM_STATS)
    parser.applies("norm_stats", AppliesTo("normalize", frozenset({True})))


def add_defense_flags(parser: OneLineParser) -> None:
    """--defense and its parameters (defenses/__init__.py), each parameter refused for a defense that does not
    take it (its help already names the defenses that do)."""
    add_defense_arguments(parser)
    for name in PARAMETERS:
        parser.applies(name, AppliesTo("defense", frozenset(taking(name))), note=False)


def head_width(requested: int | None, info: "DatasetInfo") -> int:
    """The model's number of outputs: --num_classes, else the dataset's classes (never fewer than its labels need)."""
    if requested is None:
        return info.num_classes
    if requested < info.num_classes:
        raise UsageError(
            f"--num_classes {requested}: --dataset {info.name} has {info.num_classes} classes; use at least that"
        )
    return requested


def add_output_arguments(parser: OneLineParser, outputs: str, seed_help: str) -> None:
    """Flags both entry scripts share: the seed, device and threads, where results go, overwriting, progress."""
    flags = FlagGroup(parser, "run and output")
    flags.value("--seed", 0, seed_help, type=SEED)
    flags.value("--device", None, "cpu, cuda or cuda:N", shown="cuda when available", type=device_name)
    threads = "CPU threads, and processes for the L-BFGS attacks' restarts"
    flags.value("--threads", None, threads, shown="$OMP_NUM_THREADS, else every usable core", type=THREADS)
    flags.value("--out_dir", "images", f"where {outputs} go (created if missing)", type=path_text)
    flags.switch("--overwrite", "replace an earlier result of the same name instead of numbering")
    flags.switch("--quiet", "no progress bars")
    style = "auto: a bar on a terminal, a line every 10%% elsewhere (a log, a pipe); bar or lines: that one always"
    flags.value("--progress", "auto", style, choices=STYLES)
    parser.finishers.append(refuse_progress_when_quiet)
    add_dry_run_argument(flags.group, "the data and builds the model (and, in main_grad, the observations)")


def refuse_progress_when_quiet(args: argparse.Namespace) -> None:
    if args.quiet and "progress" in passed(args):
        raise UsageError(f"--progress {args.progress} shows progress; --quiet shows none: give one of them")


def progress_style(args: argparse.Namespace) -> bool | str:
    """What the run's progress looks like: none with --quiet, else --progress's style (utils/progress.py)."""
    return False if args.quiet else args.progress


def add_dry_run_argument(parser: Any, full: str = "the data") -> None:
    """--dry_run [full|flags]: check and describe, then exit 0 (`full` says what the full check also loads)."""
    parser.add_argument(
        "--dry_run",
        nargs="?",
        const="full",
        choices=("full", "flags"),
        default=None,
        help=f"check everything and print what would run, then stop: full (the value when none is given) also loads "
        f"{full}; flags checks the flags alone, no data needed (default: off, the run goes ahead)",
    )
