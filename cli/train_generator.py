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

import time
from argparse import Namespace
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.utils import save_image

from fedprivacy.cli.common import OneLineParser, add_dry_run_argument, device_name, positive, resolve_device, run_cli
from fedprivacy.data import DATASETS, load_split
from fedprivacy.fl.public import source_name
from fedprivacy.models.generators import Critic, ImageGenerator, read_checkpoint, save_checkpoint
from fedprivacy.utils.data_dir import base_data_dir
from fedprivacy.utils.domains import IMAGE_SIZE, NON_NEGATIVE, POSITIVE, SEED
from fedprivacy.utils.errors import UsageError
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
    add("--base_data_dir", default=base_data_dir(), help="as in main_grad.py")
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
    add("--out", required=True, help="checkpoint path (e.g. checkpoints/mnist.pt)")
    add("--resume", action="store_true", help="continue the checkpoint at --out")
    add("--seed", type=SEED, default=0)
    add("--device", type=device_name, default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    add("--quiet", action="store_true", help="no progress bar")
    add_dry_run_argument(parser)
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


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    device = resolve_device(args.device)
    if args.dry_run == "flags":
        print(f"dry run (flags): a {args.loss} generator on --dataset {args.dataset}; would write {args.out}")
        return Path(args.out)
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
    generator = ImageGenerator(args.latent, meta["channels"], size, args.width).to(device)
    critic = Critic(meta["channels"], size, args.width).to(device)
    lr = args.lr or DEFAULT_LR[args.loss]
    optimizers = {
        "generator": torch.optim.Adam(generator.parameters(), lr=lr, betas=BETAS[args.loss]),
        "critic": torch.optim.Adam(critic.parameters(), lr=lr, betas=BETAS[args.loss]),
    }
    out = Path(args.out)
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
    elif out.exists():
        raise UsageError(f"--out {out} exists; pass --resume to continue it or choose another path")
    if args.dry_run:
        print(
            f"dry run: a {args.loss} generator on {len(images)} {dataset} images, from step {meta['steps']} to "
            f"{args.steps}; would write {out}"
        )
        return out

    def save() -> None:
        states = {"generator": generator.state_dict(), "critic": critic.state_dict()}
        states |= {f"{name}_optimizer": opt.state_dict() for name, opt in optimizers.items()}
        save_checkpoint(out, meta, states)
        with torch.no_grad():
            samples = generator.eval()(torch.randn(64, args.latent, device=device))
        generator.train()
        save_image(samples.cpu(), out.with_suffix(".png"), nrow=8)

    started, done_before = time.perf_counter(), meta["seconds"]
    critic_steps = args.critic_steps if args.loss == "wgan-gp" else 1
    images = images.to(device)
    with loss_bar(args.steps - meta["steps"], f"{args.loss} generator", not args.quiet) as bar:
        while meta["steps"] < args.steps:
            for _ in range(critic_steps):
                real = images[torch.randint(len(images), (args.batch_size,), device=device)]
                with torch.no_grad():
                    fake = generator(torch.randn(args.batch_size, args.latent, device=device))
                optimizers["critic"].zero_grad()
                c_loss = critic_loss(args.loss, critic, real, fake, args.gp)
                c_loss.backward()
                optimizers["critic"].step()
            optimizers["generator"].zero_grad()
            g_loss = generator_loss(
                args.loss, critic, generator(torch.randn(args.batch_size, args.latent, device=device))
            )
            g_loss.backward()
            optimizers["generator"].step()
            meta["steps"] += 1
            meta["seconds"] = done_before + time.perf_counter() - started
            bar.set_postfix(critic=f"{float(c_loss.detach()):.3g}", generator=f"{float(g_loss.detach()):.3g}")
            bar.update()
            if meta["steps"] % args.save_every == 0:
                save()
            if args.minutes and time.perf_counter() - started > 60 * args.minutes:
                break
    save()
    print(
        f"generator: {meta['steps']} steps ({meta['seconds']:.0f} s) on {dataset} "
        f"{meta['channels']}x{size[0]}x{size[1]}, latent {args.latent} -> {out} (samples: {out.with_suffix('.png')})"
    )
    return out


if __name__ == "__main__":
    run_cli(main)
