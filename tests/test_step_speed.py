"""The cheaper training step: the hand-derived gradients (``backward = "manual"``) against autograd on real MNIST,
the one-sample ELBO's 2-D path against the general k-sample formulas bit for bit, the fused Adam shortcut against
PyTorch's own step bit for bit, and the loss check that accelerators defer (forced here on a CPU)."""

from __future__ import annotations

import pytest
import torch

from vaelab.core.errors import ConfigError
from vaelab.core.likelihoods import bernoulli_log_prob, diagonal_normal_log_prob, standard_normal_log_prob
from vaelab.data import binarize_dynamic, load_dataset
from vaelab.models import build_model
from vaelab.models.manual_grad import elbo_with_grads
from vaelab.runs.spec import TrainConfig
from vaelab.training import optimizers
from vaelab.training.loop import NonFiniteLoss, Trainer

BURDA = {"hidden": (200, 200), "latent_dim": 50, "activation": "tanh", "init": "burda", "variance_head": "log_std",
         "kl_estimate": "monte-carlo"}  # fmt: skip
BURDA_TRAIN = {"batch_size": 20, "optimizer": "burda-adam", "adam_beta1": 0.99, "adam_eps": 1e-4, "shuffle": False,
               "progress": False, "samples_per_epoch": 0}  # fmt: skip


@pytest.fixture(scope="module")
def images(data_dir):
    return load_dataset("mnist", "train", data_dir, limit=200).images


def _model(options, images):
    torch.manual_seed(0)
    model = build_model("vae", options)
    model.init_from_data(images)
    return model


def _autograd_grads(model, x, seed):
    out = model(x, generator=torch.Generator().manual_seed(seed))
    (out.loss.sum() / len(x)).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    return out, grads


@pytest.mark.parametrize(
    "options",
    [BURDA, {"hidden": (64,), "latent_dim": 8, "activation": "relu", "beta": 0.5}, {"hidden": (), "latent_dim": 5}],
    ids=["burda", "relu-analytic-beta", "no-hidden-layer"],
)
def test_manual_gradients_match_autograd(images, options):
    model = _model(options, images)
    x = binarize_dynamic(images[:20], torch.Generator().manual_seed(3))
    ref, grads = _autograd_grads(model, x, seed=5)
    out = elbo_with_grads(model, x, torch.Generator().manual_seed(5), grad_scale=1 / 20)
    assert torch.equal(out.loss, ref.loss) and torch.equal(out.elbo, ref.elbo)  # the same forward, bit for bit
    for name, p in model.named_parameters():
        scale = grads[name].abs().max()
        assert scale > 0, name
        assert (p.grad - grads[name]).abs().max() <= 2e-6 * scale, name  # measured: 2.5e-7 at most


def test_manual_training_follows_autograd_and_refuses_other_models(images):
    data = load_dataset("mnist", "train", limit=200)
    models = {}
    for backward in ("autograd", "manual"):
        model = _model(BURDA, images)
        Trainer(model, "vae", TrainConfig(epochs=1, backward=backward, **BURDA_TRAIN), data).fit()
        models[backward] = model
    start = _model(BURDA, images)
    for (name, a), b, a0 in zip(
        models["autograd"].named_parameters(), models["manual"].parameters(), start.parameters(), strict=True
    ):
        moved = (a - a0).abs().max()
        assert moved > 1e-4, name  # ten steps moved every parameter...
        assert (a - b).abs().max() <= 1e-3 * moved, name  # ...and both ways to the same place (float32 rounding)
    iwae = _model({**BURDA, "objective": "iwae", "k": 5}, images)
    with pytest.raises(ConfigError, match=r"^backward='manual': .* here the model has k = 5 \(it needs 1\)"):
        Trainer(iwae, "vae", TrainConfig(backward="manual", **BURDA_TRAIN), data)


def test_one_sample_path_is_the_general_formula_bit_for_bit(images):
    """The k = 1 ELBO on 2-D tensors gives the loss and gradients of the general (k, N, D) formulas exactly."""
    model = _model(BURDA, images)
    x = binarize_dynamic(images[:20], torch.Generator().manual_seed(3))
    out, grads = _autograd_grads(model, x, seed=5)
    mu, logvar = model.encode(x)
    z = model.reparameterize(mu, logvar, 1, torch.Generator().manual_seed(5))  # (1, N, D)
    recon = -bernoulli_log_prob(model.decoder_params(z), x.flatten(1)).mean(0)
    loss = recon + 1.0 * (diagonal_normal_log_prob(z, mu, logvar) - standard_normal_log_prob(z)).mean(0)
    (loss.sum() / len(x)).backward()
    assert torch.equal(loss, out.loss)
    for name, p in model.named_parameters():
        assert torch.equal(p.grad, grads[name]), name


def test_fused_adam_shortcut_is_pytorchs_step_bit_for_bit(monkeypatch):
    def run():
        torch.manual_seed(0)
        params = [torch.nn.Parameter(torch.randn(30, 7)), torch.nn.Parameter(torch.randn(7))]
        opt = optimizers.BurdaAdam(params, lr=1e-3, betas=(0.99, 0.999), eps=1e-4, grad_scale=20.0, fused=True)
        for step in range(5):
            for p in params:
                p.grad = torch.randn_like(p) * (step + 1)
            opt.step()
        return params, opt.state_dict()

    fast, fast_state = run()
    with monkeypatch.context() as m:
        m.setattr(optimizers, "fused_adam_ready", lambda opt, group: False)  # PyTorch's own Adam.step
        slow, slow_state = run()
    assert all(torch.equal(a, b) for a, b in zip(fast, slow, strict=True))
    for i, state in fast_state["state"].items():
        assert all(torch.equal(state[k], slow_state["state"][i][k]) for k in ("step", "exp_avg", "exp_avg_sq"))


def test_deferred_loss_check_stops_before_any_state_leaves(images):
    """With the per-step read off (as on accelerators), a non-finite loss is found at the next check, and
    ``state_dict`` (what every checkpoint and relay snapshot is made of) refuses to hand out such a state."""
    data = load_dataset("mnist", "train", limit=200)
    trainer = Trainer(_model(BURDA, images), "vae", TrainConfig(epochs=1, **BURDA_TRAIN), data)
    trainer.check_every_step = False
    trainer.perm = torch.arange(len(data))
    trainer._start_epoch()
    for _ in range(2):
        trainer.step()
    trainer.state_dict()  # finite so far
    with torch.no_grad():
        trainer.model.fc_mu.weight.fill_(float("nan"))
    trainer.step()
    trainer.step()  # no per-step read: the run goes on
    with pytest.raises(NonFiniteLoss, match=r"non-finite loss \(nan\) at epoch 1, one of steps 3-4"):
        trainer.state_dict()
