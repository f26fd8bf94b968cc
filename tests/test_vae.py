"""The VAE's maths: analytic KL, reparameterization, the importance-weighted bound against exact log p(x)."""

from __future__ import annotations

import math

import pytest
import torch

from vaelab.core.errors import ConfigError
from vaelab.core.likelihoods import diagonal_normal_log_prob, gaussian_kl_standard_normal, standard_normal_log_prob
from vaelab.evaluate import evaluate, iw_log_likelihood
from vaelab.models import VAE, VAEConfig, build_model


def test_analytic_kl_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 3, generator=g)
    logvar = torch.randn(4, 3, generator=g) * 0.5
    z = mu + torch.exp(0.5 * logvar) * torch.randn(200_000, 4, 3, generator=g)
    mc = (diagonal_normal_log_prob(z, mu, logvar) - standard_normal_log_prob(z)).mean(0)
    analytic = gaussian_kl_standard_normal(mu, logvar)
    torch.testing.assert_close(mc, analytic, atol=0.03, rtol=0.01)
    assert (analytic > 0).all()
    assert gaussian_kl_standard_normal(torch.zeros(1, 5), torch.zeros(1, 5)).item() == 0.0


def test_forward_shapes_and_terms():
    torch.manual_seed(0)
    model = VAE(VAEConfig(hidden=(32,), latent_dim=3, k=5, beta=2.0))
    x = torch.rand(6, 1, 28, 28).round()
    with torch.no_grad():
        out = model(x)
        decoded = model.decode(out.mu)
    assert out.loss.shape == out.recon_nll.shape == out.kl.shape == (6,)
    assert out.z.shape == (5, 6, 3) and out.mu.shape == out.logvar.shape == (6, 3)
    torch.testing.assert_close(out.loss, out.recon_nll + 2.0 * out.kl)
    torch.testing.assert_close(out.elbo, -(out.recon_nll + out.kl))
    assert decoded.shape == (6, 1, 28, 28)
    assert 0 <= float(decoded.min()) and float(decoded.max()) <= 1


def test_gaussian_learned_std_is_a_parameter():
    model = VAE(VAEConfig(hidden=(16,), latent_dim=2, likelihood="gaussian"))
    assert any(p is model.log_std for p in model.parameters())
    fixed = VAE(VAEConfig(hidden=(16,), latent_dim=2, likelihood="gaussian", decoder_std=0.5))
    assert not any(p is fixed.log_std for p in fixed.parameters())
    assert fixed.log_std.item() == pytest.approx(math.log(0.5))


@pytest.mark.parametrize(
    "opts, message",
    [
        ({"latent_dim": 0}, "latent_dim=0: expected an integer >= 1"),
        ({"beta": -1.0}, "beta=-1.0: expected a number >= 0"),
        ({"likelihood": "poisson"}, "likelihood='poisson'"),
        ({"decoder_std": -0.1, "likelihood": "gaussian"}, "decoder_std=-0.1"),
        ({"k": 0}, "k=0"),
        ({"activation": "swish"}, "activation='swish'"),
        ({"latent_size": 2}, "latent_size: unknown option"),
    ],
)
def test_bad_config(opts, message):
    with pytest.raises(ConfigError, match=message):
        build_model("vae", opts)


def _linear_gaussian_vae(D=2, P=5, sigma=0.3, seed=0):
    """Linear-Gaussian VAE: p(z) = N(0, I), p(x|z) = N(Wz + b, sigma^2 I), so p(x) = N(b, W W^T + sigma^2 I)."""
    g = torch.Generator().manual_seed(seed)
    model = VAE(
        VAEConfig(
            image_shape=(1, 1, P),
            hidden=(),
            latent_dim=D,
            likelihood="gaussian",
            decoder_std=sigma,
            decoder_mean="identity",
        )
    ).double()
    W = torch.randn(P, D, generator=g, dtype=torch.float64)
    b = torch.randn(P, generator=g, dtype=torch.float64)
    with torch.no_grad():
        model.decoder[0].weight.copy_(W)
        model.decoder[0].bias.copy_(b)
        # an encoder near the true posterior N(M^-1 W^T (x - b) / s^2, M^-1), M = I + W^T W / s^2, but diagonal
        # and with a wrong (too wide) variance: the ELBO is then strictly below log p(x)
        M = torch.eye(D, dtype=torch.float64) + W.T @ W / sigma**2
        A = torch.linalg.solve(M, W.T) / sigma**2
        model.fc_mu.weight.copy_(A)
        model.fc_mu.bias.copy_(-A @ b)
        model.fc_logvar.weight.zero_()
        model.fc_logvar.bias.copy_(torch.log(torch.diagonal(torch.linalg.inv(M))) + 1.0)
    cov = W @ W.T + sigma**2 * torch.eye(P, dtype=torch.float64)
    return model, torch.distributions.MultivariateNormal(b, cov)


def test_linear_gaussian_vae_iw_bound_approaches_exact_log_px():
    model, p_x = _linear_gaussian_vae()
    x = p_x.sample(
        (200,),
    ).view(200, 1, 1, 5)
    exact = p_x.log_prob(x.view(200, 5))
    g = torch.Generator().manual_seed(1)
    gaps = {}
    for k in (1, 10, 1000):
        log_px, elbo = iw_log_likelihood(model, x, k, chunk=250, generator=g)
        gaps[k] = float((exact - log_px).mean())
    # with K = 1000 samples, the per-image ELBO estimate is precise: below log p(x) for every image
    assert (elbo <= exact + 0.05).all()
    assert float((exact - elbo).mean()) > 0.1  # the deliberately wrong encoder leaves a real gap
    assert gaps[1] > gaps[10] > gaps[1000] >= -0.01
    assert gaps[1000] < 0.02  # L_1000 is within 0.02 nats of the exact log-likelihood


def test_trained_model_iw_bound_above_elbo_and_rising(mnist_vae_run, data_dir):
    from vaelab.data import load_dataset

    model = mnist_vae_run.load_model()
    test = load_dataset("mnist", "test", data_dir, limit=500)
    results = {k: evaluate(model, test, k=k, progress=False) for k in (1, 10, 100)}
    # K = 1 is the ELBO itself
    assert results[1]["nll"] == pytest.approx(-results[1]["elbo"], abs=1e-6)
    for k in (10, 100):
        assert -results[k]["nll"] >= results[k]["elbo"]  # L_K >= ELBO (same samples)
    assert -results[1]["nll"] < -results[10]["nll"] < -results[100]["nll"]
    assert results[100]["active_units"] <= 2 and results[100]["latent_dim"] == 2
    assert results[100]["kl"] > 0 and "static" in results[100]["binarization"]
