"""The attack's flags, generated from the registry (attacks/config/) for both entry scripts: --attack and
--preset; every attack's options as `--<attack>.<field>`, in that attack's own help group and refused for any
other attack; the options' older flat names (--rec_epochs, --T, --fi, ...), each setting the chosen attack's
option; and what the parsed flags resolve to. Torch-free, so --help never loads an attack."""

import argparse
from dataclasses import Field, fields
from typing import Any

from fedprivacy.attacks import ATTACKS, DEFAULT_ATTACK, AttackSpec, all_presets, find_preset
from fedprivacy.attacks.options import When, default_of
from fedprivacy.cli.common import AppliesTo, FlagGroup, OneLineParser, described, last_given, passed, setting
from fedprivacy.utils.domains import COUNT, Count
from fedprivacy.utils.errors import UsageError

OLDER = "older."  # the Namespace key prefix of an older flat name (e.g. `older.rec_epochs`)
ATTACKED = AppliesTo("attack", frozenset(ATTACKS), "with an attack")  # main_fed's flags of the attack
BATCHED = frozenset(name for name, spec in ATTACKS.items() if spec.batches_trials)  # --trial_batch's attacks


def option_kwargs(item: Field) -> dict[str, Any]:
    """argparse keyword arguments of one option field: a bool is a switch, else its domain or choices."""
    meta = item.metadata
    if isinstance(default_of(item), bool):
        return {"action": "store_true"}
    kwargs: dict[str, Any] = {}
    if meta["domain"] is not None:
        kwargs["type"] = meta["domain"]
    if meta["choices"] is not None:
        kwargs["choices"] = meta["choices"]
    return kwargs


def option_help(spec: AttackSpec, item: Field) -> str:
    """An option's help: what it does, its default and unit, and when it has an effect if not always."""
    text = described(item.metadata["help"], default_of(item), item.metadata["unit"])
    return text if item.metadata["only"] is None else f"{text}; only {condition(spec, item.metadata['only'])}"


def add_attack_arguments(
    parser: OneLineParser, batch_help: str, default: str = DEFAULT_ATTACK, extra: tuple[str, ...] = ()
) -> None:
    """--attack (registered names plus `extra`), --preset, the batch and the threat model's grants, then one
    help group per attack with its options, and one with the older flat names."""
    names = (*ATTACKS, *extra)
    flags = FlagGroup(parser, "attack")
    flags.value("--attack", None, f"one of: {', '.join(names)} (a --preset names its own)", shown=default)
    presets = f"an attack's named settings, between its defaults and the flags given: {', '.join(all_presets())}"
    flags.value("--preset", None, f"{presets} (see docs/presets.md)", shown="none")
    flags.value("--rec_batch_size", 1, batch_help, "images", type=COUNT)
    if extra:  # names that run no attack (main_fed's none)
        parser.applies("rec_batch_size", ATTACKED)
    grant = "give the attacker the true labels (the Inverting Gradients paper's setting) instead of restoring them"
    flags.switch("--known_labels", grant)
    granted = frozenset(name for name, spec in ATTACKS.items() if spec.needs.known_labels)
    parser.applies("known_labels", AppliesTo("attack", granted))
    batched = "restarts run at once as one batched computation"
    flags.value("--trial_batch", None, batched, shown="all of them", type=COUNT)
    always = sorted(name for name in BATCHED if ATTACKS[name].batches_trials is True)
    sometimes = [f"{name} {condition(ATTACKS[name], ATTACKS[name].batches_trials)}" for name in sorted(BATCHED)
                 if name not in always]  # fmt: skip
    parser.applies("trial_batch", AppliesTo("attack", BATCHED, f"with --attack {', '.join(always + sometimes)}"))
    early = "trials that must finish before a good-enough one may stop the restarts (2 or more measure their spread)"
    flags.value("--min_trials", 1, early, type=COUNT)
    parser.applies("min_trials", AppliesTo("attack", restarting()))
    parser.finishers.append(lambda args: resolve_attack(args, default, names))
    for spec in ATTACKS.values():
        add_options(parser, spec)
    add_older_names(parser)


def restarting() -> frozenset[str]:
    """The attacks that run restart trials (their budget says so at their defaults)."""
    return frozenset(name for name, spec in ATTACKS.items() if spec.budget(spec.options()).restarts)


def add_options(parser: OneLineParser, spec: AttackSpec) -> None:
    """One help group of `--<attack>.<field>` flags, each refused unless --attack is that attack."""
    items = fields(spec.options)
    about = f"{spec.summary}; needs {spec.needs.describe()}"
    group = parser.add_argument_group(f"{spec.name} options (only with --attack {spec.name})", about)
    for item in items:
        dest = f"{spec.name}.{item.name}"
        kwargs = option_kwargs(item)
        if "choices" not in kwargs and "action" not in kwargs:
            kwargs["metavar"] = item.name.upper()
        group.add_argument(f"--{dest}", dest=dest, default=argparse.SUPPRESS, help=option_help(spec, item), **kwargs)
        parser.applies(dest, AppliesTo("attack", frozenset({spec.name})), note=False)
    if not items:
        group.description = f"{about}; no options"


