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


def _mean_fixed_points(permutations, n: int) -> float:
    """How many indices a permutation leaves in place, averaged over many permutations."""
    counts = [sum(perm[i] == i for i in range(n)) for perm in permutations]
    return float(np.mean(counts))


# A uniformly random permutation has one fixed point on average, with variance 1; over 300
# permutations the mean's standard deviation is 1 / sqrt(300) = 0.06, and 0.3 is five of them.
KEYS, TOLERANCE = 300, 0.3


@pytest.mark.parametrize("n", [1000, 1024])
def test_pseudorandom_permutation_leaves_one_index_in_place_on_average(n):
    permutations = (list(PseudorandomPermutation(n, key)) for key in range(KEYS))
    assert _mean_fixed_points(permutations, n) == pytest.approx(1, abs=TOLERANCE)


def test_a_uniform_shuffle_passes_the_fixed_point_check():
    generator = torch.Generator().manual_seed(0)
    permutations = (torch.randperm(1000, generator=generator).tolist() for _ in range(KEYS))
    assert _mean_fixed_points(permutations, 1000) == pytest.approx(1, abs=TOLERANCE)


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


# Not in order, as when a run resumes from a checkpoint: a stream that counts its own passes fails.
EPOCHS = (2, 0, 7)


def _epochs(stream, loader, epochs=EPOCHS):
    """What a training loop sees: set the epoch, then read the whole pass."""
    seen = []
    for epoch in epochs:
        stream.set_epoch(epoch)
        seen.append(torch.cat([torch.cat([X, y], 1) for X, y in loader]))
    return seen


def _computed(stream, epoch):
    """An epoch's data computed minibatch by minibatch, in this process."""
    return torch.cat([torch.cat(stream.batch(epoch, k), 1) for k in range(len(stream))])


def test_stream_is_fresh_each_epoch_or_the_same_on_request():
    fresh = SyntheticRegressionStream([2, -3.4], 4.2, seed=0, num_batches=4)
    first, second, again = _epochs(fresh, fresh, epochs=(0, 1, 0))
    assert not torch.equal(first, second) and torch.equal(first, again)
    same = SyntheticRegressionStream([2, -3.4], 4.2, seed=0, num_batches=4, fresh_each_epoch=False)
    first, second = _epochs(same, same, epochs=(0, 1))
    assert torch.equal(first, second)


LOADERS = {
    "no workers": {"num_workers": 0},
    "fresh workers": {"num_workers": 2},
    "persistent workers": {"num_workers": 2, "persistent_workers": True},
    # spawned workers unpickle the stream: its epoch must stay shared (one worker: imports are slow)
    "persistent spawned worker": {
        "num_workers": 1,
        "persistent_workers": True,
        "multiprocessing_context": "spawn",
    },
}


@pytest.mark.parametrize("options", LOADERS.values(), ids=LOADERS.keys())
def test_set_epoch_reaches_the_loader_workers(options):
    stream = SyntheticRegressionStream([2, -3.4], 4.2, seed=4, batch_size=3, num_batches=5)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, **options)
    seen = _epochs(stream, loader)
    for epoch, data in zip(EPOCHS, seen, strict=True):
        assert torch.equal(data, _computed(stream, epoch))
    assert len({data.numpy().tobytes() for data in seen}) == len(seen)


def test_iterating_the_stream_does_not_change_its_epoch():
    stream = SyntheticRegressionStream([1.0], 0.0, num_batches=2)
    stream.set_epoch(5)
    passes = [torch.cat([X for X, _ in stream]) for _ in range(2)]
    assert stream.epoch == 5 and torch.equal(*passes)


def _batches_of_both_modes(seeds, epochs, batches):
    """Minibatch bytes -> where they came from, for fresh and fixed streams alike."""
    found = {}
    for seed in seeds:
        for fresh in (True, False):
            stream = SyntheticRegressionStream(
                [1.0, 2.0],
                0.0,
                batch_size=2,
                num_batches=batches,
                seed=seed,
                fresh_each_epoch=fresh,
            )
            for epoch in epochs if fresh else [0]:
                for k in range(batches):
                    key = stream.batch(epoch, k)[0].numpy().tobytes()
                    found.setdefault(key, []).append((seed, fresh, epoch, k))
    return found


def test_fresh_and_fixed_streams_never_share_a_minibatch():
    found = _batches_of_both_modes(seeds=[0, 1, 2**32], epochs=range(6), batches=6)
    assert [where for where in found.values() if len(where) > 1] == []
    assert len(found) == 3 * (6 * 6 + 6)


def test_batch_seeds_differ_at_the_word_boundaries():
    values = [0, 1, 2**32 - 1, 2**32, 2**32 + 1, 2**63]
    seeds = []
    for seed in values:
        for fresh in (True, False):
            stream = SyntheticRegressionStream(
                [1.0], 0.0, num_batches=2**64, seed=seed, fresh_each_epoch=fresh
            )
            for epoch in values if fresh else [0]:
                seeds += [stream.batch_seed(epoch, k) for k in values]
    assert len(set(seeds)) == len(seeds) == 6 * (6 * 6 + 6)


def test_stream_gives_the_same_batches_with_worker_processes():
    same = SyntheticRegressionStream([2, -3.4], 4.2, seed=3, num_batches=6, fresh_each_epoch=False)
    alone = sorted(X[0, 0].item() for X, _ in same)
    loader = torch.utils.data.DataLoader(same, batch_size=None, num_workers=2)
    assert sorted(X[0, 0].item() for X, _ in loader) == alone


def test_stream_rejects_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        SyntheticRegressionStream([1.0], 0.0, batch_size=0)
    with pytest.raises(ValueError, match="seed"):
        SyntheticRegressionStream([1.0], 0.0, seed=2**64)
    stream = SyntheticRegressionStream([1.0], 0.0, num_batches=3)
    with pytest.raises(ValueError, match="epoch"):
        stream.set_epoch(-1)
    with pytest.raises(IndexError, match="range"):
        stream.batch(0, 3)
