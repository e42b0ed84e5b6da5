"""One epoch's pieces: the seeded batch order, the device-side sums that fold into the epoch's stats, and the lr
warmup."""

import pytest
import torch

from ctm.engine.resume import EpochStats
from ctm.engine.train_epoch import DeviceSums, epoch_batches, scaled_lr, warmup_factor


def test_epoch_batches_depend_only_on_seed_and_epoch():
    a = epoch_batches(23, 4, seed=0, epoch=3)
    assert a == epoch_batches(23, 4, seed=0, epoch=3) != epoch_batches(23, 4, seed=0, epoch=4)
    assert len(a) == 5 and all(len(b) == 4 for b in a) and len({i for b in a for i in b}) == 20
    assert epoch_batches(3, 4, seed=0, epoch=0) == [epoch_batches(3, 4, seed=0, epoch=0)[0]]


def test_device_sums_fold_to_the_sum_of_loss_times_clips():
    stats, sums = EpochStats(), DeviceSums(torch.device("cpu"))
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    labels = torch.tensor([0, 0, 0])
    loss = torch.tensor(0.5)
    sums.add(loss, logits, labels)
    sums.add(loss, logits[:1], labels[:1])
    sums.fold(stats)
    assert (stats.loss_sum, stats.correct) == (0.5 * 3 + 0.5 * 1, 2 + 1)
    sums.fold(stats)  # folding again adds nothing: the sums were read back and cleared
    assert (stats.loss_sum, stats.correct) == (2.0, 3)


def test_warmup_rises_linearly_per_step_over_its_epochs_then_stays_at_one():
    assert warmup_factor(0, epoch=0, step=0, steps_per_epoch=10) == 1.0  # no warmup
    assert [warmup_factor(2, 0, s, 10) for s in (0, 9)] == [pytest.approx(0.05), pytest.approx(0.5)]
    assert warmup_factor(2, 1, 8, 10) == pytest.approx(0.95)
    assert warmup_factor(2, 1, 9, 10) == warmup_factor(2, 5, 3, 10) == 1.0
    assert warmup_factor(0.5, 0, 4, 10) == 1.0 and warmup_factor(0.5, 0, 1, 10) == pytest.approx(0.4)


def test_scaled_lr_steps_with_the_warmed_lr_and_leaves_the_schedule_as_it_was():
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.1)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [1], 0.1)
    w.grad = torch.ones(1)
    with scaled_lr(opt, 0.25):
        assert opt.param_groups[0]["lr"] == pytest.approx(0.025)
        opt.step()
    assert w.item() == pytest.approx(-0.025)  # the step used the warmed lr
    assert opt.param_groups[0]["lr"] == 0.1  # and the scheduler finds its own lr again
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)
    with pytest.raises(RuntimeError), scaled_lr(opt, 0.5):
        raise RuntimeError("a failing step")
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)
