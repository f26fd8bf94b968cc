"""vaelab's VAE trained by a plain PyTorch loop: the core of vaelab on one screen, as pytorch/examples' vae/main.py.

    python examples/minimal_vae.py --epochs 10          # MNIST from $VAELAB_DATA (or downloaded), 2-D latent

The model (``vaelab.models.VAE``: encoder q(z|x), reparameterized z, Bernoulli decoder p(x|z), loss = -ELBO per
image in nats; Kingma & Welling 2014) and the data loader are vaelab's; the loop is ordinary PyTorch. ``vaelab
train`` adds to it what a run needs (checkpoints, resuming, metrics, schedules, several processes).
"""

import argparse

import torch

from vaelab.data import binarize_dynamic, load_dataset
from vaelab.models import VAE, VAEConfig

parser = argparse.ArgumentParser(description="vaelab's VAE on MNIST, trained by a plain loop")
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--latent-dim", type=int, default=2)
parser.add_argument("--limit", type=int, default=None, help="the first N training images only")
parser.add_argument("--steps", type=int, default=None, help="stop each epoch after this many steps")
parser.add_argument("--data-dir", default=None)
args = parser.parse_args()
torch.manual_seed(1)

train = load_dataset("mnist", "train", args.data_dir, limit=args.limit).images  # (N, 1, 28, 28) in [0, 1]
test = load_dataset("mnist", "test", args.data_dir, limit=1000).images
model = VAE(VAEConfig(latent_dim=args.latent_dim, hidden=(512, 256)))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

for epoch in range(1, args.epochs + 1):
    model.train()
    order = torch.randperm(len(train))
    for step, i in enumerate(range(0, len(train), args.batch_size)):
        if args.steps is not None and step == args.steps:
            break
        x = binarize_dynamic(train[order[i : i + args.batch_size]])  # a fresh binarization of each image
        loss = model(x).loss.mean()  # -ELBO, nats per image
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        test_loss = model(binarize_dynamic(test, torch.Generator().manual_seed(0))).loss.mean().item()
    print(f"epoch {epoch}: train loss {loss.item():.2f}, test -ELBO {test_loss:.2f} nats per image")

with torch.no_grad():
    samples = model.sample(64, torch.Generator().manual_seed(0))  # (64, 1, 28, 28) in [0, 1]
print(f"samples: {tuple(samples.shape)}, mean pixel {samples.mean().item():.3f}")
