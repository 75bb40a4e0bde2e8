"""The code of the exercise solutions, as imported from d2lsave."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from d2lsave import (
    TORCH_SEEDS,
    BlockShuffledDataset,
    OnTheFlyData,
    PseudorandomPermutation,
    RegressionRows,
    SyntheticRegressionStream,
    block_shuffle,
    distributed_rank,
    hash_key,
    read_shuffled_blocks,
    shard_index,
    write_in_chunks,
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
    rows = write_regression_file(
        tmp_path / "d.npy", [2, -3.4], 4.2, 0.0, 2500, chunk=300, progress=False
    )
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


# A spawned worker imports torch afresh (seconds): that case belongs to the full tier.
SLOW_LOADERS = {"persistent spawned worker"}


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(options, id=name, marks=[pytest.mark.processes] * (name in SLOW_LOADERS))
        for name, options in LOADERS.items()
    ],
)
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


def test_hash_key_differs_at_the_word_boundaries():
    values = [0, 1, 2**32 - 1, 2**32, 2**32 + 1, 2**63, 2**64 - 1]
    inputs = {(), (0,), (0, 0), (0, 0, 0)}
    inputs |= {(mode, seed) for mode in (0, 1) for seed in values}
    inputs |= {(a, b, c) for a in values for b in values[:3] for c in values[:3]}
    keys = {hash_key(*words) for words in inputs}
    assert len(keys) == len(inputs) == 79
    with pytest.raises(ValueError, match="hash_key takes integers in \\[0, 2\\*\\*64\\)"):
        hash_key(2**64)


def test_batch_seeds_are_distinct_32_bit_seeds():
    """torch's CPU generator keeps the low 32 bits of a seed: larger seeds would repeat."""
    seeds = []
    for seed in [0, 1, 2**32, 2**64 - 1]:
        for fresh in (True, False):
            stream = SyntheticRegressionStream(
                [1.0], 0.0, num_batches=7, seed=seed, fresh_each_epoch=fresh
            )
            for epoch in [0, 1, 5, stream.epochs - 1] if fresh else [0]:
                seeds += [stream.batch_seed(epoch, k) for k in range(7)]
    assert all(0 <= seed < TORCH_SEEDS for seed in seeds)
    assert len(set(seeds)) == len(seeds)


def test_a_fresh_stream_has_as_many_epochs_as_its_half_of_the_32_bit_seeds_allows():
    stream = SyntheticRegressionStream([1.0], 0.0, num_batches=1000)
    assert stream.epochs == TORCH_SEEDS // 2 // 1000
    stream.set_epoch(stream.epochs - 1)
    with pytest.raises(ValueError, match="epoch must be below 2,147,483"):
        stream.set_epoch(stream.epochs)
    with pytest.raises(ValueError, match="num_batches must be at most 2\\*\\*31"):
        SyntheticRegressionStream([1.0], 0.0, num_batches=2**31 + 1)


def test_a_minibatch_computed_alone_equals_the_one_of_a_full_pass():
    """Bit for bit, in this process (workers: above; another rank: test_sharding.py)."""
    stream = SyntheticRegressionStream([2, -3.4], 4.2, seed=8, batch_size=1024, num_batches=6)
    stream.set_epoch(4)
    full_pass = list(stream)
    for k in (5, 0, 3):
        alone = stream.batch(4, k)
        assert all(torch.equal(a, b) for a, b in zip(alone, full_pass[k], strict=True))


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


ROWS = {"w": [2.0, -3.4], "b": 4.2, "noise": 0.01, "seed": 4}


def test_rows_are_the_same_however_they_are_indexed():
    rows = RegressionRows(**ROWS, num_examples=1000, block_size=64)
    everything = rows[:]
    assert everything.shape == (1000, 3) and everything.dtype == np.float32
    assert np.array_equal(rows[60:200], everything[60:200])  # across block boundaries
    assert np.array_equal(rows[999], everything[-1]) and np.array_equal(rows[-1], rows[999])
    assert np.array_equal(rows.block(15), everything[960:])  # the last, short block
    assert rows[5:5].shape == (0, 3)
    labels = everything[:, :2] @ np.array([2.0, -3.4], np.float32) + 4.2
    assert (everything[:, 2] - labels).std() == pytest.approx(0.01, rel=0.1)


