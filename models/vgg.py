"""VGG-16 for small images, as the CIFAR VGG of the original implementation
(hangyuzhu/privacy-attack-in-federated-learning): no BatchNorm, no dropout."""

from torch import nn

VGG16_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def vgg16(channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    """13 3x3 convs with ReLU; a 2x2 max-pool only while the feature map is larger than 1 pixel."""
    layers: list[nn.Module] = []
    in_channels, height, width = channels, *image_size
    for entry in VGG16_LAYERS:
        if entry == "M":
            if min(height, width) > 1:
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
            continue
        layers += [nn.Conv2d(in_channels, entry, 3, padding=1), nn.ReLU()]
        in_channels = entry
    model = nn.Sequential(
        nn.Sequential(*layers),
        nn.Flatten(),
        nn.Linear(512 * height * width, 512),
        nn.ReLU(),
        nn.Linear(512, 512),
        nn.ReLU(),
        nn.Linear(512, num_classes),
    )
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)
    return model
