"""One epoch's pieces: the seeded batch order, and the device-side sums that fold into the epoch's stats."""

import torch

from ctm.engine.resume import EpochStats
from ctm.engine.train_epoch import DeviceSums, epoch_batches


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
