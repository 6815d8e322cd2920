"""Train the image generator GGL searches: WGAN-GP (Gulrajani et al. 2017) or DCGAN, on any dataset.

    python -m fedprivacy.cli.train_generator --dataset digits --out checkpoints/digits.pt
    python -m fedprivacy.cli.train_generator --dataset npz --base_data_dir ../shared/data/mnist_test.npz \
        --split test --num_images 9000 --out checkpoints/mnist.pt
    python -m fedprivacy.cli.train_generator --dataset npz --base_data_dir ../shared/data/cifar10_subset.npz \
        --steps 20000 --minutes 30 --out checkpoints/cifar10.pt      # run again with --resume to continue

The checkpoint holds the generator, the critic and both optimisers (so --resume continues exactly)
and its metadata: dataset, image size, channels, latent size, width, loss and steps done. A sample
grid is written beside it (same name, .png). Use the split the attacked images are NOT drawn from
(--num_images takes the first N images, so attack from --start_index N on): the entry scripts refuse
a generator whose training set may hold the attacked or the clients' images (fl/public.py).
"""

import os
import time
from argparse import Namespace
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.utils import save_image

from fedprivacy.cli.common import AppliesTo, OneLineParser, add_dry_run_argument, device_name, positive, run_cli
from fedprivacy.cli.device import resolve_device
from fedprivacy.data import DATASETS, load_split
from fedprivacy.data.names import REAL, TORCHVISION_SETS
from fedprivacy.fl.public import source_name
from fedprivacy.models.generators import Critic, ImageGenerator, read_checkpoint, save_checkpoint
from fedprivacy.utils import claims, signals
from fedprivacy.utils.atomic import prepare_out_dir, write_together
from fedprivacy.utils.data_dir import base_data_dir
from fedprivacy.utils.domains import IMAGE_SIZE, NON_NEGATIVE, POSITIVE, SEED, path_text
from fedprivacy.utils.errors import Interrupted, RunFailed, UsageError
from fedprivacy.utils.memory import require_memory
from fedprivacy.utils.progress import loss_bar
from fedprivacy.utils.seeding import seed_everything

LOSSES = ("wgan-gp", "dcgan")
BETAS = {"wgan-gp": (0.5, 0.9), "dcgan": (0.5, 0.999)}
DEFAULT_LR = {"wgan-gp": 1e-4, "dcgan": 2e-4}
ARCHITECTURE = ("dataset", "channels", "image_size", "latent", "width", "loss")


