"""The trainer on real MNIST slices: learning, exact resume after Ctrl-C, checkpoints, the NaN guard."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch

from vaelab.core.errors import CheckpointError, ConfigError, TrainingError
from vaelab.core.io import load_checkpoint, save_checkpoint
from vaelab.data import load_dataset
from vaelab.runs.spec import TrainConfig
from vaelab.training.callbacks import Callback
from vaelab.training.lifecycle import train_run
from vaelab.training.loop import Trainer

MODEL = {"latent_dim": 4, "hidden": (64,)}


class OnStep(Callback):
    """Calls ``fn(trainer, global_step)`` after every optimizer step."""

    def __init__(self, fn):
        self.fn = fn

    def on_step_end(self, trainer) -> None:
        self.fn(trainer, trainer.global_step)


def _train(run_dir, data_dir, epochs=2, limit=1500, resume=False, on_step=None, **kw):
    cfg = TrainConfig(epochs=epochs, batch_size=100, seed=7, progress=False, **kw)
    return train_run(
        run_dir,
        "vae",
        MODEL,
        cfg,
        "mnist",
        data_dir,
        val_size=500,
        limit=limit,
        resume=resume,
        callbacks=[OnStep(on_step)] if on_step else [],
    )


def test_one_epoch_lowers_validation_loss(tmp_path, data_dir):
    from vaelab.models import build_model

    torch.manual_seed(0)
    model = build_model("vae", {"latent_dim": 8, "hidden": (256,)})
    trainer = Trainer(
        model,
        "vae",
        TrainConfig(epochs=1, progress=False),
        load_dataset("mnist", "train", data_dir, limit=10000),
        load_dataset("mnist", "val", data_dir, val_size=1000),
    )
    before = trainer.validate()["loss"]
    after = trainer.fit().records[0]["val_loss"]
    assert after < before - 100, (before, after)  # ~543 nats untrained -> < 200 after one epoch


def test_interrupt_and_resume_is_exact(tmp_path, data_dir):
    # uninterrupted: 2 epochs of 15 steps
    run_a, trainer_a, _ = _train(tmp_path / "a", data_dir)

    # interrupted by a real SIGINT in the middle of epoch 2, then resumed
    def ctrl_c(trainer, step):
        if step == 22:
            os.kill(os.getpid(), signal.SIGINT)

    run_b, trainer_b, records = _train(tmp_path / "b", data_dir, on_step=ctrl_c)
    assert [r["epoch"] for r in records] == [1]
    state = load_checkpoint(run_b.last_ckpt)
    assert (state["epoch"], state["step_in_epoch"], state["global_step"]) == (1, 7, 22)
    run_b, trainer_b, records = _train(tmp_path / "b", data_dir, resume=True)
    assert [r["epoch"] for r in records] == [2]

    params_a, params_b = trainer_a.model.state_dict(), trainer_b.model.state_dict()
    for name in params_a:
        assert torch.equal(params_a[name], params_b[name]), name
    for m_a, m_b in zip(run_a.read_metrics(), run_b.read_metrics(), strict=True):
        assert m_a["train_loss"] == pytest.approx(m_b["train_loss"], rel=1e-9)
        assert m_a["val_loss"] == pytest.approx(m_b["val_loss"], rel=1e-12)
    assert len(run_b.read_metrics()) == 2
    assert run_b.read_epoch_samples().shape == (2, 10, 1, 28, 28)


def test_resume_extends_training_and_refuses_overwrite(tmp_path, data_dir):
    run, _, _ = _train(tmp_path / "r", data_dir, epochs=1, limit=500)
    with pytest.raises(ConfigError, match="already holds a run; continue it with resume=True or choose another name="):
        _train(tmp_path / "r", data_dir, epochs=1, limit=500)
    run, trainer, records = _train(tmp_path / "r", data_dir, epochs=2, limit=500, resume=True)
    assert [r["epoch"] for r in run.read_metrics()] == [1, 2]
    assert json.loads(run.config_path.read_text())["train"]["epochs"] == 2


def test_checkpoints_and_best(tmp_path, data_dir):
    run, _, records = _train(tmp_path / "r", data_dir, epochs=2, limit=500)
    assert run.best_ckpt.is_file() and run.last_ckpt.is_file()
    best_epoch = max(records, key=lambda r: r["val_elbo"])["epoch"]
    assert load_checkpoint(run.best_ckpt)["epoch"] == best_epoch
    assert not list(run.checkpoints.glob("*.tmp"))
    model = run.load_model("last")
    assert not model.training
    cfg = json.loads(run.config_path.read_text())
    assert cfg["train"]["binarize"] == "dynamic" and cfg["environment"]["torch"] == torch.__version__


def test_truncated_and_foreign_checkpoints(tmp_path, data_dir):
    run, _, _ = _train(tmp_path / "r", data_dir, epochs=1, limit=200)
    data = run.last_ckpt.read_bytes()
    run.last_ckpt.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=f"{run.last_ckpt}: cannot read checkpoint"):
        run.load_model("last")

    class Evil:  # pickled code must not run: weights_only refuses the class
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"model": "vae", "model_state": {}, "payload": Evil()}, run.best_ckpt)
    with pytest.raises(CheckpointError, match="best.pt: cannot read checkpoint"):
        run.load_model("best")
    save_checkpoint(run.best_ckpt, {"hello": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="not a vaelab checkpoint"):
        load_checkpoint(run.best_ckpt)


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, data_dir):
    run, _, _ = _train(tmp_path / "r", data_dir, epochs=1, limit=300)
    good = run.last_ckpt.read_bytes()

    def poison(trainer, step):
        with torch.no_grad():
            trainer.model.fc_mu.weight.fill_(float("nan"))

    with pytest.raises(
        TrainingError,
        match=r"non-finite loss \(nan\) at epoch 2, step 2.*last good checkpoint is "
        r"kept: .*last.pt \(epoch 1\)",
    ):
        _train(tmp_path / "r", data_dir, epochs=2, limit=300, resume=True, on_step=poison)
    assert run.last_ckpt.read_bytes() == good
    assert [r["epoch"] for r in run.read_metrics()] == [1]


def test_bad_train_config():
    with pytest.raises(ConfigError, match="epochs=0: expected an integer >= 1"):
        TrainConfig.from_dict({"epochs": 0})
    with pytest.raises(ConfigError, match="lr=-1: expected a number > 0"):
        TrainConfig.from_dict({"lr": -1})
    with pytest.raises(ConfigError, match="binarize='sometimes': expected one of"):
        TrainConfig.from_dict({"binarize": "sometimes"})
    with pytest.raises(ConfigError, match="device='tpu'"):
        from vaelab.core.device import select_device

        select_device("tpu")