def test_no_two_blocks_repeat():
    """Seeds hashed to 64 bits would give torch the same 32 bits for some pair of blocks."""
    rows = RegressionRows(**ROWS, num_examples=3000 * 2, block_size=2)
    seeds = [rows.seeds(j) for j in range(rows.num_blocks)]
    assert all(seed < TORCH_SEEDS for seed in seeds) and len(set(seeds)) == len(seeds)
    firsts = {rows.block(j)[0].tobytes() for j in range(rows.num_blocks)}
    assert len(firsts) == rows.num_blocks


def test_a_trillion_rows_cost_one_block_each():
    huge = RegressionRows(**ROWS, num_examples=10**12)
    i = 987_654_321_098
    block = huge.block(i // 4096)
    assert np.array_equal(huge[i], block[i % 4096])
    assert np.array_equal(huge[i - 1 : i + 2][1], huge[i])
    assert huge[10**12 - 1].shape == (3,)
    with pytest.raises(IndexError, match="range"):
        huge[10**12]
    with pytest.raises(TypeError, match="step 1"):
        huge[::2]


def _epoch(rows, shards: int, **options) -> list[bytes]:
    """Every minibatch of one epoch, read by `shards` shards one after the other."""
    return [
        torch.cat([X, y], 1).numpy().tobytes()
        for shard in range(shards)
        for X, y in read_shuffled_blocks(rows, **options, shard=shard, num_shards=shards)
    ]


@pytest.mark.parametrize("n", [1000, 1037])
@pytest.mark.parametrize("shards", [2, 3, 7])
def test_shards_together_read_every_row_once_and_match_one_pass(n, shards):
    """The same code path as the trillion rows above, on a size we can check exhaustively."""
    rows = RegressionRows(**ROWS, num_examples=n, block_size=50)
    options = {"batch_size": 32, "block_size": 50, "blocks_in_buffer": 3, "key": 11}
    sharded = _epoch(rows, shards, **options)
    assert sorted(sharded) == sorted(_epoch(rows, 1, **options))
    read = np.frombuffer(b"".join(sharded), np.float32).reshape(-1, 3)
    everything = rows[:]
    assert len(read) == n
    assert np.array_equal(
        read[np.lexsort(read.T[::-1])], everything[np.lexsort(everything.T[::-1])]
    )


def test_block_shuffled_dataset_splits_epochs_over_workers_and_ranks():
    rows = RegressionRows(**ROWS, num_examples=1037, block_size=50)
    epochs = []
    for epoch in (0, 1):
        read = []
        for rank in (0, 1):
            dataset = BlockShuffledDataset(rows, 32, 50, 3, seed=1, rank=rank, world_size=2)
            dataset.set_epoch(epoch)
            loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2)
            read += [torch.cat([X, y], 1) for X, y in loader]
        labels = torch.cat(read)[:, -1]
        assert torch.equal(labels.sort().values, torch.from_numpy(np.sort(rows[:][:, -1])))
        epochs.append(labels)
    assert not torch.equal(*epochs)


def test_shards_and_ranks_are_checked():
    assert distributed_rank(None, None) == (0, 1)
    assert distributed_rank(1, 3) == (1, 3)
    assert [shard_index(r, 2, w) for r in (0, 1) for w in (0, 1)] == [0, 2, 1, 3]
    with pytest.raises(ValueError, match="rank must be in range\\(world_size=2\\), got 2"):
        distributed_rank(2, 2)
    with pytest.raises(ValueError, match="give both rank and world_size"):
        distributed_rank(0, None)
    with pytest.raises(ValueError, match="shard must be in range\\(3\\), got 3"):
        next(read_shuffled_blocks(np.zeros((10, 2)), 2, 2, 1, key=0, shard=3, num_shards=3))


def _preimage(permutation: PseudorandomPermutation, value: int) -> int:
    """The index that `permutation` maps to `value`, for n = 2**(2 * half_bits): then it is a
    Feistel network alone (no cycle walking), undone round by round."""
    assert permutation.n == 1 << (2 * permutation.half_bits)
    left, right = value >> permutation.half_bits, value & permutation.mask
    for round_key in reversed(permutation.round_keys):
        left, right = right ^ permutation._mix(left, round_key), left
    return (left << permutation.half_bits) | right


def test_preimage_undoes_the_permutation():
    permutation = PseudorandomPermutation(TORCH_SEEDS, hash_key(1, 5))
    for i in (0, 1, 12345, 2**31, TORCH_SEEDS - 1):
        assert _preimage(permutation, permutation(i)) == i


