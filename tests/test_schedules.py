"""The learning-rate schedules: torch's own schedulers are the oracle."""

import pytest
import torch

from seqlab.config import TrainingConfig
from seqlab.training.schedules import SCHEDULES, CosineToBudget, make_schedule


def _optimizer(lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr)


def _torch_cosine_rates(epochs: int, lr: float = 0.1) -> list[float]:
    optimizer = _optimizer(lr)
    reference = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    rates = []
    for _ in range(epochs):
        optimizer.step()
        reference.step()
        rates.append(optimizer.param_groups[0]["lr"])
    return rates


def test_cosine_without_a_budget_is_torchs_cosine_over_max_epochs():
    optimizer = _optimizer()
    schedule = make_schedule(optimizer, TrainingConfig(lr=0.1, max_epochs=7,
                                                       scheduler="cosine"), True)
    rates = []
    for epoch in range(1, 8):
        schedule.after_epoch(score=0.5, elapsed=10.0 * epoch)
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates == pytest.approx(_torch_cosine_rates(7), abs=1e-12)


def test_cosine_with_a_budget_anneals_over_the_epochs_the_budget_holds():
    # a minute per epoch and a five-minute budget: five epochs, whatever max_epochs says
    optimizer = _optimizer()
    schedule = CosineToBudget(optimizer, max_epochs=50, max_minutes=5)
    rates = []
    for epoch in range(1, 6):
        schedule.after_epoch(score=0.5, elapsed=60.0 * epoch)
        rates.append(optimizer.param_groups[0]["lr"])
    assert schedule.horizon == 5
    assert rates == pytest.approx(_torch_cosine_rates(5), abs=1e-12)
    assert rates[-1] == pytest.approx(0.0, abs=1e-12)


def test_the_budgets_horizon_follows_the_pace_within_its_bounds():
    schedule = CosineToBudget(_optimizer(), max_epochs=12, max_minutes=10)
    schedule.after_epoch(score=0.0, elapsed=120.0)  # 2 min an epoch: 5 fit
    assert schedule.horizon == 5
    schedule.after_epoch(score=0.0, elapsed=150.0)  # 75 s an epoch: 8 fit
    assert schedule.horizon == 8
    schedule.after_epoch(score=0.0, elapsed=160.0)  # 53 s an epoch: 11 fit
    assert schedule.horizon == 11
    schedule.after_epoch(score=0.0, elapsed=170.0)  # 42.5 s: 14 would, max_epochs caps it
    assert schedule.horizon == 12
    slow = CosineToBudget(_optimizer(), max_epochs=12, max_minutes=1)
    for epoch in range(1, 4):
        slow.after_epoch(score=0.0, elapsed=100.0 * epoch)  # past the budget already
    assert slow.horizon == 3  # never fewer epochs than are done


def test_a_restored_cosine_sets_the_same_rates():
    optimizer = _optimizer()
    schedule = CosineToBudget(optimizer, max_epochs=50, max_minutes=8)
    for epoch in range(1, 4):
        schedule.after_epoch(score=0.0, elapsed=60.0 * epoch)
    restored_optimizer = _optimizer()
    restored = CosineToBudget(restored_optimizer, max_epochs=50, max_minutes=8)
    restored.load_state_dict(schedule.state_dict())
    assert restored.horizon == schedule.horizon == 8
    assert (restored_optimizer.param_groups[0]["lr"]
            == pytest.approx(optimizer.param_groups[0]["lr"], abs=1e-15))


def test_plateau_halves_after_two_epochs_without_a_better_score():
    optimizer = _optimizer()
    schedule = make_schedule(optimizer, TrainingConfig(lr=0.1, scheduler="plateau"), True)
    rates = []
    for score in (0.5, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7):
        schedule.after_epoch(score=score, elapsed=1.0)
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])


def test_every_configurable_scheduler_has_a_schedule():
    names = TrainingConfig.model_fields["scheduler"].annotation.__args__
    assert set(names) == set(SCHEDULES)
    assert make_schedule(_optimizer(), TrainingConfig(scheduler="none"), True) is None
