"""The IWAE objective, the two-stochastic-layer model, the VampPrior and the NLL-vs-K diagnostic: their maths
against direct computations (Burda et al. 2016; Tomczak & Welling 2018)."""

from __future__ import annotations

import itertools
import math
import os

import pytest
import torch
from torch.distributions import Bernoulli, Normal

from vaelab.core.errors import ConfigError
from vaelab.evaluate.nll import evaluate_nll, iw_log_likelihood, iw_log_likelihood_nested
from vaelab.models import build_model
from vaelab.models.vae import mixture_log_prob

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def _binary(n, shape=(1, 28, 28), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *shape, generator=g).round()


def _tiny(family, shape=(1, 28, 28), **opts):
    torch.manual_seed(0)
    base = {"image_shape": shape}
    if family == "vae":
        base.update(hidden=(16,), latent_dim=3)
    else:
        base.update(hidden=(16,), z1_dim=4, hidden_z=(8,), latent_dim=2)
    return build_model(family, {**base, **opts}).double()


# IWAE objective --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["vae", "vae-2layer"])
def test_iwae_bound_with_k1_is_the_one_sample_elbo(family):
    model = _tiny(family, objective="iwae", k=1)
    x = _binary(6).double()
    out = model(x, generator=torch.Generator().manual_seed(5))
    w = model.log_weights(x, 1, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(-out.loss, w[0])  # L_1 = log p(x, z) - log q(z|x) at the same sample
    # and in expectation it is the ELBO the elbo objective reports (analytic KL, Monte-Carlo reconstruction)
    model.config.objective, model.config.k = "elbo", 4000
    with torch.no_grad():
        elbo = model(x, generator=torch.Generator().manual_seed(6)).elbo
        mc = model.log_weights(x, 4000, generator=torch.Generator().manual_seed(6)).mean(0)  # same samples
    torch.testing.assert_close(mc, elbo, atol=0.1, rtol=0)


@pytest.mark.parametrize("family", ["vae", "vae-2layer"])
def test_iwae_gradient_is_the_gradient_of_l_k(family):
    """Same generator state -> same samples: the loss's gradient equals autograd of -L_K from ``log_weights``,
    and Burda et al.'s eq. 14 form (normalised weights times the gradient of each log-weight)."""
    k = 5
    model = _tiny(family, objective="iwae", k=k)
    x = _binary(4).double()

    def grads(loss):
        model.zero_grad()
        loss.backward()
        return [p.grad.clone() for p in model.parameters()]

    g_model = grads(model(x, generator=torch.Generator().manual_seed(3)).loss.sum())
    w = model.log_weights(x, k, generator=torch.Generator().manual_seed(3))
    g_lk = grads(-(torch.logsumexp(w, 0) - math.log(k)).sum())
    w = model.log_weights(x, k, generator=torch.Generator().manual_seed(3))
    g_eq14 = grads(-(torch.softmax(w.detach(), 0) * w).sum())
    for a, b, c in zip(g_model, g_lk, g_eq14, strict=True):
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(a, c)
    assert any(float(g.abs().max()) > 0 for g in g_model)


def test_iwae_reports_the_elbo_terms_and_kl_scale_tempers_the_weights():
    model = _tiny("vae", objective="iwae", k=7)
    x = _binary(5).double()
    out = model(x, generator=torch.Generator().manual_seed(1))
    mu, logvar = model.encode(x)
    torch.testing.assert_close(out.kl, 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(-1))  # analytic, as elbo
    torch.testing.assert_close(out.elbo, -(out.recon_nll + out.kl))
    # L_K >= the mean of the same K log-weights (Jensen), sample by sample
    w = model.log_weights(x, 7, generator=torch.Generator().manual_seed(1))
    assert (-out.loss >= w.mean(0) - 1e-9).all()
    model.kl_scale = 0.0  # KL warm-up at 0: the weights are log p(x|z) only
    out0 = model(x, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(-out0.loss, torch.logsumexp(_log_px_z(model, x, 7, 1), 0) - math.log(7))


def _log_px_z(model, x, k, seed):
    mu, logvar = model.encode(x)
    z = model.reparameterize(mu, logvar, k, torch.Generator().manual_seed(seed))
    return model.log_likelihood(model.decoder_params(z), x.flatten(1))


def test_iwae_objective_approaches_exact_log_px_on_a_linear_gaussian_model():
    from test_vae import _linear_gaussian_vae

    model, p_x = _linear_gaussian_vae()
    x = p_x.sample((200,)).view(200, 1, 1, 5)
    exact = p_x.log_prob(x.view(200, 5))
    model.config.objective = "iwae"
    gaps = {}
    for k in (1, 10, 1000):
        model.config.k = k
        with torch.no_grad():
            bound = -model(x, generator=torch.Generator().manual_seed(k)).loss
        gaps[k] = float((exact - bound).mean())
    assert gaps[1] > gaps[10] > gaps[1000] >= -0.01
    assert gaps[1000] < 0.02


def test_bad_objective_is_one_clear_error():
    with pytest.raises(ConfigError, match="objective='foo'"):
        build_model("vae", {"objective": "foo"})
    with pytest.raises(ConfigError, match="objective='iwae'"):
        build_model("guided-vae", {"objective": "iwae"})


# the two-stochastic-layer model ----------------------------------------------------------------------------
def test_two_layer_log_weights_match_a_direct_computation():
    k, model = 6, _tiny("vae-2layer")
    x = _binary(5).double()
    w = model.log_weights(x, k, generator=torch.Generator().manual_seed(11))
    g = torch.Generator().manual_seed(11)  # the model draws eps1 (k, N, D1) first, then eps2 (k, N, D2)
    with torch.no_grad():
        mu1, lv1 = model.q_z1(x.flatten(1))
        z1 = mu1 + (0.5 * lv1).exp() * torch.randn((k, 5, 4), generator=g, dtype=torch.float64)
        mu2, lv2 = model.q_z2(z1)
        z2 = mu2 + (0.5 * lv2).exp() * torch.randn((k, 5, 2), generator=g, dtype=torch.float64)
        pm1, plv1 = model.p_z1(z2)
        log_p = (
            Bernoulli(logits=model.p_x(z1)).log_prob(x.flatten(1)).sum(-1)
            + Normal(pm1, (0.5 * plv1).exp()).log_prob(z1).sum(-1)
            + Normal(0.0, 1.0).log_prob(z2).sum(-1)
        )
        log_q = Normal(mu1, (0.5 * lv1).exp()).log_prob(z1).sum(-1) + Normal(mu2, (0.5 * lv2).exp()).log_prob(z2).sum(
            -1
        )
    torch.testing.assert_close(w.detach(), log_p - log_q)
    # the ELBO terms: -elbo's expectation is -E[log w]; its KL parts are reported per layer
    model.config.k = 3000
    with torch.no_grad():
        out = model(x, generator=torch.Generator().manual_seed(12))
        mc = model.log_weights(x, 3000, torch.Generator().manual_seed(12)).mean(0)  # same samples
    torch.testing.assert_close(out.elbo, mc, atol=0.05, rtol=0)
    torch.testing.assert_close(out.kl, out.extra["kl_z1"] + out.extra["kl_z2"])


@pytest.mark.parametrize("family, opts", [("vae-2layer", {}), ("vae", {"prior": "vampprior", "pseudo_inputs": 4})])
def test_the_model_is_a_normalised_density_over_binary_images(family, opts):
    """On 3-pixel images the 8 values of p(x), each estimated with K = 20,000 importance samples, sum to 1 (within
    the estimator's 1-2 % noise on this untrained model): every constant of the prior, the layers and the
    likelihood is right."""
    model = _tiny(family, shape=(1, 1, 3), **opts)
    with torch.no_grad():  # posteriors wider than the random networks give: lighter-tailed importance weights
        for layer in (model.q_z1, model.q_z2) if family == "vae-2layer" else ():
            layer.logvar.weight.mul_(0.1)
            layer.logvar.bias.fill_(0.5)
    xs = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)), dtype=torch.float64).view(8, 1, 1, 3)
    log_px, _ = iw_log_likelihood(model, xs, 20_000, chunk=10_000, generator=torch.Generator().manual_seed(0))
    assert float(log_px.exp().sum()) == pytest.approx(1.0, abs=0.02)


