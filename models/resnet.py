"""CIFAR-style residual networks: ResNet-18 (projection shortcuts) and ResNet-20 (option A)."""

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a shortcut; `option_a` pads channels instead of projecting."""

    def __init__(self, in_planes: int, planes: int, stride: int, option_a: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.option_a = option_a
        self.pad = planes - in_planes
        self.shortcut = nn.Sequential()
        if (stride != 1 or in_planes != planes) and not option_a:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )
        self.downsample = stride != 1 or in_planes != planes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.option_a and self.downsample:
            shortcut = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        else:
            shortcut = self.shortcut(x)
        return F.relu(out + shortcut)


class ResNet(nn.Module):
    """A 3x3 stem, stages of BasicBlocks, global average pooling and a linear classifier."""

    def __init__(
        self, channels: int, widths: tuple[int, ...], depths: tuple[int, ...], num_classes: int, option_a: bool
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, widths[0], 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        stages, in_planes = [], widths[0]
        for index, (width, depth) in enumerate(zip(widths, depths, strict=True)):
            blocks = []
            for block in range(depth):
                stride = 2 if index > 0 and block == 0 else 1
                blocks.append(BasicBlock(in_planes, width, stride, option_a))
                in_planes = width
            stages.append(nn.Sequential(*blocks))
        for index, stage in enumerate(stages, start=1):
            self.add_module(f"layer{index}", stage)
        self.num_stages = len(stages)
        self.linear = nn.Linear(in_planes, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        for index in range(1, self.num_stages + 1):
            out = getattr(self, f"layer{index}")(out)
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


def resnet18(channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    """ResNet-18 for small images: 3x3 stem, no max-pool, widths 64-512, projection shortcuts."""
    return ResNet(channels, (64, 128, 256, 512), (2, 2, 2, 2), num_classes, option_a=False)


def resnet20(channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    """He et al.'s CIFAR ResNet-20: widths 16-64, three blocks per stage, option-A shortcuts."""
    return ResNet(channels, (16, 32, 64), (3, 3, 3), num_classes, option_a=True)
