"""Wall time of the importance-weighted NLL estimate on the 10,000 MNIST test images, vs a plain loop.

Trains a 784-400-20 VAE for 2 epochs (the cost of the estimate does not depend on how well it is trained), then
times ``vaelab.evaluate.evaluate(k=K)`` (K = 1000: 10 million decoder passes, vectorised over the batch and over K
in chunks) and, side by side, a plain loop doing the same arithmetic with the same network (encode once per batch
of 100, then per chunk of samples: reparameterize, decode, Bernoulli log-likelihood, the two Gaussian log densities,
a running logsumexp). Targets: <= 60 s on a 2-core CPU, and no slower than the plain loop. ``--k5000`` also times
K = 5000 (Burda et al.'s protocol; on CUDA the target is <= 20 s). Pass ``--run RUN`` to time an existing run.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from vaelab.data import binarize_static, load_dataset
from vaelab.evaluate import evaluate
from vaelab.runs.folder import RunDir
from vaelab.runs.spec import TrainConfig
from vaelab.training.lifecycle import train_run

TARGET_S = 60.0
TARGET_GPU_K5000_S = 20.0
LOG_2PI = math.log(2 * math.pi)


@torch.inference_mode()
def plain_loop(model, x_bin: torch.Tensor, k: int, batch: int = 100, chunk: int = 50) -> float:
    """The same estimate written as a plain loop (what a user would write); returns the mean NLL."""
    g = torch.Generator(device=x_bin.device).manual_seed(0)
    total = 0.0
    for i in range(0, len(x_bin), batch):
        x = x_bin[i : i + batch].flatten(1)
        mu, logvar = model.encode(x)
        std = torch.exp(0.5 * logvar)
        parts = []
        for _ in range(0, k, chunk):
            eps = torch.randn((chunk, *mu.shape), generator=g, device=x.device)
            z = mu + std * eps
            logits = model.decoder_params(z)
            log_px_z = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)
            log_pz = -0.5 * (z * z + LOG_2PI).sum(-1)
            log_qz = -0.5 * (eps * eps + logvar + LOG_2PI).sum(-1)
            parts.append(torch.logsumexp(log_px_z + log_pz - log_qz, 0))
        total += float((torch.logsumexp(torch.stack(parts), 0) - math.log(k)).sum())
    return -total / len(x_bin)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--k5000", action="store_true", help="also time K = 5000 (about 5x the K = 1000 time)")
    ap.add_argument("--out", type=Path, default=Path("bench-results/nll.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if args.run:
            run = RunDir(args.run)
        else:
            run, _, _ = train_run(
                Path(d) / "r", "vae", {"hidden": (400,), "latent_dim": 20}, TrainConfig(epochs=2, progress=False)
            )
        model = run.load_model()
        test = load_dataset("mnist", "test")
        t0 = time.perf_counter()
        res = evaluate(model, test, k=args.k, batch_size=args.batch_size, progress=False)
        wall = time.perf_counter() - t0
        x_bin = binarize_static(test.images).to(model.device)
        t0 = time.perf_counter()
        plain_nll = plain_loop(model, x_bin, args.k)
        plain = time.perf_counter() - t0
        k5000 = None
        if args.k5000:
            t0 = time.perf_counter()
            evaluate(model, test, k=5000, batch_size=args.batch_size, progress=False)
            k5000 = time.perf_counter() - t0
    result = {
        "k": args.k,
        "n_images": res["n_images"],
        "wall_s": wall,
        "target_s": TARGET_S,
        "plain_loop_s": plain,
        "plain_loop_nll": plain_nll,
        "k5000_wall_s": k5000,
        "device": str(model.device),
        "nll": res["nll"],
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"\nIW NLL estimate, K={args.k}, {res['n_images']} test images, {torch.get_num_threads()} threads: "
        f"{wall:.1f} s (target <= {TARGET_S:.0f} s: {'met' if wall <= TARGET_S else 'NOT met'}); "
        f"NLL {res['nll']:.2f} nats"
    )
    print(
        f"plain loop, same arithmetic: {plain:.1f} s (NLL {plain_nll:.2f}); vaelab / plain = {wall / plain:.2f} "
        f"(target <= 1: {'met' if wall <= plain else 'NOT met'})"
    )
    if k5000 is not None:
        note = f" (GPU target <= {TARGET_GPU_K5000_S:.0f} s)" if torch.cuda.is_available() else ""
        print(f"K=5000 on the 10,000 test images: {k5000:.1f} s{note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
