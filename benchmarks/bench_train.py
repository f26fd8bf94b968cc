"""Training throughput: vaelab's trainer vs a loop written the way pytorch/examples' VAE is.

Reference (pytorch/examples, vae/main.py): a torch ``DataLoader`` (batch 128, shuffle) over a dataset whose
``__getitem__`` turns each uint8 image into a PIL image and then a float tensor, as torchvision's ``ToTensor``
does; the 784-400-20 MLP VAE with sigmoid output, ``F.binary_cross_entropy(reduction='sum')`` + KL, Adam 1e-3.

vaelab: ``Trainer`` on the same 784-400-20 network, the data in memory as one tensor, batches sliced from a
permutation, fused Adam, BCE-with-logits. The ratio compares the same objective: vaelab with ``binarize="none"``
(BCE on grey pixels, as the reference). vaelab's default for likelihood work, dynamic binarization, adds a
Bernoulli draw of every batch that the reference does not do; its throughput is reported too. All run on the
60,000 MNIST training images, same threads, alternately, ``--repeats`` times; the best epoch of each counts.
Also the peak resident memory of a full ``vaelab train`` process.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/bench_train.py``). Needs MNIST (``$VAELAB_DATA``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from vaelab.data import load_dataset
from vaelab.data.catalog import locate
from vaelab.data.idx import read_idx
from vaelab.models import build_model
from vaelab.train import TrainConfig, Trainer
from vaelab.train.rundir import RunDir

TARGET_RATIO = 2.2
TARGET_PEAK_MIB = 1024


# the reference, as pytorch/examples writes it ---------------------------------------------------------------
class PILMNIST(Dataset):
    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = Image.fromarray(self.images[i], mode="L")
        # torchvision.transforms.ToTensor on a mode-L PIL image
        t = torch.from_numpy(np.array(img, np.uint8, copy=True)).view(img.size[1], img.size[0], 1)
        t = t.permute((2, 0, 1)).contiguous().to(dtype=torch.get_default_dtype()).div(255)
        return t, int(self.labels[i])


class ReferenceVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def reference_epoch(images, labels) -> float:
    torch.manual_seed(0)
    loader = DataLoader(PILMNIST(images, labels), batch_size=128, shuffle=True)
    model = ReferenceVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    t0 = time.perf_counter()
    n = 0
    for data, _ in loader:
        optimizer.zero_grad()
        recon, mu, logvar = model(data)
        loss = loss_function(recon, data, mu, logvar)
        loss.backward()
        optimizer.step()
        n += len(data)
    return n / (time.perf_counter() - t0)


# vaelab -------------------------------------------------------------------------------------------------------
def vaelab_epoch(train_ds, binarize: str) -> float:
    torch.manual_seed(0)
    model = build_model("vae", {"hidden": (400,), "latent_dim": 20})
    with tempfile.TemporaryDirectory() as d:
        run = RunDir(d)
        run.save_config({"model": "vae"})
        trainer = Trainer(
            model,
            run,
            TrainConfig(epochs=1, batch_size=128, progress=False, samples_per_epoch=0, binarize=binarize),
            train_ds,
            None,
        )
        # the epoch's own loop time, as the trainer records it (the one-time start-up of a run, e.g. creating
        # the TensorBoard writer and saving checkpoints after the epoch, is not part of the training rate)
        return trainer.fit()[0]["images_per_s"]


def peak_memory_mib(epochs: int = 1) -> float:
    """Peak RSS of a ``vaelab train`` process on all of MNIST (784-400-20, batch 128)."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "vaelab",
                "train",
                "--name",
                "mem",
                "--runs-dir",
                d,
                "--epochs",
                str(epochs),
                "--no-progress",
                "--val-size",
                "10000",
            ],
            check=True,
            capture_output=True,
        )
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("bench-results/train.json"))
    args = ap.parse_args()
    paths = locate("mnist")
    images = read_idx(paths["train-images-idx3-ubyte.gz"], 3)
    labels = read_idx(paths["train-labels-idx1-ubyte.gz"], 1)
    train_ds = load_dataset("mnist", "train-full")
    ref, ours, ours_dyn = [], [], []
    for r in range(args.repeats):
        ref.append(reference_epoch(images, labels))
        ours.append(vaelab_epoch(train_ds, "none"))
        ours_dyn.append(vaelab_epoch(train_ds, "dynamic"))
        print(
            f"repeat {r + 1}: reference {ref[-1]:,.0f} samples/s, vaelab {ours[-1]:,.0f} samples/s, "
            f"vaelab with dynamic binarization {ours_dyn[-1]:,.0f} samples/s",
            flush=True,
        )
    best_ref, best_ours, best_dyn = max(ref), max(ours), max(ours_dyn)
    ratio = best_ours / best_ref
    peak = peak_memory_mib()
    result = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "reference_samples_per_s": best_ref,
        "vaelab_samples_per_s": best_ours,
        "ratio": ratio,
        "vaelab_dynamic_binarization_samples_per_s": best_dyn,
        "ratio_dynamic": best_dyn / best_ref,
        "target_ratio": TARGET_RATIO,
        "train_peak_rss_mib": peak,
        "target_peak_mib": TARGET_PEAK_MIB,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\ntraining throughput (60,000 MNIST images, 784-400-20, batch 128, {torch.get_num_threads()} threads)")
    print(f"  reference (DataLoader + PIL + ToTensor): {best_ref:10,.0f} samples/s")
    print(f"  vaelab Trainer (in-memory, same objective): {best_ours:7,.0f} samples/s")
    print(f"  ratio {ratio:.2f}x  (target >= {TARGET_RATIO}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'})")
    print(
        f"  vaelab with dynamic binarization (its default for Bernoulli models): {best_dyn:,.0f} samples/s "
        f"({best_dyn / best_ref:.2f}x)"
    )
    print(
        f"  peak RSS of `vaelab train`: {peak:.0f} MiB  (target <= {TARGET_PEAK_MIB} MiB: "
        f"{'met' if peak <= TARGET_PEAK_MIB else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
