"""Data, helpers and the written file shared by the tests of d2lsave's behaviour."""

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
import torch

import d2lsave

W, B = [2.0, -3.4], 4.2
ROWS = {"w": W, "b": B, "noise": 0.01, "num_examples": 1950}
# 20 chunks of 100 rows, a checkpoint every third chunk: a kill often lands between two.
FILE = ROWS | {"chunk": 100, "checkpoint_every": 3}


def joined(batches: Iterable) -> torch.Tensor:
    """The minibatches (X, y) of a pass as one table, a row [x, y] per example, as read."""
    return torch.cat([torch.cat(list(batch), 1) for batch in batches])


def loader(data, **options) -> torch.utils.data.DataLoader:
    """A DataLoader that passes the dataset's own minibatches through."""
    return torch.utils.data.DataLoader(data, batch_size=None, **options)


def by_rows(table) -> np.ndarray:
    """The rows of a table in sorted order, to compare what was read with what was written."""
    table = np.asarray(table)
    return table[np.lexsort(table.T[::-1])]


@pytest.fixture(scope="session")
def written(tmp_path_factory) -> Path:
    """FILE written in one go, for the tests to read and compare with; none may change it."""
    path = tmp_path_factory.mktemp("written") / "rows.npy"
    d2lsave.write_regression_file(path, **FILE, progress=False)
    return path
