"""Optimisation options: learning-rate schedules, KL warm-up, early stopping, gradient clipping, Adam's betas and
eps; each against its formula, and resumed mid-schedule bit-identically."""

from __future__ import annotations

import math

import pytest
import torch

from vaelab.core.errors import ConfigError
from vaelab.core.io import load_checkpoint
from vaelab.runs.spec import TrainConfig
from vaelab.training.callbacks import Callback
from vaelab.training.lifecycle import train_run
from vaelab.training.schedules import burda_epochs, burda_stage, kl_scale, learning_rate

MODEL = {"latent_dim": 2, "hidden": (32,)}
DATA = {"dataset": "mnist", "val_size": 100, "limit": 400}


def _cfg(**kw) -> TrainConfig:
    return TrainConfig.from_dict({"epochs": 10, "batch_size": 100, "seed": 5, "progress": False, **kw})


def test_each_schedule_follows_its_formula():
    lrs = lambda cfg: [learning_rate(cfg, e) for e in range(cfg.epochs)]  # noqa: E731
    assert lrs(_cfg(lr=0.01)) == [0.01] * 10
    assert lrs(_cfg(lr=0.01, lr_schedule="step", lr_step_size=3, lr_gamma=0.5)) == pytest.approx(
        [0.01 * 0.5 ** (e // 3) for e in range(10)]
    )
    assert lrs(_cfg(lr=0.01, lr_schedule="exponential", lr_gamma=0.9)) == pytest.approx(
        [0.01 * 0.9**e for e in range(10)]
    )
    cos = _cfg(lr=0.01, lr_schedule="cosine", lr_min=0.001, warmup_epochs=2)
    expected = [0.01 * (e + 1) / 2 for e in range(2)] + [
        0.001 + 0.009 * 0.5 * (1 + math.cos(math.pi * (e - 2) / 8)) for e in range(2, 10)
    ]
    assert lrs(cos) == pytest.approx(expected)
    assert learning_rate(cos, 9) > learning_rate(cos, 10) == pytest.approx(0.001)


def test_burda_schedule_gives_the_papers_rate_at_each_stage():
    assert burda_epochs() == 3280
    cfg = _cfg(lr=1e-3, lr_schedule="burda", epochs=3280)
    start = 0
    for i in range(8):
        assert burda_stage(start) == i and burda_stage(start + 3**i - 1) == i
        assert learning_rate(cfg, start) == pytest.approx(1e-4 * round(10 ** (1 - i / 7), 1))
        start += 3**i
    assert learning_rate(cfg, 0) == pytest.approx(1e-3) and learning_rate(cfg, 3279) == pytest.approx(1e-4)
    assert [round(learning_rate(cfg, s) / 1e-4, 1) for s in (0, 1, 4, 13, 40, 121, 364, 1093)] == [
        10.0, 7.2, 5.2, 3.7, 2.7, 1.9, 1.4, 1.0,
    ]  # fmt: skip


def test_kl_warmup_beta_per_epoch_in_the_metrics(tmp_path, data_dir):
    cfg = _cfg(epochs=5, kl_warmup_epochs=4)
    assert [kl_scale(cfg, e) for e in range(6)] == [0, 0.25, 0.5, 0.75, 1, 1]
    run, _, records = train_run(tmp_path / "r", "vae", {**MODEL, "beta": 2.0}, cfg, data_dir=data_dir, **DATA)
    assert [r["beta"] for r in records] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert [r["lr"] for r in records] == [1e-3] * 5
    # in the first epoch the KL term is not in the loss: loss = reconstruction
    assert records[0]["train_loss"] == pytest.approx(records[0]["train_recon_nll"], rel=1e-6)
    assert records[1]["train_loss"] > records[1]["train_recon_nll"]


class ScoreScript(Callback):
    """Replaces the validation ELBO by a scripted sequence (to test early stopping deterministically)."""

    def __init__(self, scores):
        self.scores = scores

    def on_epoch_start(self, trainer, steps):
        s = self.scores[min(trainer.epoch, len(self.scores) - 1)]
        trainer.validate = lambda: {"loss": -s, "elbo": s}


def test_early_stopping_stops_at_the_right_epoch_and_keeps_best(tmp_path, data_dir):
    cfg = _cfg(epochs=20, early_stopping_patience=2)
    script = ScoreScript([-100, -90, -80, -85, -81, -70])  # best at epoch 3, no gain in 4 and 5
    run, _, records = train_run(tmp_path / "r", "vae", MODEL, cfg, data_dir=data_dir, callbacks=[script], **DATA)
    assert [r["epoch"] for r in records] == [1, 2, 3, 4, 5]
    assert records[-1].get("early_stopped") is True and "early_stopped" not in records[-2]
    assert load_checkpoint(run.best_ckpt)["epoch"] == 3
    # resuming with more epochs keeps it stopped: the patience is still exhausted
    _, _, more = train_run(run.path, resume=True, train_config=_cfg(epochs=30, early_stopping_patience=2))
    assert more == []


class StopAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, trainer):
        if trainer.global_step == self.step:
            trainer.request_stop()


def test_resume_mid_schedule_and_mid_warmup_is_bit_identical(tmp_path, data_dir):
    cfg = _cfg(epochs=4, lr_schedule="cosine", warmup_epochs=1, kl_warmup_epochs=3, grad_clip=50.0, adam_eps=1e-4)
    _, ref, _ = train_run(tmp_path / "a", "vae", MODEL, cfg, data_dir=data_dir, **DATA)
    _, _, first = train_run(tmp_path / "b", "vae", MODEL, cfg, data_dir=data_dir, callbacks=[StopAt(6)], **DATA)
    assert [r["epoch"] for r in first] == [1]  # stopped in epoch 2 (4 steps per epoch), mid-warm-up
    _, resumed, _ = train_run(tmp_path / "b", resume=True)
    for name, value in ref.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    assert resumed.optimizer.param_groups[0]["eps"] == 1e-4


class GradNorm(Callback):
    def __init__(self):
        self.norms = []

    def on_step_end(self, trainer):
        grads = [p.grad for p in trainer.model.parameters() if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))


