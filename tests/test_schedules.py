"""Ganin's reversal coefficient and the learning-rate annealing schedules."""

import math

import pytest
import torch

from minerva_vertex import schedules


@pytest.mark.parametrize(
    "p, expected",
    [(0.0, 0.0), (0.5, 2 / (1 + math.exp(-5)) - 1), (1.0, 2 / (1 + math.exp(-10)) - 1)],
)
def test_ganin_lambda(p, expected):
    assert schedules.ganin_lambda(p) == pytest.approx(expected, rel=1e-12)


def test_lambda_values_at_half_and_end():
    assert schedules.ganin_lambda(0.5) == pytest.approx(0.986614, abs=1e-6)
    assert schedules.ganin_lambda(1.0) == pytest.approx(0.999909, abs=1e-6)
    assert schedules.reversal_lambda(0.5, "ganin", scale=0.5) == pytest.approx(0.493307, abs=1e-6)
    assert schedules.reversal_lambda(0.0, "constant", scale=0.3) == 0.3


@pytest.mark.parametrize("p, expected", [(0.0, 0.01), (0.5, 0.01 / 6**0.75), (1.0, 0.01 / 11**0.75)])
def test_ganin_learning_rate(p, expected):
    # Ganin et al.: mu_p = 0.01 / (1 + 10 p)^0.75
    assert schedules.ganin_learning_rate(0.01, p) == pytest.approx(expected)
    assert schedules.LearningRateSchedule("ganin", 0.01).at(int(p * 1000), 1000) == pytest.approx(expected)


def test_inv_learning_rate_is_caffes():
    # Caffe "inv": base * (1 + gamma * iter)^-power, MINERvA's gamma 1e-4, power 0.75
    assert schedules.inv_learning_rate(0.0025, 0) == 0.0025
    assert schedules.inv_learning_rate(0.0025, 10_000) == pytest.approx(0.0025 * 2**-0.75)
    assert schedules.LearningRateSchedule("inv", 0.0025).at(5000, 20_000) == pytest.approx(0.0025 * 1.5**-0.75)


def test_constant_and_progress():
    assert schedules.LearningRateSchedule("constant", 1e-3).at(500, 1000) == 1e-3
    assert schedules.progress(0, 10) == 0.0
    assert schedules.progress(5, 10) == 0.5
    assert schedules.progress(12, 10) == 1.0


def test_unknown_schedules_are_refused():
    with pytest.raises(ValueError, match="lambda schedule"):
        schedules.reversal_lambda(0.1, "linear")
    with pytest.raises(ValueError, match="learning-rate schedule"):
        schedules.LearningRateSchedule("step", 1.0).at(0, 10)


def test_cosine_warms_up_linearly_then_decays_to_zero():
    assert schedules.LearningRateSchedule("cosine", 0.01, warmup=0.1).at(0, 1000) == 0.0
    assert schedules.LearningRateSchedule("cosine", 0.01, warmup=0.1).at(50, 1000) == pytest.approx(0.005)
    assert schedules.LearningRateSchedule("cosine", 0.01, warmup=0.1).at(100, 1000) == pytest.approx(0.01)
    assert schedules.LearningRateSchedule("cosine", 0.01, warmup=0.1).at(550, 1000) == pytest.approx(0.005)
    assert schedules.LearningRateSchedule("cosine", 0.01, warmup=0.1).at(1000, 1000) == pytest.approx(0.0, abs=1e-15)
    assert schedules.LearningRateSchedule("cosine", 0.01).at(500, 1000) == pytest.approx(0.005)  # no warm-up


def test_onecycle_follows_pytorchs_one_cycle_policy():
    total, warmup, base = 1000, 0.3, 0.004
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    reference = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=base, total_steps=total, pct_start=warmup)
    for step in range(total):
        ours = schedules.LearningRateSchedule("onecycle", base, warmup=warmup).at(step, total)
        # PyTorch ends each phase one step earlier (step 299 and 999 reach the extremes).
        assert ours == pytest.approx(reference.get_last_lr()[0], rel=0.02, abs=base * 0.01), step
        optimizer.step()
        reference.step()
    assert schedules.LearningRateSchedule("onecycle", base, warmup=warmup).at(0, total) == pytest.approx(base / 25)
    assert schedules.LearningRateSchedule("onecycle", base, warmup=warmup).at(300, total) == pytest.approx(base)
