"""The exercise solutions' code, as imported from d2lsave: keyed permutations, streams of
minibatches computed on demand, rows computed by position, shuffled reads, shards."""

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
from tests.product.conftest import joined, loader

W, B = [2.0, -3.4], 4.2
ROWS = {"w": W, "b": B, "noise": 0.01, "seed": 4}
EPOCHS = (2, 0, 7)  # not in order, as when a run resumes: a stream counting its passes fails


def stream(**options) -> SyntheticRegressionStream:
    return SyntheticRegressionStream(W, B, **options)


def labels(rows) -> torch.Tensor:
    return torch.from_numpy(np.array(rows[:][:, -1]))


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 3000), key=st.integers(0, 2**32))
def test_pseudorandom_permutation_is_a_bijection(n, key):
    assert sorted(PseudorandomPermutation(n, key)) == list(range(n))


@pytest.mark.parametrize("n", [250, 256])  # with cycle walking, and without (n = 4**4)
def test_pseudorandom_permutation_leaves_one_index_in_place_on_average(n):
    """As a uniform shuffle: one fixed point on average, variance 1. Over 300 keys the mean's
    standard deviation is 1 / sqrt(300) = 0.06, and 0.3 is five of them."""
    permutations = [PseudorandomPermutation(n, key) for key in range(300)]
    fixed_points = [sum(permutation(i) == i for i in range(n)) for permutation in permutations]
    assert np.mean(fixed_points) == pytest.approx(1, abs=0.3)
    assert list(permutations[1]) != list(permutations[2])


def test_pseudorandom_permutation_rejects_bad_indices():
    with pytest.raises(IndexError, match="range"):
        PseudorandomPermutation(10, 1)(10)
    with pytest.raises(ValueError, match="n must be"):
        PseudorandomPermutation(0, 1)


def _epochs(data, reader, epochs=EPOCHS) -> list[torch.Tensor]:
    """What a training loop sees: set the epoch, then read the whole pass."""
    seen = []
    for epoch in epochs:
        data.set_epoch(epoch)
        seen.append(joined(reader))
    return seen


def _computed(data, epoch: int) -> torch.Tensor:
    """An epoch computed minibatch by minibatch, in this process."""
    return joined(data.batch(epoch, k) for k in range(len(data)))


def test_stream_is_fresh_each_epoch_or_the_same_on_request():
    fresh = stream(seed=0, num_batches=4)
    first, second, again = _epochs(fresh, fresh, epochs=(0, 1, 0))
    assert not torch.equal(first, second) and torch.equal(first, again)
    fixed = stream(seed=3, num_batches=6, fresh_each_epoch=False)
    for seen in _epochs(fixed, loader(fixed, num_workers=2), epochs=(0, 1)):
        assert torch.equal(seen, _computed(fixed, 0))


LOADERS = {
    "no workers": {"num_workers": 0},
    "fresh workers": {"num_workers": 2},
    "persistent workers": {"num_workers": 2, "persistent_workers": True},
    # spawned workers unpickle the stream, whose epoch must stay shared; one worker, because a
    # spawned one imports torch afresh (seconds): the full tier only
    "persistent spawned worker": {
        "num_workers": 1,
        "persistent_workers": True,
        "multiprocessing_context": "spawn",
    },
}


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(options, id=name, marks=[pytest.mark.processes] * ("spawn" in name))
        for name, options in LOADERS.items()
    ],
)
def test_set_epoch_reaches_the_loader_workers(options):
    data = stream(seed=4, batch_size=3, num_batches=5)
    seen = _epochs(data, loader(data, **options))
    for epoch, epoch_seen in zip(EPOCHS, seen, strict=True):
        assert torch.equal(epoch_seen, _computed(data, epoch))
    assert len({epoch_seen.numpy().tobytes() for epoch_seen in seen}) == len(seen)


