"""Small models: MLP, FC-2 (CPA), the DLG LeNet, GRNN's LeNet-5 and the ConvNet of
the original implementation (hangyuzhu/privacy-attack-in-federated-learning), without dropout."""

import torch
from torch import nn


def mlp(channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    """Two hidden layers of 200 ReLU units, as the original implementation's MLP."""
    inputs = channels * image_size[0] * image_size[1]
    return nn.Sequential(
        nn.Flatten(), nn.Linear(inputs, 200), nn.ReLU(), nn.Linear(200, 200), nn.ReLU(), nn.Linear(200, num_classes)
    )


def fc2(channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    """One hidden layer of 256 ReLU units: the FC-2 model of the Cocktail Party Attack."""
    inputs = channels * image_size[0] * image_size[1]
    return nn.Sequential(nn.Flatten(), nn.Linear(inputs, 256), nn.ReLU(), nn.Linear(256, num_classes))


def conv_out(size: int, stride: int) -> int:
    """Spatial size after a 5x5 convolution with padding 2."""
    return (size - 1) // stride + 1


def lenet(channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    """The DLG LeNet: three 5x5 convs of 12 channels with sigmoids, weights uniform in [-0.5, 0.5]."""
    height, width = image_size
    for stride in (2, 2, 1):
        height, width = conv_out(height, stride), conv_out(width, stride)
    model = nn.Sequential(
        nn.Conv2d(channels, 12, 5, padding=2, stride=2),
        nn.Sigmoid(),
        nn.Conv2d(12, 12, 5, padding=2, stride=2),
        nn.Sigmoid(),
        nn.Conv2d(12, 12, 5, padding=2, stride=1),
        nn.Sigmoid(),
        nn.Flatten(),
        nn.Linear(12 * height * width, num_classes),
    )
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.uniform_(-0.5, 0.5)
    return model


def lenet5(channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    """GRNN's LeNet-5 (Ren, Deng and Xie 2022): convs 6 and 16 of 5x5, each with a sigmoid and a 2x2
    max-pool, then 120 and 84 sigmoid units; every weight and bias uniform in (-0.5, 0.5).

    At 32x32 the convs are unpadded (400 features, the official network); images too small for
    that (under 16 pixels) pad each conv by 2 so the network still fits them."""
    padding = 0 if min(image_size) >= 16 else 2
    height, width = image_size
    for _ in range(2):
        height, width = (height + 2 * padding - 4) // 2, (width + 2 * padding - 4) // 2
    model = nn.Sequential(
        nn.Conv2d(channels, 6, 5, padding=padding),
        nn.Sigmoid(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, padding=padding),
        nn.Sigmoid(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * height * width, 120),
        nn.Sigmoid(),
        nn.Linear(120, 84),
        nn.Sigmoid(),
        nn.Linear(84, num_classes),
    )
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.uniform_(-0.5, 0.5)
    return model


def cnn(channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    """The original implementation's ConvNet: two 3x3 convs (32, 64), a 2x2 max-pool, 512 hidden units; no dropout."""
    height, width = image_size[0] // 2, image_size[1] // 2
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * height * width, 512),
        nn.ReLU(),
        nn.Linear(512, num_classes),
    )
