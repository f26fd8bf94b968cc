"""Burda et al.'s published training code, matched option by option: its Adam, its initial weights, its log-sigma
heads, its sampled VAE gradient and its fixed order of the training images (yburda/iwae: optimizers.py, nnet.py,
iwae.py, datasets.py, train.py)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from torch import nn

from vaelab.core.errors import ConfigError
from vaelab.data import ImageDataset
from vaelab.models import build_model
from vaelab.runs.recipes import list_recipes, recipe_spec
from vaelab.runs.spec import TrainConfig
from vaelab.training.callbacks import Callback
from vaelab.training.loop import Trainer
from vaelab.training.optimizers import BurdaAdam, FusedAdam, make_optimizer

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def _published_adam(theta, grads, lr, b1, b2, eps, scale):
    """optimizers.py transcribed: Theano computes every update of a step from the values before the step, the
    parameter moves along the gradient of the summed bound (= minus B times the mean loss's), v starts at ones, t at
    1. Returns, after each minibatch s, the parameters once the update made with its moments m_s, v_s is applied
    (the published code applies it at the start of step s + 1)."""
    m, v, t = np.zeros_like(theta), np.ones_like(theta), 1
    out = []
    for g_loss in grads:
        g = -scale * g_loss
        theta = theta + lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
        m, v, t = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2, t + 1
        out.append(theta + lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps))
    return out


@pytest.mark.parametrize("fused", [True, False])
def test_burda_adam_is_the_published_update_and_resumes_exactly(fused):
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=(3, 4))
    grads = [rng.normal(size=(3, 4)) * 10.0 ** rng.integers(-6, 2) for _ in range(12)]
    expected = _published_adam(theta0, grads, 1e-3, 0.99, 0.999, 1e-4, 20.0)

    p = nn.Parameter(torch.tensor(theta0))
    opt = BurdaAdam([p], lr=1e-3, betas=(0.99, 0.999), eps=1e-4, grad_scale=20.0, fused=fused)
    for i, g in enumerate(grads):
        if i == 6:  # a resumed run: a new optimiser loads the state and goes on identically
            state = opt.state_dict()
            opt = BurdaAdam([p], lr=1.0, betas=(0.9, 0.9), eps=1.0, grad_scale=1.0, fused=fused)
            opt.load_state_dict(state)
        p.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(p.detach().numpy(), expected[i], rtol=1e-10, atol=1e-13)
        assert opt.param_groups[0]["lr"] == 1e-3  # the scheduled rate is left as it was set
    # not PyTorch's Adam: the same gradients take another path
    q = nn.Parameter(torch.tensor(theta0))
    ref = torch.optim.Adam([q], lr=1e-3, betas=(0.99, 0.999), eps=1e-4)
    for g in grads:
        q.grad = torch.tensor(g)
        ref.step()
    assert not np.allclose(q.detach().numpy(), expected[-1], rtol=1e-3)


def test_make_optimizer_picks_the_option_and_bad_values_are_refused():
    params = [nn.Parameter(torch.zeros(2))]
    opt = make_optimizer(params, TrainConfig(optimizer="burda-adam", batch_size=20, adam_eps=1e-4))
    group = opt.param_groups[0]
    assert isinstance(opt, BurdaAdam) and group["grad_scale"] == 20.0 and group["burda_eps"] == 1e-4 and group["fused"]
    plain = make_optimizer(params, TrainConfig())  # adam: PyTorch's Adam (its fused steps), no gradient scale
    assert (
        type(plain) is FusedAdam and isinstance(plain, torch.optim.Adam) and "grad_scale" not in plain.param_groups[0]
    )
    with pytest.raises(ValueError, match="betas"):
        BurdaAdam(params, betas=(1.0, 0.9))
    with pytest.raises(Exception, match="optimizer"):
        TrainConfig(optimizer="sgd")


@pytest.mark.parametrize("family", ["vae", "vae-2layer"])
def test_burda_init_draws_every_layer_from_randomstate_123(family):
    opts = {"image_shape": (1, 6, 6), "hidden": (8, 7), "latent_dim": 3, "activation": "tanh", "init": "burda"}
    if family == "vae-2layer":
        opts.update(z1_dim=4, hidden_z=(5,))
    model = build_model(family, opts)
    x = torch.rand(50, 1, 6, 6)
    x[:, :, 0, 0] = 0.0  # a pixel that is always black: its bias is clipped at logit(0.001)
    model.init_from_data(x)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    output = (model.decoder if family == "vae" else model.p_x)[-1]
    for layer in linears:
        n_out, n_in = layer.weight.shape
        s = math.sqrt(6.0 / (n_in + n_out))
        w = np.random.RandomState(123).uniform(-s, s, size=(n_in, n_out)).T.astype(np.float32)
        assert np.array_equal(layer.weight.detach().numpy(), w)
        if layer is not output:
            assert torch.count_nonzero(layer.bias) == 0
    mean = x.flatten(1).double().mean(0).clamp(0.001, 0.999)
    torch.testing.assert_close(output.bias.detach(), torch.log(mean / (1 - mean)).float())
    assert output.bias[0].item() == pytest.approx(math.log(0.001 / 0.999), rel=1e-5)
    # the default keeps PyTorch's initialisation, and families without the option refuse it
    plain = build_model(family, {**opts, "init": "pytorch"})
    plain.init_from_data(x)
    assert not torch.equal((plain.decoder if family == "vae" else plain.p_x)[-1].bias, output.bias)
    for other in ("conv-vae", "guided-vae"):
        with pytest.raises(ConfigError, match="init='burda': expected one of 'pytorch'"):
            build_model(other, {"image_shape": (1, 8, 8), "init": "burda"})


def test_log_std_heads_double_into_logvar():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 5, 5)
    vae = build_model("vae", {"image_shape": (1, 5, 5), "hidden": (6,), "latent_dim": 2, "variance_head": "log_std"})
    _, logvar = vae.encode(x)
    torch.testing.assert_close(logvar, 2.0 * vae.fc_logvar(vae.encoder(x.flatten(1))))
    two = build_model(
        "vae-2layer",
        {
            "image_shape": (1, 5, 5),
            "hidden": (6,),
            "z1_dim": 3,
            "hidden_z": (4,),
            "latent_dim": 2,
            "variance_head": "log_std",
        },
    )
    h = two.q_z1.net(x.flatten(1))
    torch.testing.assert_close(two.q_z1(x.flatten(1))[1], 2.0 * two.q_z1.logvar(h))


@pytest.mark.parametrize("family", ["vae", "vae-2layer"])
@pytest.mark.parametrize("k", [1, 3])
def test_monte_carlo_kl_trains_on_minus_the_mean_log_weight(family, k):
    torch.manual_seed(0)
    opts = {"image_shape": (1, 5, 5), "hidden": (6,), "latent_dim": 2, "k": k, "kl_estimate": "monte-carlo"}
    if family == "vae-2layer":
        opts.update(z1_dim=3, hidden_z=(4,))
    model = build_model(family, opts).double()
    x = torch.rand(7, 1, 5, 5, dtype=torch.float64).round()
    out = model(x, generator=torch.Generator().manual_seed(3))
    w = model.log_weights(x, k, generator=torch.Generator().manual_seed(3))  # the same samples
    torch.testing.assert_close(out.loss, -w.mean(0))
    analytic = build_model(family, {**opts, "kl_estimate": "analytic"}).double()
    analytic.load_state_dict(model.state_dict())
    a = analytic(x, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a.elbo, out.elbo)  # the logged terms are the same; only the loss is sampled
    assert not torch.allclose(a.loss, out.loss)


@pytest.mark.parametrize("shuffle", [True, False])
def test_shuffle_false_visits_the_stored_order_every_epoch(shuffle):
    orders = []

    class Spy(Callback):
        def on_epoch_start(self, trainer, steps):
            orders.append(trainer.perm.tolist())

    train = ImageDataset(torch.rand(12, 1, 4, 4), None, "toy", "train")
    model = build_model("vae", {"image_shape": (1, 4, 4), "hidden": (4,), "latent_dim": 2})
    cfg = TrainConfig(epochs=2, batch_size=4, shuffle=shuffle, progress=False, samples_per_epoch=0)
    Trainer(model, "vae", cfg, train, callbacks=[Spy()]).fit()
    assert len(orders) == 2
    if shuffle:
        assert orders[0] != list(range(12)) and orders[0] != orders[1]
    else:
        assert orders == [list(range(12))] * 2


def test_every_burda_recipe_sets_the_published_code_options():
    burda = [r for r in list_recipes() if r.name.startswith("burda-")]
    assert len(burda) == 9
    for recipe in burda:
        spec, not_applied = recipe_spec(recipe)
        assert not not_applied
        assert spec.train.optimizer == "burda-adam" and spec.train.shuffle is False
        cfg = spec.model_config
        assert cfg.init == "burda" and cfg.variance_head == "log_std"
        assert cfg.kl_estimate == ("monte-carlo" if "-vae-" in recipe.name else "analytic")
        assert not any("PyTorch's Adam" in d or "Initial weights" in d for d in recipe.deviations)
