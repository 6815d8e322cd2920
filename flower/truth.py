"""Simulation only: a separate channel from the client harness to the evaluation. The harness files each
audited client's private batch under (round, node); the evaluation reads it after the attack returned, to
score it. The attack never sees it: the strategy hands it only the Observation."""

import os
from pathlib import Path

import torch


class TruthChannel:
    """A folder of `r{round}_n{node}.pt` files holding (pixels in [0, 1], labels); written whole."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, server_round: int, node: int) -> Path:
        return self.folder / f"r{server_round}_n{node}.pt"

    def put(self, server_round: int, node: int, pixels: torch.Tensor, labels: torch.Tensor) -> None:
        """File a private batch (atomically: a partial file is never read)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(server_round, node)
        partial = target.with_suffix(f".{os.getpid()}.part")
        torch.save({"pixels": pixels.detach().cpu(), "labels": labels.detach().cpu()}, partial)
        partial.replace(target)

    def take(self, server_round: int, node: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The private batch of (round, node), or None if the harness filed none."""
        path = self.path(server_round, node)
        if not path.is_file():
            return None
        batch = torch.load(path, weights_only=True)
        return batch["pixels"], batch["labels"]
