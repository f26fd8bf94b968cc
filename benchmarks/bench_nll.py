"""Wall time of the importance-weighted NLL estimate, K = 1000, on the 10,000 MNIST test images.

Trains a 784-400-20 VAE for 2 epochs (the cost of the estimate does not depend on how well it is trained), then
times ``vaelab.evaluate.nll.evaluate(k=1000)``: 10 million decoder passes, vectorised over the batch and over K in
chunks. Target: <= 60 s on a 2-core CPU. Pass ``--run RUN`` to time an existing run instead.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from vaelab.data import load_dataset
from vaelab.evaluate import evaluate
from vaelab.train import TrainConfig, train
from vaelab.train.rundir import RunDir

TARGET_S = 60.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("bench-results/nll.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if args.run:
            run = RunDir(args.run)
        else:
            run, _, _ = train(
                Path(d) / "r", "vae", {"hidden": (400,), "latent_dim": 20}, TrainConfig(epochs=2, progress=False)
            )
        model = run.load_model()
        test = load_dataset("mnist", "test")
        t0 = time.perf_counter()
        res = evaluate(model, test, k=args.k, batch_size=args.batch_size, progress=False)
        wall = time.perf_counter() - t0
    result = {
        "k": args.k,
        "n_images": res["n_images"],
        "wall_s": wall,
        "target_s": TARGET_S,
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