def test_a_pass_keeps_the_epoch_and_a_minibatch_computed_alone_is_the_same():
    """Bit for bit, in this process (workers: above; another rank: test_sharding.py)."""
    data = stream(seed=8, batch_size=1024, num_batches=6)
    data.set_epoch(4)
    passes = [joined(data) for _ in range(2)]
    assert data.epoch == 4 and torch.equal(*passes)
    assert torch.equal(passes[0], _computed(data, 4))


def test_every_minibatch_has_its_own_32_bit_seed_and_data():
    """Across seeds, epochs (the last allowed too), fresh and fixed streams: torch's CPU
    generator keeps the low 32 bits of a seed, so that larger seeds would repeat."""
    seeds, firsts = [], []
    for seed in (0, 1, 2**32, 2**64 - 1):
        for fresh in (True, False):
            data = stream(batch_size=2, num_batches=6, seed=seed, fresh_each_epoch=fresh)
            for epoch in [*range(6), data.epochs - 1] if fresh else [0]:
                for k in range(6):
                    seeds.append(data.batch_seed(epoch, k))
                    firsts.append(data.batch(epoch, k)[0].numpy().tobytes())
    assert all(0 <= seed < TORCH_SEEDS for seed in seeds)
    assert len(set(seeds)) == len(set(firsts)) == len(seeds) == 4 * (7 * 6 + 6)


def test_hash_key_differs_at_the_word_boundaries():
    values = [0, 1, 2**32 - 1, 2**32, 2**32 + 1, 2**63, 2**64 - 1]
    inputs = {(), (0,), (0, 0), (0, 0, 0)}
    inputs |= {(mode, seed) for mode in (0, 1) for seed in values}
    inputs |= {(a, b, c) for a in values for b in values[:3] for c in values[:3]}
    assert len({hash_key(*words) for words in inputs}) == len(inputs) == 79
    with pytest.raises(ValueError, match="hash_key takes integers in \\[0, 2\\*\\*64\\)"):
        hash_key(2**64)


def test_a_fresh_stream_has_as_many_epochs_as_its_half_of_the_32_bit_seeds_allows():
    data = stream(num_batches=1000)
    assert data.epochs == TORCH_SEEDS // 2 // 1000
    data.set_epoch(data.epochs - 1)
    with pytest.raises(ValueError, match="epoch must be below 2,147,483"):
        data.set_epoch(data.epochs)
    with pytest.raises(ValueError, match="epoch"):
        data.set_epoch(-1)
    with pytest.raises(IndexError, match="range"):
        data.batch(0, 1000)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"seed": 2**64}, "seed"),
        ({"num_batches": 2**31 + 1}, "num_batches must be at most 2\\*\\*31"),
    ],
)
def test_stream_rejects_bad_arguments(options, message):
    with pytest.raises(ValueError, match=message):
        stream(**options)


def _preimage(permutation: PseudorandomPermutation, value: int) -> int:
    """The index that `permutation` maps to `value`, for n = 2**(2 * half_bits): then it is a
    Feistel network alone (no cycle walking), undone round by round."""
    assert permutation.n == 1 << (2 * permutation.half_bits)
    left, right = value >> permutation.half_bits, value & permutation.mask
    for round_key in reversed(permutation.round_keys):
        left, right = right ^ permutation._mix(left, round_key), left
    return (left << permutation.half_bits) | right


@pytest.mark.parametrize("fresh_batches, fixed_batches", [(1, 1), (32, 32), (1000, 7), (7, 1000)])
def test_a_fixed_minibatch_is_no_fresh_minibatch_at_any_allowed_epoch(fresh_batches, fixed_batches):
    """Not only in the first epochs: find the fresh minibatch whose seed a fixed one has, and
    check that the fresh stream may never reach it."""
    for seed in (0, 3):
        fresh = stream(batch_size=2, seed=seed, num_batches=fresh_batches)
        fixed = stream(batch_size=2, seed=seed, num_batches=fixed_batches, fresh_each_epoch=False)
        for k in sorted({0, 1, fixed_batches - 1} & set(range(fixed_batches))):
            position = _preimage(fresh.seeds, fixed.batch_seed(0, k))
            assert fresh.seeds(position) == fixed.batch_seed(0, k)
            epoch, j = divmod(position, fresh_batches)
            if epoch < fresh.epochs:
                shared = torch.equal(fresh.batch(epoch, j)[0], fixed.batch(0, k)[0])
                assert not shared, f"fixed minibatch {k} is fresh minibatch {j} of epoch {epoch}"