def older_names() -> dict[str, list[tuple[AttackSpec, Field]]]:
    """Each older flat name and the (attack, option) pairs it sets."""
    older: dict[str, list[tuple[AttackSpec, Field]]] = {}
    for spec in ATTACKS.values():
        for item in fields(spec.options):
            for alias in item.metadata["aliases"]:
                older.setdefault(alias, []).append((spec, item))
    return older


def add_older_names(parser: OneLineParser) -> None:
    """The options' older flat names, kept so that no script or command breaks; each sets the chosen attack's
    option of that name and applies only to the attacks that have one (listed once, in the group's text)."""
    meanings = []
    for alias, targets in older_names().items():
        meanings.append(f"--{alias} = " + ", ".join(f"{spec.name}.{item.name}" for spec, item in targets))
        kwargs = option_kwargs(targets[0][1])
        parser.add_argument(
            f"--{alias}", dest=OLDER + alias, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kwargs
        )
        parser.applies(OLDER + alias, AppliesTo("attack", frozenset(spec.name for spec, _ in targets)))
    parser.add_argument_group(
        "older attack flag names",
        "still accepted; each sets that option of the chosen attack, and is refused for an attack without one: "
        + "; ".join(meanings),
    )


def resolve_attack(args: argparse.Namespace, default: str, names: tuple[str, ...]) -> None:
    """--attack from the flags: as given, else the --preset's attack, else `default`; a preset of another
    attack, or an unknown name, is refused."""
    if args.preset is not None:
        spec, _ = find_preset(args.preset)
        if args.attack not in (None, spec.name):
            raise UsageError(
                f"--preset {args.preset} is a preset of --attack {spec.name}, not of --attack {args.attack}"
            )
        args.attack = spec.name
    args.attack = default if args.attack is None else args.attack
    if args.attack not in names:
        raise UsageError(f"--attack {args.attack!r} is unknown; choose one of: {', '.join(names)}")


def attack_options(spec: AttackSpec, args: argparse.Namespace) -> Any:
    """The attack's options: its defaults, then the --preset's values, then the flags given (its namespaced
    flag or an older name of it; of both, the one given last, as for any repeated flag). A flag given for an
    option, or --trial_batch, that has no effect under the resolved options (When) is refused in one line."""
    values = spec.preset(args.preset.partition(".")[2]) if args.preset else {}
    for item in fields(spec.options):
        given = last_given(args, [f"{spec.name}.{item.name}", *(OLDER + alias for alias in item.metadata["aliases"])])
        if given is not None:
            values[item.name] = getattr(args, given)
    options = spec.options(**values)
    conditions = [(item.metadata["only"], [f"{spec.name}.{item.name}", *(OLDER + a for a in item.metadata["aliases"])])
                  for item in fields(options)]  # fmt: skip
    if isinstance(spec.batches_trials, When):
        conditions.append((spec.batches_trials, ["trial_batch"]))
    for when, dests in conditions:
        typed = [passed(args)[dest] for dest in dests if dest in passed(args)]
        if when is not None and typed and not when.holds(options, args):
            now = getattr(args if when.flag else options, when.name)
            raise UsageError(f"{typed[-1]} applies only {condition(spec, when)}, not {condition(spec, when, now)}")
    return options


def condition(spec: AttackSpec, when: When, value: Any = None) -> str:
    """A When as the user writes it (e.g. `with --ggl.search adam`), or, given `value`, that flag at it."""
    name = when.name if when.flag else f"{spec.name}.{when.name}"
    if value is None:
        value = when.values[0] if len(when.values) == 1 else ", ".join(map(str, when.values))
    return setting(name, value)


def option_flags(spec: AttackSpec | None, options: Any) -> dict[str, Any]:
    """The report's record of the attack's options, every one as `<attack>.<field>` (none without an attack)."""
    return {} if spec is None else {f"{spec.name}.{item.name}": getattr(options, item.name) for item in fields(options)}


def option_of(options: Any, alias: str) -> Any:
    """The value of the option whose older name is `alias` (e.g. rec_epochs), or None if the attack has none."""
    for item in fields(options):
        if alias in item.metadata["aliases"]:
            return getattr(options, item.name)
    return None


def add_imprint_arguments(parser: OneLineParser) -> None:
    """--imprint and --bins: the malicious server's imprint block (fl/public.py sets its bins)."""
    flags = FlagGroup(parser, "malicious server")
    flags.switch("--imprint", "put a Robbing-the-Fed imprint block before the model (needed by rtf)")
    flags.value("--bins", 128, "bins (units) of the imprint block", type=Count(2))
    parser.applies("bins", AppliesTo("imprint", frozenset({True})))