def parse_args(argv: list[str] | None = None) -> Namespace:
    parser = OneLineParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--dataset", default="digits", help=f"one of: {', '.join(DATASETS)}")
    add("--base_data_dir", type=path_text, default=base_data_dir(), help="as in main_grad.py")
    add("--download", action="store_true", help="download a torchvision dataset into --base_data_dir")
    add("--split", choices=("train", "test"), default="train", help="split to learn from")
    add("--num_images", type=positive, default=None, help="use only the first N images of the split")
    add("--image_size", type=IMAGE_SIZE, default=None, help="resize images to this square size")
    add("--loss", choices=LOSSES, default="wgan-gp", help="wgan-gp (GGL's choice) or dcgan (faster per step)")
    add("--steps", type=positive, default=3000, help="generator updates in total (a resumed run counts on)")
    add("--batch_size", type=positive, default=64)
    add("--latent", type=positive, default=128, help="latent size (GGL: 128)")
    add("--width", type=positive, default=32, help="channels of the generator's last block (doubles upwards)")
    add("--lr", type=POSITIVE, default=None, help="Adam step size (default 1e-4 for wgan-gp, 2e-4 for dcgan)")
    add("--critic_steps", type=positive, default=5, help="wgan-gp: critic updates per generator update")
    add("--gp", type=NON_NEGATIVE, default=10.0, help="wgan-gp: gradient-penalty weight")
    add("--minutes", type=POSITIVE, default=None, help="stop (and save) after this many minutes")
    add("--save_every", type=positive, default=500, help="save the checkpoint every N generator updates")
    add(
        "--out",
        type=path_text,
        required=True,
        help="checkpoint path (e.g. checkpoints/mnist.pt); the sample sheet goes beside it, same name, .png",
    )
    add("--resume", action="store_true", help="continue the checkpoint at --out")
    add("--seed", type=SEED, default=0)
    add("--device", type=device_name, default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    add("--quiet", action="store_true", help="no progress bar")
    add_dry_run_argument(parser)
    parser.applies("base_data_dir", AppliesTo("dataset", frozenset(REAL)))
    parser.applies("download", AppliesTo("dataset", frozenset(TORCHVISION_SETS)))
    for dest in ("critic_steps", "gp"):
        parser.applies(dest, AppliesTo("loss", frozenset({"wgan-gp"})))
    return parser.parse_args(argv)


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: (||grad critic(x)|| - 1)^2 at random points between real and fake images."""
    mix = torch.rand(len(real), 1, 1, 1, device=real.device)
    points = (mix * real + (1 - mix) * fake).requires_grad_()
    (grad,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def critic_loss(loss: str, critic: Critic, real: torch.Tensor, fake: torch.Tensor, gp: float) -> torch.Tensor:
    real_score, fake_score = critic(real), critic(fake)
    if loss == "dcgan":
        return F.softplus(-real_score).mean() + F.softplus(fake_score).mean()
    return fake_score.mean() - real_score.mean() + gp * gradient_penalty(critic, real, fake)


def generator_loss(loss: str, critic: Critic, fake: torch.Tensor) -> torch.Tensor:
    score = critic(fake)
    return F.softplus(-score).mean() if loss == "dcgan" else -score.mean()


def training_images(args: Namespace) -> tuple[torch.Tensor, str]:
    """All training images in memory, [0, 1], and the dataset's name for the metadata."""
    split = load_split(args.dataset, args.split, args.base_data_dir, args.download, args.image_size)
    count = len(split) if args.num_images is None else min(args.num_images, len(split))
    if count < args.batch_size:
        raise UsageError(
            f"--dataset {args.dataset} --split {args.split} has {count} images, fewer than --batch_size "
            f"{args.batch_size}; a generator needs many more (use digits, the MNIST test set or a real dataset)"
        )
    images, _ = split.batch(list(range(count)))
    return images, source_name(args.dataset, args.base_data_dir)


def output_files(text: str, resume: bool) -> tuple[Path, Path]:
    """--out and the sample sheet beside it (same name, .png), checked before any work: a file path that is
    not the sheet's; a new run replaces neither an existing checkpoint nor a file of another tool under
    the sheet's name (e.g. a grid whose JSON points at it)."""
    out = Path(text)
    if not text.strip():
        raise UsageError("--out: empty; give the checkpoint's path, e.g. checkpoints/digits.pt")
    if text.endswith(("/", os.sep)) or out.is_dir():
        raise UsageError(f"--out {text}: is a folder; give the checkpoint's path in it, e.g. {out / 'generator.pt'}")
    sheet = out.with_suffix(".png")
    if sheet == out:
        raise UsageError(
            f"--out {text}: the sample sheet is written beside the checkpoint under its name with .png; "
            f"give the checkpoint another suffix, e.g. {out.with_suffix('.pt')}"
        )
    if not resume and out.exists():
        raise UsageError(f"--out {out} exists; pass --resume to continue it or choose another path")
    if not resume and os.path.lexists(sheet):
        raise UsageError(f"--out {out}: {sheet} (where its sample sheet goes) exists; move it or choose another --out")
    return out, sheet


def check_memory(args: Namespace, channels: int, size: tuple[int, int]) -> None:
    """Before any work: the generator, the critic, their gradients and Adam's two moments, and a batch's
    activations (kept for the backward pass and, with wgan-gp, the gradient penalty's second one) must fit."""
    counted: list[int] = []
    try:
        with torch.device("meta"):
            generator = ImageGenerator(args.latent, channels, size, args.width)
            critic = Critic(channels, size, args.width)
            hooks = [
                module.register_forward_hook(lambda _m, _i, output: counted.append(output.numel()))
                for module in (*generator.modules(), *critic.modules())
            ]
            critic(generator(torch.zeros(args.batch_size, args.latent)))
            for hook in hooks:
                hook.remove()
    except (RuntimeError, ValueError, TypeError, OverflowError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:120]
        raise UsageError(
            f"--width {args.width} --latent {args.latent}: a generator this large cannot be built ({first})"
        ) from None
    parameters = sum(p.numel() for net in (generator, critic) for p in net.parameters())
    passes = 3 if args.loss == "wgan-gp" else 2
    require_memory(
        f"a {args.loss} generator of --width {args.width} --latent {args.latent} at --batch_size {args.batch_size} "
        f"on {channels}x{size[0]}x{size[1]} images",
        4 * parameters + passes * sum(counted),
        "lower --width or --batch_size",
    )


def finite(*losses: torch.Tensor) -> bool:
    return all(bool(torch.isfinite(loss.detach()).all()) for loss in losses)


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    device = resolve_device(args.device)
    out, sheet = output_files(args.out, args.resume)
    if args.dry_run == "flags":
        claims.require_unclaimed([out, sheet], "--out")
        print(f"dry run (flags): a {args.loss} generator on --dataset {args.dataset}; would write {out}")
        return out
    seed_everything(args.seed)
    images, dataset = training_images(args)
    meta = {
        "dataset": dataset,
        "split": args.split,
        "num_images": len(images),
        "channels": images.shape[1],
        "image_size": list(images.shape[2:]),
        "latent": args.latent,
        "width": args.width,
        "loss": args.loss,
        "steps": 0,
        "seconds": 0.0,
    }
    size = tuple(meta["image_size"])
    check_memory(args, meta["channels"], size)
    generator = ImageGenerator(args.latent, meta["channels"], size, args.width).to(device)
    critic = Critic(meta["channels"], size, args.width).to(device)
    lr = args.lr or DEFAULT_LR[args.loss]
    optimizers = {
        "generator": torch.optim.Adam(generator.parameters(), lr=lr, betas=BETAS[args.loss]),
        "critic": torch.optim.Adam(critic.parameters(), lr=lr, betas=BETAS[args.loss]),
    }
    if args.resume:
        checkpoint = read_checkpoint(out, "--out")
        changed = [key for key in ARCHITECTURE if checkpoint["meta"][key] != meta[key]]
        if changed:
            raise UsageError(f"--resume: {out} differs from these flags in {', '.join(changed)}; use the same ones")
        generator.load_state_dict(checkpoint["generator"])
        critic.load_state_dict(checkpoint["critic"])
        for name, optimizer in optimizers.items():
            optimizer.load_state_dict(checkpoint[f"{name}_optimizer"])
        meta = checkpoint["meta"]
    if args.dry_run:
        claims.require_unclaimed([out, sheet], "--out")
        print(
            f"dry run: a {args.loss} generator on {len(images)} {dataset} images, from step {meta['steps']} to "
            f"{args.steps}; would write {out}"
        )
        return out
    prepare_out_dir(out.parent, "--out's folder")
    claims.claim_exact([out, sheet], "--out")

    def save(last: bool = False) -> None:
        """The checkpoint and its sample sheet, written together (utils/atomic.py)."""
        states = {"generator": generator.state_dict(), "critic": critic.state_dict()}
        states |= {f"{name}_optimizer": opt.state_dict() for name, opt in optimizers.items()}
        with torch.no_grad():
            samples = generator.eval()(torch.randn(64, args.latent, device=device))
        generator.train()
        write_together(
            {
                out: lambda path: save_checkpoint(path, meta, states),
                sheet: lambda path: save_image(samples.cpu(), path, nrow=8),
            },
            release=last,
        )

    started, done_before, saved = time.perf_counter(), meta["seconds"], meta["steps"] if args.resume else None
    critic_steps = args.critic_steps if args.loss == "wgan-gp" else 1
    images = images.to(device)
    try:
        with loss_bar(args.steps - meta["steps"], f"{args.loss} generator", not args.quiet) as bar:
            while meta["steps"] < args.steps:
                with signals.between_steps():  # a signal lands between whole steps, counted
                    try:
                        c_loss, g_loss = train_step(args, generator, critic, optimizers, images, critic_steps)
                    except RuntimeError as error:  # Adam's step beyond float32 (a --lr near its top)
                        if "without overflow" not in str(error):
                            raise
                        c_loss = g_loss = torch.tensor(float("inf"))
                    if finite(c_loss, g_loss):
                        meta["steps"] += 1
                if not finite(c_loss, g_loss):
                    kept = "nothing was written" if saved is None else f"{out} keeps step {saved}"
                    lower = "--lr or --gp" if args.loss == "wgan-gp" else "--lr"
                    raise RunFailed(
                        f"step {meta['steps'] + 1}: the losses became non-finite (critic {float(c_loss):.3g}, "
                        f"generator {float(g_loss):.3g}); {kept}; try a smaller {lower}"
                    )
                meta["seconds"] = done_before + time.perf_counter() - started
                bar.set_postfix(critic=f"{float(c_loss.detach()):.3g}", generator=f"{float(g_loss.detach()):.3g}")
                bar.update()
                if meta["steps"] % args.save_every == 0:
                    save()
                    saved = meta["steps"]
                if args.minutes and time.perf_counter() - started > 60 * args.minutes:
                    break
    except KeyboardInterrupt:
        if meta["steps"] == 0 and saved is None:
            raise
        if saved != meta["steps"]:
            save(last=True)
        raise Interrupted(
            f"{signals.stopped_by()}; the generator after {meta['steps']} steps is in {out} (--resume continues it)"
        ) from None
    save(last=True)
    print(
        f"generator: {meta['steps']} steps ({meta['seconds']:.0f} s) on {dataset} "
        f"{meta['channels']}x{size[0]}x{size[1]}, latent {args.latent} -> {out} (samples: {sheet})"
    )
    return out


def train_step(
    args: Namespace,
    generator: ImageGenerator,
    critic: Critic,
    optimizers: dict[str, torch.optim.Optimizer],
    images: torch.Tensor,
    critic_steps: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One generator update after `critic_steps` critic updates; the last losses of both."""
    device = images.device
    for _ in range(critic_steps):
        real = images[torch.randint(len(images), (args.batch_size,), device=device)]
        with torch.no_grad():
            fake = generator(torch.randn(args.batch_size, args.latent, device=device))
        optimizers["critic"].zero_grad()
        c_loss = critic_loss(args.loss, critic, real, fake, args.gp)
        c_loss.backward()
        optimizers["critic"].step()
    optimizers["generator"].zero_grad()
    g_loss = generator_loss(args.loss, critic, generator(torch.randn(args.batch_size, args.latent, device=device)))
    g_loss.backward()
    optimizers["generator"].step()
    return c_loss, g_loss


if __name__ == "__main__":
    run_cli(main)
