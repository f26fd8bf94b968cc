"""The GPU path: data, binarization and noise on the device; bf16 autocast and torch.compile / CUDA graphs checked
against the plain path. Skipped, with the reason printed, where no CUDA device is present."""

from __future__ import annotations

import pytest
import torch

from vaelab.runs.spec import TrainConfig
from vaelab.training.lifecycle import train_run

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")

MODEL = {"latent_dim": 20, "hidden": (400,)}
DATA = {"dataset": "mnist", "val_size": 1000, "limit": 5000}


def _cfg(**kw) -> TrainConfig:
    return TrainConfig.from_dict({"epochs": 2, "batch_size": 128, "seed": 0, "progress": False, "device": "cuda",
                                  **kw})  # fmt: skip


def test_data_binarization_and_noise_stay_on_the_gpu(tmp_path, data_dir):
    _, trainer, records = train_run(tmp_path / "r", "vae", MODEL, _cfg(), data_dir=data_dir, **DATA)
    assert trainer.x_train.device.type == "cuda" and trainer.generator.device.type == "cuda"
    assert trainer.perm.device.type == "cuda"
    assert records[-1]["val_loss"] < records[0]["val_loss"]


@pytest.mark.parametrize("option", [{"precision": "bf16"}, {"compile": "default"}, {"compile": "reduce-overhead"}])
def test_fast_options_match_the_plain_path(tmp_path, data_dir, option):
    """Same seed and data: the mean training loss of 2 epochs agrees with the plain fp32 path to 1 %."""
    _, _, plain = train_run(tmp_path / "a", "vae", MODEL, _cfg(), data_dir=data_dir, **DATA)
    _, _, fast = train_run(tmp_path / "b", "vae", MODEL, _cfg(**option), data_dir=data_dir, **DATA)
    for a, b in zip(plain, fast, strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=0.01)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=0.01)


def test_burda_adam_on_the_gpu_matches_the_cpu():
    """The fused CUDA kernel with BurdaAdam's state on the device takes the same path as on the CPU (float64)."""
    from vaelab.training.optimizers import BurdaAdam

    gen = torch.Generator().manual_seed(0)
    theta, grads = torch.randn(5, 7, generator=gen, dtype=torch.float64), torch.randn(9, 5, 7, generator=gen).double()
    out = []
    for device in ("cpu", "cuda"):
        p = torch.nn.Parameter(theta.to(device))
        opt = BurdaAdam([p], lr=1e-3, betas=(0.99, 0.999), eps=1e-4, grad_scale=20.0, fused=True)
        for g in grads:
            p.grad = g.to(device)
            opt.step()
        out.append(p.detach().cpu())
    torch.testing.assert_close(out[1], out[0], rtol=1e-10, atol=1e-12)
