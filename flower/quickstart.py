"""Flower's quickstart-pytorch client, shared by the docs' audited app and the benchmarks: the
60-minute-blitz CNN and its local training (SGD with momentum 0.9, mini-batches of 32 in order)."""

import torch
from torch import nn


class Net(nn.Module):
    """The PyTorch 60-minute-blitz CNN for 3 x 32 x 32 images: two 5x5 convs with max-pool, three linears."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1, self.pool, self.conv2 = nn.Conv2d(3, 6, 5), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(16 * 5 * 5, 120), nn.Linear(120, 84), nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv2(self.pool(torch.relu(self.conv1(x))))))
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))))


def local_train(
    net: nn.Module, images: torch.Tensor, labels: torch.Tensor, lr: float, epochs: int, batch_size: int = 32
) -> None:
    """The quickstart's train(): `epochs` passes of mean cross-entropy SGD (momentum 0.9) over the
    normalised images in mini-batches of `batch_size`, in order (a reshuffle is the same for one batch).
    Like the quickstart, it calls an nn.CrossEntropyLoss module (flower/mods.py reads the labels there)."""
    net.train()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    for _ in range(epochs):
        for start in range(0, len(images), batch_size):
            optimizer.zero_grad()
            criterion(net(images[start : start + batch_size]), labels[start : start + batch_size]).backward()
            optimizer.step()
