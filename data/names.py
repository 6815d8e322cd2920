"""The dataset catalogue's names and published statistics, as plain data: importable without torch, so the
entry scripts' --help lists the datasets without loading any (data/catalog.py loads them)."""

# Published per-channel statistics of the training sets; other sets are measured on load.
KNOWN_STATS = {
    "mnist": ((0.1307,), (0.3081,)),
    "fmnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "tiny_imagenet": ((0.4802, 0.4481, 0.3975), (0.2302, 0.2265, 0.2262)),
}
IMAGENET_STATS = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
NORM_STATS = ("half", "dataset", "imagenet")
SAMPLE_PARENT = {
    "cifar10_sample": "cifar10",
    "cifar100_sample": "cifar100",
    "mnist_sample": "mnist",
    "fmnist_sample": "fmnist",
}
TORCHVISION_SETS = ("mnist", "fmnist", "cifar10", "cifar100")  # data/real.py loads them through torchvision
EMBEDDED = ("digits", *SAMPLE_PARENT)
REAL = (*TORCHVISION_SETS, "tiny_imagenet", "imagefolder", "npz")
DATASETS = (*EMBEDDED, *REAL)
STATS_SAMPLE = 2000
