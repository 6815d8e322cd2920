"""The partitioners cover every sample exactly once and give the class skew they are asked for."""

import numpy as np
import pytest

from fedprivacy.fl.partition import partition
from fedprivacy.utils.errors import UsageError

LABELS = np.arange(2000) % 10  # 10 classes of 200 samples


def split(
    p_type: str = "dirichlet", iid: bool = False, beta: float = 0.5, k: int = 2, clients: int = 10, seed: int = 0
):
    return partition(LABELS, clients, iid, p_type, beta, k, 10, seed)


def dominant_share(shares: list[list[int]]) -> float:
    """Mean over clients of the share of their most frequent class."""
    return float(np.mean([np.bincount(LABELS[share], minlength=10).max() / len(share) for share in shares]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"iid": True},
        {"p_type": "dirichlet", "beta": 0.1},
        {"p_type": "dirichlet", "beta": 0.5},
        {"p_type": "fix_class"},
    ],
)
def test_every_sample_exactly_once(kwargs: dict) -> None:
    shares = split(**kwargs)
    flat = [i for share in shares for i in share]
    assert len(shares) == 10
    assert sorted(flat) == list(range(len(LABELS)))


def test_fix_class_gives_each_client_exactly_k_classes() -> None:
    for k in (1, 2, 3):
        shares = split("fix_class", k=k)
        assert [len(set(LABELS[share].tolist())) for share in shares] == [k] * 10


def test_dirichlet_skew_follows_beta_and_keeps_the_minimum() -> None:
    skewed, mild, uniform = (split("dirichlet", beta=b) for b in (0.1, 1.0, 100.0))
    assert dominant_share(skewed) > 0.5
    assert dominant_share(skewed) > dominant_share(mild) > dominant_share(uniform)
    assert dominant_share(uniform) < 0.2
    assert min(len(share) for share in skewed) >= 10


def test_iid_clients_see_the_global_class_mix() -> None:
    shares = split(iid=True)
    assert dominant_share(shares) < 0.2
    assert {len(share) for share in shares} == {200}


def test_same_seed_same_split_other_seed_other_split() -> None:
    assert split(seed=3) == split(seed=3)
    assert split(seed=3) != split(seed=4)


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"p_type": "fix_class", "k": 11}, "--num_classes_per_client"),
        ({"p_type": "fix_class", "k": 1, "clients": 5}, "cannot cover"),
        ({"p_type": "dirichlet", "beta": 0.0}, "--beta"),
        ({"p_type": "dirichlet", "beta": 0.01, "clients": 20}, "--min_samples"),
        ({"p_type": "uniform"}, "--p_type"),
        ({"iid": True, "clients": 3000}, "--total_clients"),
    ],
)
def test_impossible_splits_are_usage_errors(kwargs: dict, flag: str) -> None:
    with pytest.raises(UsageError, match=flag):
        split(**kwargs)
