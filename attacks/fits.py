"""Whether the server's model, the batch and what the client shares fit an attack's Capabilities: the one
check that turns a mismatch into a one-line error, and the layers it (and the attacks) look for."""

from torch import nn

from fedprivacy.attacks.capabilities import Capabilities
from fedprivacy.models.imprint import find_imprint
from fedprivacy.utils.errors import UsageError


def final_linear(model: nn.Module, num_classes: int) -> tuple[str, nn.Linear] | None:
    """The last nn.Linear producing the logits (one output per class), or None."""
    for name, module in reversed(list(model.named_modules())):
        if isinstance(module, nn.Linear) and module.out_features == num_classes:
            return name, module
    return None


def first_linear(model: nn.Module) -> tuple[str, nn.Linear] | None:
    """The first nn.Linear of the model (registration order, which is the forward order here), or None."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            return name, module
    return None


def check(
    name: str,
    needs: Capabilities,
    model: nn.Module,
    num_images: int,
    num_classes: int,
    update: bool,
    labels: bool,
    aggregate: bool = False,
) -> None:
    """Refuse, in one line, a server model, batch and share (`update`, granted `labels`, a secure `aggregate` of
    a round rather than one client's share) that `needs` rules out."""
    if aggregate and needs.one_client:
        raise UsageError(
            f"--attack {name} replays one client's local training and needs that client's own update; under "
            "--secure_aggregation the server sees only the round's aggregate"
        )
    if labels and not needs.known_labels:
        raise UsageError(f"--known_labels: --attack {name} does not take known labels")
    if num_images < needs.min_batch:
        raise UsageError(
            f"--rec_batch_size {num_images}: {name} needs at least {needs.min_batch} images per batch; "
            f"pass --rec_batch_size {needs.min_batch} or more"
        )
    if needs.max_batch is not None and num_images > needs.max_batch:
        raise UsageError(f"--rec_batch_size {num_images}: {name} handles at most {needs.max_batch} image(s) per batch")
    if needs.imprint and find_imprint(model) is None:
        raise UsageError(f"--attack {name} needs --imprint (the server's imprint block before the model)")
    if needs.update and not update:
        raise UsageError(f"--attack {name} needs a shared weight update (FedAvg); this client shared only a gradient")
    if needs.linear_width:
        found = first_linear(model)
        if found is None:
            raise UsageError(f"--attack {name} needs a fully connected layer; {type(model).__name__} has no nn.Linear")
        layer_name, layer = found
        limit = min(layer.in_features, layer.out_features)
        if num_images > limit:
            raise UsageError(
                f"--rec_batch_size {num_images}: {name} separates at most {limit} inputs with layer '{layer_name}' "
                f"({layer.in_features} -> {layer.out_features}); use a batch of at most {limit}"
            )
    if needs.label_layer and not labels and final_linear(model, num_classes) is None:
        hint = "; pass --known_labels" if needs.known_labels else ""
        raise UsageError(
            f"--attack {name}: label restoration needs a final nn.Linear layer with one output per class{hint}"
        )
