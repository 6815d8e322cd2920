"""The sink that attacks audited replies: one registered attack per Observation, written as our usual PNG
and JSON (never overwriting). Without ground truth (a real deployment) the output is the reconstruction,
the attack's statistics and its restored labels; with a TruthChannel (simulation) it is scored as ours is."""

import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from fedprivacy.attacks import AttackConfig, AttackSpec, get_attack  # noqa: E402
from fedprivacy.evaluation.report import output_paths, save_grid, write_json  # noqa: E402
from fedprivacy.evaluation.runner import attack_cases  # noqa: E402
from fedprivacy.fl.case import Case  # noqa: E402
from fedprivacy.fl.observation import Observation  # noqa: E402
from fedprivacy.flower.truth import TruthChannel  # noqa: E402
from fedprivacy.utils.errors import AttackDiverged, UsageError  # noqa: E402


def attack_setup(name: str, preset: str | None = None, **settings) -> tuple[AttackSpec, AttackConfig]:
    """The registered attack `name` with its defaults, then its `preset`, then `settings` (its options and the
    run's knobs by name, attacks/spec.py); an attack the audit cannot serve is a one-line error at start-up."""
    spec = get_attack(name)
    if spec.needs.imprint:
        raise UsageError(f"attack {name} needs the server's imprint block before the model; the audit has none")
    return spec, spec.configure(preset, **{"progress": False, **settings})


class AttackAudit:
    """Attack each Observation handed over by an AuditingStrategy and write `{name}_{attack}_r{round}_n{node}`."""

    def __init__(
        self,
        attack: str,
        out_dir: str | Path,
        truth: TruthChannel | None = None,
        overwrite: bool = False,
        name: str = "flower",
        preset: str | None = None,
        **settings,
    ) -> None:
        self.spec, self.config = attack_setup(attack, preset, **settings)
        self.out_dir, self.truth, self.overwrite, self.name = Path(out_dir), truth, overwrite, name
        self.reports: list[dict] = []

    def __call__(self, server_round: int, node: int, observation: Observation) -> None:
        stem = f"{self.name}_{self.spec.name}_r{server_round}_n{node}"
        png, json_path = output_paths(self.out_dir, stem, self.overwrite)
        local = observation.local_training
        report = {
            "round": server_round,
            "node": node,
            "attack": self.spec.name,
            "attack_settings": vars(self.config.options),
            "num_images": observation.num_images,
            "local_training": None if local is None else vars(local),
            "grid": str(png),
        }
        private = None if self.truth is None else self.truth.take(server_round, node)
        if private is None:
            report |= self.unscored(observation, png)
        else:
            report |= self.scored(observation, private, png, {"round": server_round, "node": node})
        write_json(json_path, report)
        self.reports.append(report)

    def unscored(self, observation: Observation, png: Path) -> dict:
        """No ground truth: the reconstruction, the attack's own statistics and the labels it restored."""
        started = time.perf_counter()
        try:
            result = self.spec.run(observation, self.config)
        except AttackDiverged as error:
            return {"scored": False, "status": "diverged", "error": str(error), "grid": None}
        seconds = time.perf_counter() - started
        pixels = observation.normalization.denormalize(result.images.detach().cpu()).clamp(0, 1)
        labels = [int(y) for y in result.labels.cpu()]
        save_reconstructions(pixels, [f"label {y}" for y in labels], png)
        return {"scored": False, "status": "ok", "restored_labels": labels, "stats": result.stats, "seconds": seconds}

    def scored(self, observation: Observation, private: tuple, png: Path, meta: dict) -> dict:
        """Simulation: score against the private batch handed over the separate channel, as main_fed does."""
        pixels, labels = private
        run = attack_cases(self.spec, self.config, [Case(observation, pixels, labels, meta)])
        captions = ["diverged" if row["psnr"] is None else f"{row['psnr']:.1f} dB" for row in run.per_image]
        save_grid(run.truth, run.reconstructed, captions, png)
        return {"scored": True, "summary": run.summary, "per_image": run.per_image, "experiments": run.experiments}


def save_reconstructions(pixels: torch.Tensor, captions: list[str], path: Path, columns: int = 10) -> None:
    """The reconstructed images alone ([0, 1], N C H W), a caption under each: a deployment has no truth."""
    columns = min(columns, len(pixels))
    rows = math.ceil(len(pixels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.5 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for index, image in enumerate(pixels):
        picture = image.permute(1, 2, 0).numpy()
        axis = axes[divmod(index, columns)]
        axis.imshow(picture.squeeze(-1) if picture.shape[-1] == 1 else picture, cmap="gray", vmin=0, vmax=1)
        axis.set_title(captions[index], fontsize=7, y=-0.28)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
