"""Simulation only: a separate channel from the clients to the evaluation. The ClientApp mod
(flower/mods.py) or a harness files each client's private batch under (round, node), with the partition it
came from when the node config names one; the evaluation reads it after the attack returned, to score it.
The attack never sees it: the strategy hands it only the Observation. The folder must be one the
ClientApps and the ServerApp share (one machine, or a shared file system)."""

import os
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class Private:
    """A client's private batch: pixels in [0, 1], labels, and its partition id (None when unknown)."""

    pixels: torch.Tensor
    labels: torch.Tensor
    partition: int | None = None


class TruthChannel:
    """A folder of `r{round}_n{node}.pt` files, each a Private batch; written whole."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, server_round: int, node: int) -> Path:
        return self.folder / f"r{server_round}_n{node}.pt"

    def put(
        self, server_round: int, node: int, pixels: torch.Tensor, labels: torch.Tensor, partition: int | None = None
    ) -> None:
        """File a private batch (atomically: a partial file is never read)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(server_round, node)
        partial = target.with_suffix(f".{os.getpid()}.part")
        batch = {"pixels": pixels.detach().cpu(), "labels": labels.detach().cpu(), "partition": partition}
        torch.save(batch, partial)
        partial.replace(target)

    def take(self, server_round: int, node: int) -> Private | None:
        """The private batch of (round, node), or None if none was filed."""
        path = self.path(server_round, node)
        if not path.is_file():
            return None
        batch = torch.load(path, weights_only=True)
        return Private(batch["pixels"], batch["labels"], batch.get("partition"))
