"""examples/: the core on one screen (issue 20): vaelab's VAE trained by a plain PyTorch loop."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_minimal_vae_trains_by_a_plain_loop(data_dir):
    script = ROOT / "examples" / "minimal_vae.py"
    code = [ln for ln in script.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert len(code) <= 50  # about 40 lines, as pytorch/examples' vae/main.py
    proc = subprocess.run(
        [sys.executable, str(script), "--epochs", "2", "--steps", "15", "--limit", "2000", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    elbo = [float(v) for v in re.findall(r"test -ELBO ([0-9.]+) nats", proc.stdout)]
    assert len(elbo) == 2 and 100 < elbo[1] < elbo[0] < 550, proc.stdout  # 784 Bernoulli pixels: 543 nats at p=1/2
    assert "samples: (64, 1, 28, 28)" in proc.stdout
