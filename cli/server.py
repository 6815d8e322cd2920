"""What the server sets up before a run, for both entry scripts: its model (pretrained weights; the imprint
block with --imprint), the attack's public sources, and the check that the attack fits them. Every use of
public data lands in one PublicKnowledge record (fl/knowledge.py), whose sources fl/public.py vets."""

from argparse import Namespace
from typing import Any

import torch
from torch import nn

from fedprivacy.attacks import AttackConfig, AttackSpec
from fedprivacy.attacks.fits import check
from fedprivacy.cli.attack_flags import attack_options
from fedprivacy.cli.common import head_width, progress_style
from fedprivacy.data import DatasetInfo, Normalization
from fedprivacy.fl.knowledge import PublicKnowledge, probe_record
from fedprivacy.fl.public import PublicData, generator_record, imprint_server
from fedprivacy.models import build_model, load_pretrained
from fedprivacy.models.generators import read_checkpoint
from fedprivacy.utils.errors import UsageError
from fedprivacy.utils.threads import default_threads


def attack_config(spec: AttackSpec, args: Namespace) -> AttackConfig:
    """The attack's options as the flags resolve them, and the run's knobs (seed, progress, processes for the
    L-BFGS attacks' trials, trials batched at once, trials before an early stop); --min_trials above the
    attack's restarts is refused (no run could honour it)."""
    options = attack_options(spec, args)
    restarts = getattr(options, "restarts", 1)
    if args.min_trials > restarts:
        raise UsageError(
            f"--min_trials {args.min_trials}: --{spec.name}.restarts is {restarts}; give at most that, or more restarts"
        )
    workers = args.threads or default_threads()
    return AttackConfig(options, args.seed, progress_style(args), workers, args.trial_batch, args.min_trials)


def attack_knowledge(
    spec: AttackSpec | None, options: Any, args: Namespace, public: PublicData, attacked: range
) -> PublicKnowledge:
    """The attack's own public sources: the label-count probe (labels restored at batch > 1) and, for an attack
    that needs a generator, its training set, refused when it may hold the attacked (`attacked`: indices in the
    private split) or the clients' images."""
    knowledge = PublicKnowledge()
    if spec is None:
        return knowledge
    batch = args.rec_batch_size > 1 or getattr(args, "secure_aggregation", False)  # an aggregate: the round's images
    if spec.needs.label_layer and batch and not args.known_labels:
        knowledge.label_probe = probe_record()
    if spec.needs.generator:
        if options.generator is None:
            raise UsageError(
                f"--attack {spec.name} needs --{spec.name}.generator (a checkpoint from "
                "python -m fedprivacy.cli.train_generator)"
            )
        knowledge.generator = generator_record(read_checkpoint(options.generator)["meta"], public, attacked)
    return knowledge


def server_model(
    args: Namespace,
    info: DatasetInfo,
    normalization: Normalization,
    public: PublicData,
    device: torch.device,
    knowledge: PublicKnowledge,
    pretrained: str | None = None,
) -> tuple[nn.Module, int]:
    """The model the server broadcasts and its number of outputs: built for the data, with `pretrained`
    weights, on `device`, behind the imprint block with --imprint (its bins' source recorded in `knowledge`)."""
    classes = head_width(args.num_classes, info)
    model = build_model(args.model, info.channels, info.image_size, classes)
    if pretrained:
        load_pretrained(model, pretrained)
    model = model.to(device)
    if args.imprint:
        model, knowledge.imprint = imprint_server(model, info, args.bins, normalization, public)
    return model, classes


def check_attack_fits(
    spec: AttackSpec,
    args: Namespace,
    model: nn.Module,
    num_classes: int,
    update: bool,
    num_images: int | None = None,
    aggregate: bool = False,
) -> None:
    """Before any work: the server's model, the batch (`num_images`, default --rec_batch_size) and what the client
    will share (a secure `aggregate` of a round), against what the attack needs (attacks/fits.py), in one line."""
    images = args.rec_batch_size if num_images is None else num_images
    labels = args.known_labels
    check(spec.name, spec.needs, model, images, num_classes, update=update, labels=labels, aggregate=aggregate)