def test_rows_are_the_same_however_they_are_indexed():
    rows = RegressionRows(**ROWS, num_examples=1000, block_size=64)
    everything = rows[:]
    assert everything.shape == (1000, 3) and everything.dtype == np.float32
    assert np.array_equal(rows[60:200], everything[60:200])  # across block boundaries
    assert np.array_equal(rows[999], everything[-1]) and np.array_equal(rows[-1], rows[999])
    assert np.array_equal(rows.block(15), everything[960:])  # the last, short block
    assert rows[5:5].shape == (0, 3)
    residual = everything[:, 2] - (everything[:, :2] @ np.array(W, np.float32) + B)
    assert residual.std() == pytest.approx(0.01, rel=0.1)
    clean = RegressionRows(**ROWS | {"noise": 0.0}, num_examples=100)[:]
    np.testing.assert_allclose(clean[:, 2], clean[:, :2] @ W + B, rtol=0, atol=1e-5)


def test_no_two_blocks_repeat():
    """Seeds hashed to 64 bits would give torch the same 32 bits for some pair of blocks."""
    rows = RegressionRows(**ROWS, num_examples=3000 * 2, block_size=2)
    seeds = [rows.seeds(j) for j in range(rows.num_blocks)]
    assert all(seed < TORCH_SEEDS for seed in seeds) and len(set(seeds)) == len(seeds)
    assert len({rows.block(j)[0].tobytes() for j in range(rows.num_blocks)}) == rows.num_blocks


