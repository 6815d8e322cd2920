"""The audit's settings from the Flower app's run config (`[tool.flwr.app.config]` in its pyproject.toml,
overridable with `flwr run --run-config "audit-steps=200"`): every key starts with `audit-`, an unknown one
or a value of the wrong type is one line naming the key and what it takes."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from torch import nn

from fedprivacy.attacks import ATTACKS, UPDATE_AUDIT_ATTACK
from fedprivacy.flower.audit import AttackAudit
from fedprivacy.flower.knowledge import ServerKnowledge
from fedprivacy.flower.mods import TRUTH_KEY
from fedprivacy.flower.strategy import AuditingStrategy, PublicFacts
from fedprivacy.flower.truth import TruthChannel
from fedprivacy.utils.errors import UsageError

PREFIX = "audit-"
KEYS: dict[str, tuple[object, str]] = {  # key: (default, what it takes)
    "audit-attack": (
        UPDATE_AUDIT_ATTACK,
        "a registered attack: " + ", ".join(name for name, spec in ATTACKS.items() if not spec.needs.imprint),
    ),
    "audit-steps": (0, "the attack's optimiser steps per trial, an integer (0: the attack's default)"),
    "audit-restarts": (2, "trials per audited reply, an integer >= 1 (two or more measure their spread)"),
    "audit-rounds": ("all", "'all' or comma-separated round numbers, e.g. \"1,3\""),
    "audit-nodes": (1, "replies audited per round, in node-id order, an integer (0: all)"),
    "audit-out": ("audit", "the folder of the PNG, JSON and .npz (relative: to the ServerApp's working directory)"),
    "audit-wait": (False, "true: audit inside the round; false: after it, off the round's critical path"),
    "audit-threads": (1, "torch's CPU threads for the attack, an integer (0: torch's default)"),
    TRUTH_KEY: ("", "simulation: a folder the ClientApps and the ServerApp share, for scoring (empty: none)"),
}


@dataclass(frozen=True)
class AuditSettings:
    """The audit a run config asks for."""

    attack: str
    steps: int
    restarts: int
    rounds: frozenset[int] | None  # None: all
    nodes: int | None  # None: all
    out: str
    wait: bool
    threads: int
    truth: str

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, object]) -> "AuditSettings":
        """The settings of `run_config` (keys without the prefix are the app's own and left alone)."""
        unknown = sorted(key for key in run_config if key.startswith(PREFIX) and key not in KEYS)
        if unknown:
            raise UsageError(f"run config {unknown[0]}: unknown; the audit's keys are {', '.join(KEYS)}")
        values = {key: run_config.get(key, default) for key, (default, _) in KEYS.items()}
        for key, (default, takes) in KEYS.items():
            if type(values[key]) is not type(default):
                raise UsageError(f"run config {key} = {values[key]!r}: takes {takes}")
        lowest = {"audit-steps": 0, "audit-restarts": 1, "audit-nodes": 0, "audit-threads": 0}
        for key, low in lowest.items():
            if values[key] < low:
                raise UsageError(f"run config {key} = {values[key]}: takes {KEYS[key][1]}")
        return cls(
            attack=values["audit-attack"],
            steps=values["audit-steps"],
            restarts=values["audit-restarts"],
            rounds=parse_rounds(values["audit-rounds"]),
            nodes=values["audit-nodes"] or None,
            out=values["audit-out"],
            wait=values["audit-wait"],
            threads=values["audit-threads"],
            truth=values[TRUTH_KEY],
        )

    def sink(self) -> AttackAudit:
        """The AttackAudit these settings describe."""
        config = {"restarts": self.restarts} | ({"rec_epochs": self.steps} if self.steps else {})
        truth = TruthChannel(self.truth) if self.truth else None
        return AttackAudit(self.attack, self.out, truth=truth, wait=self.wait, threads=self.threads or None, **config)


def parse_rounds(text: str) -> frozenset[int] | None:
    """'all' (None) or comma-separated round numbers."""
    if text.strip() == "all":
        return None
    try:
        rounds = frozenset(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"run config audit-rounds = {text!r}: takes {KEYS['audit-rounds'][1]}") from None
    if not rounds or min(rounds) < 1:
        raise UsageError(f"run config audit-rounds = {text!r}: rounds start at 1")
    return rounds


def audited(
    strategy, model: nn.Module, knowledge: ServerKnowledge, facts: PublicFacts, run_config: Mapping[str, object]
) -> AuditingStrategy:
    """`strategy` wrapped in an AuditingStrategy whose audit (attack, budget, rounds, nodes, where it
    writes, whether the round waits for it) comes from the app's run config."""
    settings = AuditSettings.from_run_config(run_config)
    rounds: Collection[int] | None = settings.rounds
    return AuditingStrategy(strategy, model, knowledge, facts, settings.sink(), rounds=rounds, per_round=settings.nodes)
