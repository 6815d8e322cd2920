"""Split a training set among federated clients: iid, Dirichlet label skew, or a fixed number of classes.

Every partitioner returns one list of sample indices per client; together they cover every
sample exactly once. All randomness comes from the given NumPy generator.
"""

import numpy as np

from fedprivacy.utils.errors import UsageError

P_TYPES = ("dirichlet", "fix_class")
DIRICHLET_ATTEMPTS = 1000


def iid(labels: np.ndarray, num_clients: int, rng: np.random.Generator) -> list[list[int]]:
    """A random permutation cut into equal shares: every client sees the global class mix."""
    return [part.tolist() for part in np.array_split(rng.permutation(len(labels)), num_clients)]


def dirichlet(
    labels: np.ndarray, num_clients: int, beta: float, min_samples: int, rng: np.random.Generator
) -> list[list[int]]:
    """Label skew after Hsu et al. 2019: each class is shared among clients in Dirichlet(beta)
    proportions (small beta = few classes per client). Draws are repeated until every client
    holds at least `min_samples` samples."""
    classes = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    for _ in range(DIRICHLET_ATTEMPTS):
        shares: list[list[int]] = [[] for _ in range(num_clients)]
        for members in classes:
            proportions = rng.dirichlet(np.full(num_clients, float(beta)))
            cuts = np.round(np.cumsum(proportions)[:-1] * len(members)).astype(int)
            for client, part in enumerate(np.split(rng.permutation(members), cuts)):
                shares[client] += part.tolist()
        if min(len(share) for share in shares) >= min_samples:
            return shuffled(shares, rng)
    raise UsageError(
        f"--p_type dirichlet --beta {beta}: no split in {DIRICHLET_ATTEMPTS} draws gives each of "
        f"{num_clients} clients at least --min_samples {min_samples}; raise --beta or lower --min_samples"
    )


def shuffled(shares: list[list[int]], rng: np.random.Generator) -> list[list[int]]:
    """Each client's indices in random order, so its data is not sorted by class."""
    return [[int(i) for i in rng.permutation(share)] for share in shares]


def fix_class(
    labels: np.ndarray, num_clients: int, classes_per_client: int, rng: np.random.Generator
) -> list[list[int]]:
    """Pathological skew: client c holds exactly `classes_per_client` classes, assigned cyclically
    over a random class order so every class has an owner; a class's samples are split evenly
    among its owners."""
    classes = np.unique(labels)
    if not 1 <= classes_per_client <= len(classes):
        raise UsageError(f"--num_classes_per_client {classes_per_client}: must be between 1 and {len(classes)}")
    if num_clients * classes_per_client < len(classes):
        raise UsageError(
            f"--p_type fix_class: {num_clients} clients x --num_classes_per_client {classes_per_client} "
            f"cannot cover all {len(classes)} classes; raise one of them"
        )
    order = rng.permutation(classes).tolist()
    owned = [
        {order[(c * classes_per_client + j) % len(order)] for j in range(classes_per_client)}
        for c in range(num_clients)
    ]
    shares: list[list[int]] = [[] for _ in range(num_clients)]
    for label in order:
        owners = [c for c in range(num_clients) if label in owned[c]]
        members = rng.permutation(np.flatnonzero(labels == label))
        for owner, part in zip(owners, np.array_split(members, len(owners)), strict=True):
            shares[owner] += part.tolist()
    return shuffled(shares, rng)


def partition(
    labels: np.ndarray,
    num_clients: int,
    is_iid: bool,
    p_type: str,
    beta: float,
    classes_per_client: int,
    min_samples: int,
    seed: int,
) -> list[list[int]]:
    """The clients' index lists for --iid or --p_type (seeded); checks that each client gets data."""
    rng = np.random.default_rng(seed)
    if num_clients > len(labels):
        raise UsageError(f"--total_clients {num_clients}: more clients than the {len(labels)} training samples")
    if is_iid:
        shares = iid(labels, num_clients, rng)
    elif p_type == "dirichlet":
        if beta <= 0:
            raise UsageError(f"--beta {beta}: the Dirichlet concentration must be positive")
        shares = dirichlet(labels, num_clients, beta, min_samples, rng)
    elif p_type == "fix_class":
        shares = fix_class(labels, num_clients, classes_per_client, rng)
    else:
        raise UsageError(f"--p_type {p_type!r} is unknown; choose one of: {', '.join(P_TYPES)}")
    empty = [c for c, share in enumerate(shares) if not share]
    if empty:
        raise UsageError(f"client(s) {empty} got no data; use fewer --total_clients")
    return shares