def test_two_layer_encode_decode_sample_use_the_top_layer():
    model = _tiny("vae-2layer")
    x = _binary(3).double()
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (3, 2) and model.latent_dim == 2
    assert model.decode(mu).shape == (3, 1, 28, 28)
    s = model.sample(4, torch.Generator().manual_seed(0))
    assert s.shape == (4, 1, 28, 28) and 0 <= float(s.min()) and float(s.max()) <= 1
    stats = model.latent_statistics(x, torch.Generator().manual_seed(0))
    assert stats["z1"]["kl_per_dim"].shape == (3, 4) and stats["z2"]["kl_per_dim"].shape == (3, 2)
    torch.testing.assert_close(stats["z1"]["kl"], stats["z1"]["kl_per_dim"].sum(-1))


# VampPrior -------------------------------------------------------------------------------------------------
def test_vampprior_log_density_matches_a_direct_mixture():
    model = _tiny("vae", prior="vampprior", pseudo_inputs=7)
    z = torch.randn(5, 4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2
    with torch.no_grad():
        mu_c, lv_c = model.encode(model.pseudo.clamp(0, 1))  # (7, 3)
        comp = Normal(mu_c, (0.5 * lv_c).exp()).log_prob(z[..., None, :]).sum(-1)  # (5, 4, 7)
        direct = torch.logsumexp(comp, -1) - math.log(7)
        torch.testing.assert_close(model.prior_log_prob(z), direct)
        torch.testing.assert_close(mixture_log_prob(z, mu_c, lv_c), direct)
    assert model.pseudo.shape == (7, 1, 28, 28) and model.pseudo.requires_grad


def test_vampprior_kl_weights_sampling_and_gradients():
    model = _tiny("vae", prior="vampprior", pseudo_inputs=5, k=2)
    x = _binary(4).double()
    out = model(x, generator=torch.Generator().manual_seed(0))
    out.loss.sum().backward()
    assert model.pseudo.grad is not None and float(model.pseudo.grad.abs().sum()) > 0  # pseudo-inputs learn
    g = torch.Generator().manual_seed(0)
    mu, logvar = model.encode(x)
    z = model.reparameterize(mu, logvar, 2, g)
    expected_kl = (Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1) - model.prior_log_prob(z)).mean(0)
    torch.testing.assert_close(out.kl, expected_kl)  # Monte-Carlo KL at the same samples
    w = model.log_weights(x, 3, torch.Generator().manual_seed(1))
    assert w.shape == (3, 4)
    s = model.sample(6, torch.Generator().manual_seed(0))
    assert s.shape == (6, 1, 28, 28)


