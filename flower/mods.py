"""A ClientApp mod that files the batch each train message trained on into the TruthChannel, so a simulated
(or loopback) audit can be scored without touching the ClientApp's `train`: one line in the app,

    client = ClientApp(mods=[file_private_batch(NORMALIZATION)])

It watches torch while `train` runs (global module hooks, removed afterwards): the images are the input of
every forward of a top-level module in training mode, the labels the target of every loss module called
(nn.CrossEntropyLoss, as Flower's quickstart uses; a functional loss is invisible to it). The first
`num-examples` of them (the reply's example count: later epochs repeat the batch) are filed in pixels,
under the round and this node, with the node config's `partition-id` when it has one. The folder is the
run config's `audit-truth` (empty or absent: the mod does nothing), so only a run that asks files anything."""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from flwr.app import Context, Message, MessageType
from torch import nn

from fedprivacy.data.normalization import Normalization
from fedprivacy.flower.truth import TruthChannel

TRUTH_KEY = "audit-truth"  # run config key: the folder shared by the ClientApps and the ServerApp


@dataclass
class Seen:
    """What the hooks saw: each top-level training forward's input, and each loss module's target."""

    inputs: list[torch.Tensor] = field(default_factory=list)
    targets: list[torch.Tensor] = field(default_factory=list)
    depth: int = 0


@contextmanager
def watching() -> Iterator[Seen]:
    """Record, while the block runs, the inputs of top-level training forwards and the losses' targets."""
    seen = Seen()

    def before(module: nn.Module, inputs: tuple) -> None:
        if seen.depth == 0 and inputs and torch.is_tensor(inputs[0]) and torch.is_grad_enabled():
            if isinstance(module, nn.modules.loss._Loss):
                if len(inputs) > 1 and torch.is_tensor(inputs[1]):
                    seen.targets.append(inputs[1].detach().cpu())
            elif module.training:
                seen.inputs.append(inputs[0].detach().cpu())
        seen.depth += 1

    def after(module: nn.Module, inputs: tuple, output: object) -> None:
        seen.depth -= 1

    handles = [
        nn.modules.module.register_module_forward_pre_hook(before),
        nn.modules.module.register_module_forward_hook(after),
    ]
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()


def example_count(reply: Message) -> int | None:
    """The reply's `num-examples` metric (what FedAvg weights by), or None."""
    if reply.has_error():
        return None
    for metrics in reply.content.metric_records.values():
        if "num-examples" in metrics:
            return int(metrics["num-examples"])
    return None


def server_round(message: Message) -> int | None:
    """The round the server named in the train config (FedAvg's `server-round`)."""
    for config in message.content.config_records.values():
        if "server-round" in config:
            return int(config["server-round"])
    return None


def file_private_batch(normalization: Normalization) -> Callable[[Message, Context, Callable], Message]:
    """The mod: `normalization` maps the model's inputs back to pixels in [0, 1]."""

    def mod(message: Message, context: Context, call_next: Callable[[Message, Context], Message]) -> Message:
        folder = str(context.run_config.get(TRUTH_KEY, "") or "")
        if message.metadata.message_type.split(".")[0] != MessageType.TRAIN or not folder:
            return call_next(message, context)
        with watching() as seen:
            reply = call_next(message, context)
        count, round_number = example_count(reply), server_round(message)
        if count is None or round_number is None or not seen.inputs:
            return reply
        images, labels = torch.cat(seen.inputs)[:count], torch.cat(seen.targets)[:count] if seen.targets else None
        if labels is None or len(labels) != len(images):
            print("file_private_batch: no loss module saw the labels; nothing filed", file=sys.stderr)
            return reply
        partition = context.node_config.get("partition-id")
        pixels = normalization.denormalize(images.float()).clamp(0, 1)
        partition = None if partition is None else int(partition)
        TruthChannel(folder).put(round_number, context.node_id, pixels, labels, partition)
        return reply

    return mod
