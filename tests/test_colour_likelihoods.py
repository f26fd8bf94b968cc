"""The colour likelihoods against direct computations (scipy.stats, numerical integration, mpmath), and the
bits-per-dimension conversion."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import torch

from vaelab.core.likelihoods import (
    bits_per_dim,
    continuous_bernoulli_log_norm,
    continuous_bernoulli_log_prob,
    continuous_bernoulli_mean,
    discretization_offset,
    discretized_logistic_log_prob,
    gaussian_log_prob,
)


def _logistic_bin_prob(k: int, mean: float, scale: float) -> float:
    """P(k) of the discretized logistic from scipy's logistic CDF: the bin [k - 1/2, k + 1/2] / 255, tails at the
    edges. Above the mean the survival function is differenced instead (no cancellation of two CDFs near 1)."""
    dist = scipy.stats.logistic(loc=mean, scale=scale)
    lo, hi = (k - 0.5) / 255, (k + 0.5) / 255
    if k / 255 > mean:
        return dist.sf(lo) - (0.0 if k == 255 else dist.sf(hi))
    return (1.0 if k == 255 else dist.cdf(hi)) - (0.0 if k == 0 else dist.cdf(lo))


@pytest.mark.parametrize("mean, scale", [(0.3, 0.05), (0.0, 0.2), (1.0, 0.01), (0.5, 1.5), (0.02, 0.004)])
def test_discretized_logistic_equals_differences_of_scipys_cdf(mean, scale):
    ks = np.arange(256)
    x = torch.tensor(ks / 255.0, dtype=torch.float64)[:, None]
    got = discretized_logistic_log_prob(
        torch.full_like(x, mean), torch.tensor([math.log(scale)], dtype=torch.float64), x
    )
    want = np.array([_logistic_bin_prob(int(k), mean, scale) for k in ks])
    ok = want > 1e-300
    np.testing.assert_allclose(got.numpy()[ok], np.log(want[ok]), rtol=1e-9, atol=1e-9)
    # a probability over the 256 values: they sum to one, the edge bins included
    assert float(torch.logsumexp(got, 0)) == pytest.approx(0.0, abs=1e-12)


def test_discretized_logistic_edges_take_the_tails():
    mean, scale = torch.tensor([[0.5]]), torch.tensor([math.log(0.1)])
    lo = discretized_logistic_log_prob(mean, scale, torch.tensor([[0.0]]))
    hi = discretized_logistic_log_prob(mean, scale, torch.tensor([[1.0]]))
    # P(0) = CDF(0.5 / 255) and P(255) = 1 - CDF(254.5 / 255): the whole mass beyond the range
    assert float(lo) == pytest.approx(scipy.stats.logistic.logcdf(0.5 / 255, 0.5, 0.1), rel=1e-5)
    assert float(hi) == pytest.approx(scipy.stats.logistic.logsf(254.5 / 255, 0.5, 0.1), rel=1e-5)


def test_discretized_logistic_far_tail_is_exact_where_the_difference_underflows():
    """sigmoid(a) - sigmoid(b) underflows in float32 (and 1e-5-switching code approximates it); the log-space
    identity stays exact: compared with 50-digit mpmath."""
    mpmath.mp.dps = 50
    mean, scale, k = 0.9, 0.004, 40
    x = torch.tensor([[k / 255]], dtype=torch.float32)
    got = float(discretized_logistic_log_prob(torch.tensor([[mean]]), torch.tensor([math.log(scale)]), x))
    cdf = lambda t: 1 / (1 + mpmath.exp(-(mpmath.mpf(t) - mpmath.mpf(mean)) / mpmath.mpf(scale)))  # noqa: E731
    want = float(mpmath.log(cdf((k + 0.5) / 255) - cdf((k - 0.5) / 255)))
    assert want < -150  # far below float32's smallest normal number (log ~ -87)
    assert got == pytest.approx(want, rel=1e-5)


def test_gaussian_with_a_learned_std_per_channel_equals_scipy():
    from vaelab.models.registry import build_model

    model = build_model("conv-vae", {"image_shape": (3, 8, 8), "likelihood": "gaussian", "std_scope": "channel"})
    with torch.no_grad():
        model.log_std.copy_(torch.log(torch.tensor([0.05, 0.1, 0.3])))
    params = torch.randn(2, 3 * 64)
    x = torch.rand(2, 3 * 64)
    got = model.log_likelihood(params, x).detach()
    mean = torch.sigmoid(params).view(2, 3, 64).numpy()
    std = np.array([0.05, 0.1, 0.3])[None, :, None]
    want = scipy.stats.norm.logpdf(x.view(2, 3, 64).numpy(), mean, std).sum((1, 2))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)
    assert gaussian_log_prob(torch.zeros(1, 1), torch.zeros(1), torch.zeros(1, 1)).item() == pytest.approx(
        scipy.stats.norm.logpdf(0.0)
    )


def test_model_with_a_discretized_logistic_decoder_uses_each_channels_scale():
    from vaelab.models.registry import build_model

    model = build_model(
        "vae",
        {"image_shape": (3, 2, 2), "hidden": [8], "likelihood": "discretized-logistic", "std_scope": "channel"},
    )
    scales = [0.02, 0.1, 0.5]
    with torch.no_grad():
        model.log_std.copy_(torch.log(torch.tensor(scales)))
    params = torch.randn(1, 12)
    x = torch.randint(0, 256, (1, 12)) / 255.0
    got = float(model.log_likelihood(params, x).detach())
    mu = torch.sigmoid(params)[0].tolist()
    ks = (x[0] * 255).round().long().tolist()
    want = sum(math.log(_logistic_bin_prob(k, m, scales[j // 4])) for j, (k, m) in enumerate(zip(ks, mu, strict=True)))
    assert got == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("lam", [0.001, 0.2, 0.4999, 0.5, 0.5001, 0.8, 0.999])
def test_continuous_bernoulli_is_a_normalised_density_with_the_papers_constant(lam):
    logit = math.log(lam / (1 - lam))
    # the paper's normaliser C(lambda) = 2 artanh(1 - 2 lambda) / (1 - 2 lambda) (2 at lambda = 1/2)
    c = 2.0 if lam == 0.5 else 2 * math.atanh(1 - 2 * lam) / (1 - 2 * lam)
    log_c = float(continuous_bernoulli_log_norm(torch.tensor(logit, dtype=torch.float64)))
    assert log_c == pytest.approx(math.log(c), rel=1e-6)
    xs = torch.linspace(0, 1, 7, dtype=torch.float64)
    got = continuous_bernoulli_log_prob(torch.full((7, 1), logit, dtype=torch.float64), xs[:, None])
    want = [math.log(c * lam**x * (1 - lam) ** (1 - x)) for x in xs.tolist()]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-12)

    grid = torch.linspace(0, 1, 20001, dtype=torch.float64)[:, None]
    density = continuous_bernoulli_log_prob(torch.full_like(grid, logit), grid).exp().numpy()
    x = grid[:, 0].numpy()
    assert scipy.integrate.simpson(density, x=x) == pytest.approx(1.0, abs=1e-7)
    mean = scipy.integrate.simpson(x * density, x=x)
    assert float(continuous_bernoulli_mean(torch.tensor(logit, dtype=torch.float64))) == pytest.approx(mean, abs=1e-7)


def test_continuous_bernoulli_has_finite_gradients_at_one_half():
    logits = torch.tensor([[0.0, 1e-5, -2e-4, 3.0]], requires_grad=True)
    continuous_bernoulli_log_prob(logits, torch.tensor([[0.2, 0.5, 0.9, 0.1]])).sum().backward()
    assert torch.isfinite(logits.grad).all()


def test_bits_per_dim_conversion():
    D = 3 * 32 * 32
    # D ln 2 nats per image is one bit per dimension
    assert bits_per_dim(D * math.log(2), D) == pytest.approx(1.0)
    # a uniform distribution over 256 values per pixel: 8 bits/dim, as a discrete model (no offset)
    assert bits_per_dim(D * math.log(256), D, discretization_offset("discretized-logistic", D)) == pytest.approx(8.0)
    # the uniform density on [0, 1] (NLL 0 nats) is the same model of 8-bit pixels: offset D ln 256 -> 8 bits/dim
    assert discretization_offset("gaussian", D) == pytest.approx(D * math.log(256))
    assert bits_per_dim(0.0, D, discretization_offset("continuous-bernoulli", D)) == pytest.approx(8.0)
    assert discretization_offset("bernoulli", D) == 0.0