@pytest.mark.parametrize("fresh_batches, fixed_batches", [(1, 1), (32, 32), (1000, 7), (7, 1000)])
def test_a_fixed_minibatch_is_no_fresh_minibatch_at_any_allowed_epoch(fresh_batches, fixed_batches):
    """Not only in the first epochs: find the fresh minibatch whose seed a fixed one has, and
    check that the fresh stream may never reach it."""
    for seed in (0, 3):
        fresh = SyntheticRegressionStream(
            [1.0, 2.0], 0.0, batch_size=2, seed=seed, num_batches=fresh_batches
        )
        fixed = SyntheticRegressionStream(
            [1.0, 2.0],
            0.0,
            batch_size=2,
            seed=seed,
            num_batches=fixed_batches,
            fresh_each_epoch=False,
        )
        for k in sorted({0, 1, fixed_batches - 1} & set(range(fixed_batches))):
            epoch, j = divmod(_preimage(fresh.seeds, fixed.batch_seed(0, k)), fresh_batches)
            if epoch < fresh.epochs:
                shared = torch.equal(fresh.batch(epoch, j)[0], fixed.batch(0, k)[0])
                assert not shared, f"fixed minibatch {k} is fresh minibatch {j} of epoch {epoch}"


def test_write_in_chunks_writes_every_row_and_a_short_last_chunk(tmp_path):
    rows = write_in_chunks(tmp_path / "d.npy", [2, -3.4], 4.2, 0.01, 1000, chunk=300)
    assert rows.shape == (1000, 3) and rows.dtype == np.float32
    reloaded = np.load(tmp_path / "d.npy")
    assert np.array_equal(reloaded, rows)
    residual = reloaded[:, -1] - (reloaded[:, :2] @ [2, -3.4] + 4.2)
    assert residual.std() == pytest.approx(0.01, rel=0.15)
    assert len(np.unique(reloaded[:, 0])) == 1000  # no chunk repeats another


@pytest.mark.parametrize("n", [1000, 1037])
def test_block_shuffle_is_read_shuffled_blocks_in_one_shard(n):
    """The solution's short version and the sharded, read-ahead one give the same epoch."""
    rows = RegressionRows(**ROWS, num_examples=n, block_size=50)
    short = [torch.cat(batch, 1) for batch in block_shuffle(rows, 32, 50, 3, key=11)]
    full = [torch.cat(batch, 1) for batch in read_shuffled_blocks(rows, 32, 50, 3, key=11)]
    assert len(short) == len(full) and all(map(torch.equal, short, full))
    labels = torch.cat(short)[:, -1]
    assert torch.equal(labels.sort().values, torch.from_numpy(np.sort(rows[:][:, -1])))
    assert not torch.equal(labels, torch.from_numpy(rows[:][:, -1]))


def _pass(data, **loader):
    return torch.cat(
        [
            torch.cat(batch, 1)
            for batch in torch.utils.data.DataLoader(data, batch_size=None, **loader)
        ]
    )


def test_on_the_fly_data_is_new_each_epoch_the_same_when_fixed_and_split_among_workers():
    fresh = OnTheFlyData([2, -3.4], 4.2, num_batches=5, seed=1)
    seen = {}
    for epoch in (0, 1, 0):
        fresh.epoch = epoch
        seen.setdefault(epoch, []).append(_pass(fresh))
    assert torch.equal(*seen[0]) and not torch.equal(seen[0][0], seen[1][0])
    fresh.epoch = 1
    assert torch.equal(_pass(fresh, num_workers=2), seen[1][0])  # each minibatch once, in order
    assert torch.equal(torch.cat(fresh.batch(1, 3), 1), seen[1][0][3 * 32 : 4 * 32])
    fixed = OnTheFlyData([2, -3.4], 4.2, num_batches=5, seed=1, fresh=False)
    fixed.epoch = 7
    assert torch.equal(_pass(fixed), seen[0][0])  # a fixed stream is epoch 0, every epoch
    labels = seen[1][0][:, -1] - (seen[1][0][:, :2] @ torch.tensor([2, -3.4]) + 4.2)
    assert labels.std().item() == pytest.approx(0.01, rel=0.2)


def test_each_solution_opens_with_a_short_answer_in_every_view():
    """At most 400 words and 40 lines of open code per solution and framework; the rest is
    collapsed or in the engineering notes."""
    from tools.book_notebooks import ROOT
    from tools.lesson_size import page_sizes

    sizes = page_sizes(ROOT / "book" / "exercises.md", sections=True)
    solutions = {
        (view, section): size
        for (view, section), size in sizes.items()
        if section.startswith("ex-")
    }
    assert len(solutions) == 16
    too_long = {
        where: (size.words, size.code_lines)
        for where, size in solutions.items()
        if size.words > 400 or size.code_lines > 40
    }
    assert too_long == {}
