"""The code of the exercise solutions, as imported from d2lsave."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from d2lsave import (
    PseudorandomPermutation,
    SyntheticRegressionStream,
    read_shuffled_blocks,
    write_regression_file,
)


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 3000), key=st.integers(0, 2**32))
def test_pseudorandom_permutation_is_a_bijection(n, key):
    assert sorted(PseudorandomPermutation(n, key)) == list(range(n))


def test_pseudorandom_permutation_depends_on_the_key_and_rejects_bad_indices():
    assert list(PseudorandomPermutation(1000, 1)) != list(PseudorandomPermutation(1000, 2))
    with pytest.raises(IndexError, match="range"):
        PseudorandomPermutation(10, 1)(10)
    with pytest.raises(ValueError, match="n must be"):
        PseudorandomPermutation(0, 1)


def test_regression_file_and_block_shuffle(tmp_path):
    rows = write_regression_file(tmp_path / "d.npy", [2, -3.4], 4.2, 0.0, 2500, chunk=300)
    reloaded = np.load(tmp_path / "d.npy", mmap_mode="r")
    assert reloaded.shape == (2500, 3)
    expected = reloaded[:, :2] @ [2, -3.4] + 4.2
    np.testing.assert_allclose(reloaded[:, -1], expected, rtol=0, atol=1e-5)
    batches = list(read_shuffled_blocks(rows, 64, block_size=100, blocks_in_buffer=3, key=5))
    seen = torch.cat([torch.cat([X, y], 1) for X, y in batches]).numpy()
    assert len(seen) == 2500
    assert np.array_equal(np.sort(seen[:, -1]), np.sort(rows[:, -1]))
    assert not np.array_equal(seen[:, -1], rows[:, -1])
    again = list(read_shuffled_blocks(rows, 64, block_size=100, blocks_in_buffer=3, key=5))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(batches, again, strict=True))


def test_stream_is_fresh_each_epoch_or_the_same_on_request():
    fresh = SyntheticRegressionStream([2, -3.4], 4.2, seed=0, num_batches=4)
    assert not torch.equal(torch.cat([X for X, _ in fresh]), torch.cat([X for X, _ in fresh]))
    same = SyntheticRegressionStream([2, -3.4], 4.2, seed=0, num_batches=4, fresh_each_epoch=False)
    assert torch.equal(torch.cat([X for X, _ in same]), torch.cat([X for X, _ in same]))


def test_stream_gives_the_same_batches_with_worker_processes():
    same = SyntheticRegressionStream([2, -3.4], 4.2, seed=3, num_batches=6, fresh_each_epoch=False)
    alone = sorted(X[0, 0].item() for X, _ in same)
    loader = torch.utils.data.DataLoader(same, batch_size=None, num_workers=2)
    assert sorted(X[0, 0].item() for X, _ in loader) == alone


def test_stream_rejects_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        SyntheticRegressionStream([1.0], 0.0, batch_size=0)
