"""Score a reconstruction against the private batch: pair 1:1, then per-image metrics."""

import statistics

import torch

from fedprivacy.evaluation.metrics import flat_psnr, label_accuracy, lpips_distance, mse, psnr, recognisable, ssim
from fedprivacy.evaluation.pairing import pair_by_mse

SUCCESS_DB = 30.0  # a reconstruction above this PSNR counts as a success in summaries


def score_batch(
    truth: torch.Tensor, truth_labels: torch.Tensor, reconstructed: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, list[dict]]:
    """Pair [0, 1] reconstructions to the truth by optimal assignment and score each pair.

    Returns the reconstructions in truth order and one dict per image with mse, psnr, ssim, lpips, the flat
    image's PSNR and whether the image is recognisable (evaluation/metrics.py), the paired predicted label
    and whether it is right.
    """
    order = pair_by_mse(reconstructed, truth)
    paired, paired_labels = reconstructed[order], labels[order]
    lpips = lpips_distance(paired, truth)
    scores = zip(mse(paired, truth), psnr(paired, truth), ssim(paired, truth), flat_psnr(truth), strict=True)
    rows = [
        {
            "label": int(truth_labels[i]),
            "predicted_label": int(paired_labels[i]),
            "label_ok": bool(paired_labels[i] == truth_labels[i]),
            "mse": float(m),
            "psnr": float(p),
            "ssim": float(s),
            "lpips": None if lpips is None else lpips[i],
            "flat_psnr": float(f),
            "recognisable": bool(recognisable(p, s, f)),
        }
        for i, (m, p, s, f) in enumerate(scores)
    ]
    return paired, rows


def mean_of(rows: list[dict], key: str) -> float | None:
    values = [row[key] for row in rows if row.get(key) is not None]
    return sum(values) / len(values) if values else None


def summarise(rows: list[dict], predicted: list[torch.Tensor], truth: list[torch.Tensor], seconds: float) -> dict:
    """Means over scored images, multiset label accuracy over all batches, time and failures."""
    scored = [row for row in rows if row.get("psnr") is not None]
    total = sum(len(t) for t in truth)
    matched = sum(label_accuracy(p, t) * len(t) for p, t in zip(predicted, truth, strict=True))
    psnrs = sorted(row["psnr"] for row in scored)
    return {
        "psnr": mean_of(scored, "psnr"),
        "psnr_median": statistics.median(psnrs) if psnrs else None,
        "ssim": mean_of(scored, "ssim"),
        "lpips": mean_of(scored, "lpips"),
        "label_acc": matched / total if total else None,
        "success_rate": sum(p > SUCCESS_DB for p in psnrs) / len(rows) if rows else None,
        "seconds": seconds,
        "images": len(rows),
        "failed": len(rows) - len(scored),
    }