def test_gradient_clipping_bounds_the_norm(tmp_path, data_dir):
    free, clipped = GradNorm(), GradNorm()
    train_run(tmp_path / "a", "vae", MODEL, _cfg(epochs=1), data_dir=data_dir, callbacks=[free], **DATA)
    train_run(
        tmp_path / "b", "vae", MODEL, _cfg(epochs=1, grad_clip=5.0), data_dir=data_dir, callbacks=[clipped], **DATA
    )
    assert max(free.norms) > 5.0  # the unclipped gradients are larger than the bound...
    assert max(clipped.norms) <= 5.0 * (1 + 1e-5)  # ...and clipping holds them to it


def test_adam_options_reach_the_optimizer_and_are_checked(tmp_path, data_dir):
    _, trainer, _ = train_run(
        tmp_path / "r", "vae", MODEL, _cfg(epochs=1, adam_beta1=0.99, adam_eps=1e-4), data_dir=data_dir, **DATA
    )
    group = trainer.optimizer.param_groups[0]
    assert group["betas"] == (0.99, 0.999) and group["eps"] == 1e-4
    with pytest.raises(ConfigError, match="adam_beta1=1.0: expected a number < 1"):
        TrainConfig.from_dict({"adam_beta1": 1.0})
    with pytest.raises(ConfigError, match="lr_schedule='linear': expected one of"):
        TrainConfig.from_dict({"lr_schedule": "linear"})


def test_bf16_autocast_matches_fp32_to_a_stated_tolerance(tmp_path, data_dir):
    """bf16 has 8 bits of mantissa: one epoch's mean training loss agrees with fp32 to 1 %."""
    _, _, a = train_run(tmp_path / "a", "vae", MODEL, _cfg(epochs=1), data_dir=data_dir, **DATA)
    _, _, b = train_run(tmp_path / "b", "vae", MODEL, _cfg(epochs=1, precision="bf16"), data_dir=data_dir, **DATA)
    assert b[0]["train_loss"] == pytest.approx(a[0]["train_loss"], rel=0.01)
    assert b[0]["train_loss"] != a[0]["train_loss"]  # it did run in another precision
