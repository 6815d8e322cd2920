"""A tqdm progress bar that shows the current loss."""

from tqdm import tqdm


def loss_bar(total: int, description: str, enabled: bool = True) -> tqdm:
    """A bar over optimisation steps; call `.set_postfix(loss=...)` and `.update()` per step."""
    return tqdm(total=total, desc=description, disable=not enabled, leave=False, mininterval=0.5, dynamic_ncols=True)
