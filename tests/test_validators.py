"""Label-free validators on synthetic domains where the answer is known in closed form."""

import numpy as np
import pytest

from minerva_vertex import validators


def _gaussian_domains(n=20000, shift=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, (n, 1)), rng.normal(shift, 1.0, (n, 1))


def test_density_ratios_follow_the_true_ratio():
    # N(0, 1) against N(1, 1): p_t / p_s = exp(x - 1/2), a logistic odds exactly.
    source, target = _gaussian_domains()
    weights = validators.density_ratios(source, target)
    x = source[:, 0]
    core = np.abs(x) < 1.5
    truth = np.exp(x - 0.5)
    assert np.median(np.abs(np.log(weights[core] / truth[core]))) < 0.1
    assert weights.mean() == pytest.approx(1.0)


def test_dev_estimates_the_target_risk_where_the_source_loss_does_not():
    # Loss x^2: 1 on the source, 1 + 1 = 2 on the target.
    source, target = _gaussian_domains()
    losses = source[:, 0] ** 2
    weights = validators.density_ratios(source, target)
    assert validators.source_risk(losses) == pytest.approx(1.0, abs=0.05)
    assert validators.dev_risk(losses, weights) == pytest.approx(2.0, abs=0.2)


def test_dev_picks_the_model_better_on_the_target():
    # Model "near" errs for large |x - 1| (good where the target is), "far" around 0
    # (good on the source): the source loss picks "far", DEV and the truth "near".
    source, target = _gaussian_domains()
    x = source[:, 0]
    losses = {"near": (x - 1.0) ** 2, "far": 0.8 * x**2}
    true_target = {"near": np.mean((target[:, 0] - 1.0) ** 2), "far": np.mean(0.8 * target[:, 0] ** 2)}
    weights = validators.density_ratios(source, target)
    assert validators.choose({k: validators.source_risk(v) for k, v in losses.items()}) == "far"
    assert validators.choose({k: validators.dev_risk(v, weights) for k, v in losses.items()}) == "near"
    assert validators.choose(true_target) == "near"


def test_control_variate_is_exact_for_a_constant_loss():
    rng = np.random.default_rng(3)
    weights = rng.exponential(1.0, 500)
    assert validators.dev_risk(np.full(500, 0.7), weights) == pytest.approx(0.7)


def test_entropy_risk():
    confident = np.eye(11)[[0, 3, 5]]
    uniform = np.full((3, 11), 1 / 11)
    assert validators.entropy_risk(confident) == pytest.approx(0.0, abs=1e-9)
    assert validators.entropy_risk(uniform) == pytest.approx(np.log(11))


def test_dev_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="one weight per source loss"):
        validators.dev_risk([1.0, 2.0], [1.0])
