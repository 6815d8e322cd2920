"""What the server knows of its clients' local training: constants it set itself, or keys of the train
ConfigRecord it sends each round. Attacks on a FedAvg update need epochs, batch size and lr (momentum and
weight decay default to torch SGD's 0); a missing one is caught at start-up, naming it."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from flwr.app import ConfigRecord

from fedprivacy.fl.observation import LocalTraining
from fedprivacy.utils.errors import UsageError

REQUIRED = ("epochs", "batch_size", "lr")
OPTIONAL = {"momentum": 0.0, "weight_decay": 0.0}


@dataclass(frozen=True)
class ConfigKey:
    """A setting the server sends in each round's train ConfigRecord under `name` (e.g. the lr)."""

    name: str


@dataclass(frozen=True)
class ServerKnowledge:
    """The local-training settings the server configured: each a number, or a ConfigKey read per round."""

    training: Mapping[str, float | int | ConfigKey] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.training) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            raise UsageError(f"training settings {unknown}: known ones are {[*REQUIRED, *OPTIONAL]}")
        missing = [name for name in REQUIRED if name not in self.training]
        if missing:
            raise UsageError(
                f"the attack needs local-training settings the server does not know: {', '.join(missing)} "
                "(name each as a number or a ConfigKey of the train config)"
            )

    def local_training(self, config: ConfigRecord) -> LocalTraining:
        """This round's settings; a ConfigKey absent from the config sent is a UsageError naming it."""
        values = {}
        for name, default in {**dict.fromkeys(REQUIRED), **OPTIONAL}.items():
            value = self.training.get(name, default)
            if isinstance(value, ConfigKey):
                if value.name not in config:
                    raise UsageError(f"training setting {name}: the train config sent has no key {value.name!r}")
                value = config[value.name]
            values[name] = value
        return LocalTraining(
            epochs=int(values["epochs"]),
            batch_size=int(values["batch_size"]),
            lr=float(values["lr"]),
            momentum=float(values["momentum"]),
            weight_decay=float(values["weight_decay"]),
        )