def test_a_trillion_rows_cost_one_block_each():
    huge = RegressionRows(**ROWS, num_examples=10**12)
    i = 987_654_321_098
    assert np.array_equal(huge[i], huge.block(i // 4096)[i % 4096])
    assert np.array_equal(huge[i - 1 : i + 2][1], huge[i])
    assert huge[10**12 - 1].shape == (3,)
    with pytest.raises(IndexError, match="range"):
        huge[10**12]
    with pytest.raises(TypeError, match="step 1"):
        huge[::2]


def _epoch(rows, shards: int, **options) -> list[bytes]:
    """Every minibatch of one epoch, read by `shards` shards one after the other."""
    return [
        torch.cat(batch, 1).numpy().tobytes()
        for shard in range(shards)
        for batch in read_shuffled_blocks(rows, **options, shard=shard, num_shards=shards)
    ]


@pytest.mark.parametrize("n", [1000, 1037])
@pytest.mark.parametrize("shards", [2, 3, 7])
def test_shards_together_read_every_row_once_and_match_one_pass(n, shards):
    """The same code path as the trillion rows above, on a size we can check exhaustively."""
    rows = RegressionRows(**ROWS, num_examples=n, block_size=50)
    options = {"batch_size": 32, "block_size": 50, "blocks_in_buffer": 3, "key": 11}
    sharded = _epoch(rows, shards, **options)
    assert sorted(sharded) == sorted(_epoch(rows, 1, **options))
    read, everything = np.frombuffer(b"".join(sharded), np.float32).reshape(-1, 3), rows[:]
    assert len(read) == n
    assert np.array_equal(
        read[np.lexsort(read.T[::-1])], everything[np.lexsort(everything.T[::-1])]
    )


@pytest.mark.parametrize("source", ["rows", "file"])
def test_block_shuffle_is_read_shuffled_blocks_in_one_shard(tmp_path, source):
    """The solution's short version and the sharded, read-ahead one give the same epoch, a
    shuffle of every row, the same again for the same key; from rows or from the file."""
    rows = RegressionRows(**ROWS, num_examples=1000, block_size=50)
    if source == "file":
        rows = write_regression_file(
            tmp_path / "d.npy", **ROWS, num_examples=1037, chunk=50, progress=False
        )
    short = joined(block_shuffle(rows, 32, 50, 3, key=11))
    full = joined(read_shuffled_blocks(rows, 32, 50, 3, key=11))
    assert torch.equal(short, full)
    assert torch.equal(full, joined(read_shuffled_blocks(rows, 32, 50, 3, key=11)))
    assert torch.equal(short[:, -1].sort().values, labels(rows).sort().values)
    assert not torch.equal(short[:, -1], labels(rows))


def test_block_shuffled_dataset_splits_epochs_over_workers_and_ranks():
    rows = RegressionRows(**ROWS, num_examples=1037, block_size=50)
    epochs = []
    for epoch in (0, 1):
        read = []
        for rank in (0, 1):
            dataset = BlockShuffledDataset(rows, 32, 50, 3, seed=1, rank=rank, world_size=2)
            dataset.set_epoch(epoch)
            read.append(joined(loader(dataset, num_workers=2))[:, -1])
        epochs.append(torch.cat(read))
        assert torch.equal(epochs[-1].sort().values, labels(rows).sort().values)
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


def test_write_in_chunks_writes_every_row_and_a_short_last_chunk(tmp_path):
    rows = write_in_chunks(tmp_path / "d.npy", W, B, 0.01, 1000, chunk=300)
    assert rows.shape == (1000, 3) and rows.dtype == np.float32
    reloaded = np.load(tmp_path / "d.npy")
    assert np.array_equal(reloaded, rows)
    residual = reloaded[:, -1] - (reloaded[:, :2] @ W + B)
    assert residual.std() == pytest.approx(0.01, rel=0.15)
    assert len(np.unique(reloaded[:, 0])) == 1000  # no chunk repeats another


def test_on_the_fly_data_is_new_each_epoch_the_same_when_fixed_and_split_among_workers():
    fresh = OnTheFlyData(W, B, num_batches=5, seed=1)
    seen = {}
    for epoch in (0, 1, 0):
        fresh.epoch = epoch
        seen.setdefault(epoch, []).append(joined(loader(fresh)))
    assert torch.equal(*seen[0]) and not torch.equal(seen[0][0], seen[1][0])
    fresh.epoch = 1
    assert torch.equal(joined(loader(fresh, num_workers=2)), seen[1][0])  # each batch once
    assert torch.equal(torch.cat(fresh.batch(1, 3), 1), seen[1][0][3 * 32 : 4 * 32])
    fixed = OnTheFlyData(W, B, num_batches=5, seed=1, fresh=False)
    fixed.epoch = 7
    assert torch.equal(joined(loader(fixed)), seen[0][0])  # a fixed stream is epoch 0, always
    residual = seen[1][0][:, -1] - (seen[1][0][:, :2] @ torch.tensor(W) + B)
    assert residual.std().item() == pytest.approx(0.01, rel=0.2)


def test_each_solution_opens_with_a_short_answer_in_every_view():
    """At most 400 words and 40 lines of open code per solution and framework; the rest is
    collapsed or in the engineering notes."""
    from tools.book import ROOT
    from tools.lesson_size import page_sizes

    sizes = page_sizes(ROOT / "book" / "exercises.md", sections=True)
    solutions = {where: size for where, size in sizes.items() if where[1].startswith("ex-")}
    assert len(solutions) == 16
    too_long = {
        where: (size.words, size.code_lines)
        for where, size in solutions.items()
        if size.words > 400 or size.code_lines > 40
    }
    assert too_long == {}
