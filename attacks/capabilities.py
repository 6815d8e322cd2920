"""What an attack needs from the observation, typed (after LeakPro's AttackerCapabilities): data only, no
torch, so the entry layer reads it for --help. attacks/fits.py turns a mismatch into a one-line error.

The entry scripts run that check on the server's model before any work starts; AttackSpec.run runs it
again on each observation, so an attack's body never re-checks its inputs.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """An attack's needs. Every attack takes a gradient (a FedAvg update's pseudo-gradient serves) unless
    `update`; labels reach it only when `known_labels` allows them to be granted."""

    update: bool = False  # a weight update with the client's public local-training settings (FedAvg)
    known_labels: bool = False  # may be told the batch labels (--known_labels) instead of restoring them
    label_layer: bool = False  # restores labels from a final nn.Linear with one output per class
    imprint: bool = False  # the server's imprint block before the model (--imprint)
    linear_width: bool = False  # a first nn.Linear with at least as many inputs and outputs as images
    min_batch: int = 1  # fewest images per batch (separating a mixture needs at least two)
    max_batch: int | None = None  # most images per batch
    second_order: bool = False  # differentiates the model's gradient again: smooth activations match best
    generator: bool = False  # a trained image generator: its options' `generator` checkpoint (public data)
    one_client: bool = False  # replays one client's training, so needs its own update (not a secure aggregate)

    def describe(self) -> str:
        """The needs in words, for --help and the docs."""
        parts = ["a weight update and its local-training settings" if self.update else "a gradient"]
        if self.label_layer:
            parts.append("a final linear layer (labels)" + (" or --known_labels" if self.known_labels else ""))
        if self.imprint:
            parts.append("--imprint")
        if self.linear_width:
            parts.append("a linear layer as wide as the batch")
        if self.min_batch > 1:
            parts.append(f"at least {self.min_batch} images")
        if self.max_batch is not None:
            parts.append(f"at most {self.max_batch} image(s)")
        if self.second_order:
            parts.append("a twice-differentiable model")
        if self.generator:
            parts.append("a generator trained on public data")
        if self.one_client:
            parts.append("one client's own update (not under secure aggregation)")
        return "; ".join(parts)
