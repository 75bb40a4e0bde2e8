"""Helpers shared by the tests of d2lsave's behaviour."""

from collections.abc import Iterable

import torch


def joined(batches: Iterable) -> torch.Tensor:
    """The minibatches (X, y) of a pass as one table, a row [x, y] per example, as read."""
    return torch.cat([torch.cat(list(batch), 1) for batch in batches])


def loader(data, **options) -> torch.utils.data.DataLoader:
    """A DataLoader that passes the dataset's own minibatches through."""
    return torch.utils.data.DataLoader(data, batch_size=None, **options)