# NLL vs K ----------------------------------------------------------------------------------------------------
def test_nested_estimates_are_the_first_k_of_the_same_samples():
    model = _tiny("vae")
    x = _binary(7).double()
    drawn = []
    original = model.log_weights

    def recording(x, k, generator=None):
        w = original(x, k, generator)
        drawn.append(w)
        return w

    model.log_weights = recording
    log_px, elbo, nested = iw_log_likelihood_nested(
        model, x, 250, (1, 10, 100, 200), chunk=30, generator=torch.Generator().manual_seed(0)
    )
    w = torch.cat(drawn)  # (250, 7) in drawing order
    for K in (1, 10, 100, 200, 250):
        torch.testing.assert_close(nested[K], torch.logsumexp(w[:K], 0) - math.log(K))
    torch.testing.assert_close(log_px, nested[250])
    torch.testing.assert_close(elbo, w.mean(0).float())
    with pytest.raises(ConfigError, match="nested K"):
        iw_log_likelihood_nested(model, x, 10, (20,))


def test_nll_vs_k_falls_with_k_and_its_last_entry_is_a_separate_run(mnist_vae_run, data_dir):
    from vaelab.data import load_dataset

    model = mnist_vae_run.load_model()
    test = load_dataset("mnist", "test", data_dir, limit=120)
    ev = evaluate_nll(model, test, k=1000, seed=0, progress=False)
    ks = [r["k"] for r in ev["nll_vs_k"]]
    nll = [r["nll"] for r in ev["nll_vs_k"]]
    assert ks == [1, 10, 100, 1000]
    # E[L_K] rises with K (Burda et al., Theorem 1): on this fixed seed the mean over 120 images falls at every K
    assert all(a > b for a, b in zip(nll, nll[1:], strict=False)), nll
    assert nll[0] - nll[-1] > 1.0
    assert ev["elbo_gap"] == pytest.approx(-ev["nll"] - ev["elbo"]) and ev["elbo_gap"] > 0
    layer = ev["layers"]["z"]
    assert layer["latent_dim"] == 2 and len(layer["kl_per_dim"]) == 2
    assert sum(layer["kl_per_dim"]) == pytest.approx(ev["kl"], abs=1e-3)
    assert ev["active_units"] == layer["active_units"]
    # the K = 5000 entry is what a separate K = 5000 run with the same samples (same seed) gives
    few = test.subset(20)
    nested = evaluate_nll(model, few, k=5000, seed=4, progress=False)
    alone = evaluate_nll(model, few, k=5000, seed=4, progress=False, nested_ks=())
    assert [r["k"] for r in nested["nll_vs_k"]] == [1, 10, 100, 1000, 5000]
    assert [r["k"] for r in alone["nll_vs_k"]] == [5000]
    assert nested["nll_vs_k"][-1]["nll"] == nested["nll"] == alone["nll"]
    small = evaluate_nll(model, few, k=50, seed=3, progress=False)
    assert [r["k"] for r in small["nll_vs_k"]] == [1, 10, 50]  # only the K <= the requested K, and K itself


def test_collapse_warning_is_stored():
    from vaelab.data import ImageDataset

    model = _tiny("vae").float()
    with torch.no_grad():  # an encoder that ignores x: every unit inactive
        model.fc_mu.weight.zero_()
        model.fc_logvar.weight.zero_()
    data = ImageDataset(_binary(20), None, "toy", "test")
    ev = evaluate_nll(model, data, k=3, progress=False)
    assert ev["layers"]["z"]["active_units"] == 0
    assert len(ev["warnings"]) == 1 and "posterior collapse: 3 of 3 units of layer z" in ev["warnings"][0]
