"""The exercise solutions in d2lsave: keyed permutations, minibatch streams computed on demand,
rows computed by position, shuffled and sharded reads (across a real process group too)."""

import re
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from hypothesis import given, settings
from hypothesis import strategies as st

import d2lsave
from d2lsave import TORCH_SEEDS as SEEDS
from d2lsave import PseudorandomPermutation as Permutation
from d2lsave import distributed_rank, hash_key, read_shuffled_blocks
from tests.product.conftest import B, W, by_rows, joined, loader

ROWS = {"w": W, "b": B, "noise": 0.01, "seed": 4}
EPOCHS = (2, 0, 7, 0)  # out of order, as when a run resumes: a stream counting passes fails


def stream(**options) -> d2lsave.SyntheticRegressionStream:
    return d2lsave.SyntheticRegressionStream(W, B, **options)


def rows(n: int, **options) -> d2lsave.RegressionRows:
    return d2lsave.RegressionRows(**ROWS | options, num_examples=n)


def labels(table) -> torch.Tensor:
    return torch.from_numpy(np.array(table[:][:, -1]))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: Permutation(10, 1)(10), IndexError, "range"),
        (lambda: Permutation(0, 1), ValueError, "n must be"),
        (lambda: hash_key(2**64), ValueError, "hash_key takes integers in [0, 2**64)"),
        (lambda: stream(batch_size=0), ValueError, "batch_size"),
        (lambda: stream(seed=2**64), ValueError, "seed"),
        (lambda: stream(num_batches=2**31 + 1), ValueError, "num_batches must be at most 2**31"),
        (lambda: stream(num_batches=1000).set_epoch(-1), ValueError, "epoch"),
        (lambda: stream(num_batches=1000).batch(0, 1000), IndexError, "range"),
        (lambda: rows(10**12)[10**12], IndexError, "range"),
        (lambda: rows(10**12)[::2], TypeError, "step 1"),
        (lambda: distributed_rank(2, 2), ValueError, "rank must be in range(world_size=2), got 2"),
        (lambda: distributed_rank(0, None), ValueError, "give both rank and world_size"),
        (
            lambda: next(read_shuffled_blocks(np.zeros((10, 2)), 2, 2, 1, 0, 3, 3)),
            ValueError,
            "shard must be in range(3), got 3",
        ),
    ],
)
def test_bad_input_is_named(call, error, message):
    pytest.raises(error, call).match(re.escape(message))


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 3000), key=st.integers(0, 2**32))
def test_pseudorandom_permutation_is_a_bijection(n, key):
    assert sorted(Permutation(n, key)) == list(range(n))


@pytest.mark.parametrize("n", [250, 256])  # with cycle walking, and without (n = 4**4)
def test_pseudorandom_permutation_leaves_one_index_in_place_on_average(n):
    """As a uniform shuffle: the mean over 300 keys has deviation 0.06; 0.3 is five of them."""
    permutations = [Permutation(n, key) for key in range(300)]
    fixed_points = [sum(permutation(i) == i for i in range(n)) for permutation in permutations]
    assert np.mean(fixed_points) == pytest.approx(1, abs=0.3)
    assert list(permutations[1]) != list(permutations[2])


def _computed(data, epoch: int) -> torch.Tensor:
    return joined(data.batch(epoch, k) for k in range(len(data)))


@pytest.mark.parametrize(
    ("fresh", "options"),
    [
        (True, {"num_workers": 0}),
        (True, {"num_workers": 2}),
        (True, {"num_workers": 2, "persistent_workers": True}),
        # spawned workers unpickle the stream, whose epoch must stay shared
        pytest.param(
            True,
            {"num_workers": 1, "persistent_workers": True, "multiprocessing_context": "spawn"},
            marks=pytest.mark.processes,
        ),
        (False, {"num_workers": 2}),
    ],
    ids=["no workers", "fresh workers", "persistent workers", "persistent spawned worker", "fixed"],
)
def test_set_epoch_reaches_the_loader_workers_and_a_fixed_stream_ignores_it(fresh, options):
    data = stream(seed=4, batch_size=3, num_batches=5, fresh_each_epoch=fresh)
    reader, seen = loader(data, **options), set()
    for epoch in EPOCHS:  # what a training loop sees: set the epoch, then read the whole pass
        data.set_epoch(epoch)
        read = joined(reader)
        assert torch.equal(read, _computed(data, epoch if fresh else 0))
        seen.add(read.numpy().tobytes())
    assert len(seen) == (len(set(EPOCHS)) if fresh else 1)


def test_a_pass_keeps_its_epoch_and_epochs_are_bounded():
    data = stream(seed=8, batch_size=1024, num_batches=6)
    data.set_epoch(4)
    passes = [joined(data) for _ in range(2)]
    assert data.epoch == 4 and torch.equal(*passes) and torch.equal(passes[0], _computed(data, 4))
    data = stream(num_batches=1000)  # epochs: its half of the 32-bit seeds
    assert data.epochs == SEEDS // 2 // 1000
    data.set_epoch(data.epochs - 1)
    pytest.raises(ValueError, data.set_epoch, data.epochs).match("epoch must be below 2,147,483")


def test_every_minibatch_and_key_has_its_own_32_bit_seed():
    """Torch's CPU generator keeps a seed's low 32 bits: larger seeds would repeat."""
    seeds, firsts = [], []
    for seed in (0, 1, 2**32, 2**64 - 1):
        for fresh in (True, False):
            data = stream(batch_size=2, num_batches=6, seed=seed, fresh_each_epoch=fresh)
            for epoch in [*range(6), data.epochs - 1] if fresh else [0]:
                for k in range(6):
                    seeds.append(data.batch_seed(epoch, k))
                    firsts.append(data.batch(epoch, k)[0].numpy().tobytes())
    assert all(0 <= seed < SEEDS for seed in seeds)
    assert len(set(seeds)) == len(set(firsts)) == len(seeds) == 4 * (7 * 6 + 6)
    values = [0, 1, 2**32 - 1, 2**32, 2**32 + 1, 2**63, 2**64 - 1]  # hash_key's word boundaries
    inputs = {(), (0,), (0, 0), (0, 0, 0)}
    inputs |= {(mode, seed) for mode in (0, 1) for seed in values}
    inputs |= {(a, b, c) for a in values for b in values[:3] for c in values[:3]}
    assert len({hash_key(*words) for words in inputs}) == len(inputs) == 79


def _preimage(permutation: Permutation, value: int) -> int:
    """The index `permutation` maps to `value`, where n = 2**(2 * half_bits) (no cycle walk)."""
    assert permutation.n == 1 << (2 * permutation.half_bits)
    left, right = value >> permutation.half_bits, value & permutation.mask
    for round_key in reversed(permutation.round_keys):
        left, right = right ^ permutation._mix(left, round_key), left
    return (left << permutation.half_bits) | right


@pytest.mark.parametrize("fresh_batches, fixed_batches", [(1, 1), (32, 32), (1000, 7), (7, 1000)])
def test_a_fixed_minibatch_is_no_fresh_minibatch_at_any_allowed_epoch(fresh_batches, fixed_batches):
    """Find the fresh minibatch with a fixed one's seed: the fresh stream never reaches it."""
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


def test_rows_are_the_same_however_they_are_indexed_and_no_two_blocks_repeat():
    table = rows(1000, block_size=64)
    everything = table[:]
    assert everything.shape == (1000, 3) and everything.dtype == np.float32
    assert np.array_equal(table[60:200], everything[60:200])  # across block boundaries
    assert np.array_equal(table[999], everything[-1]) and np.array_equal(table[-1], table[999])
    assert np.array_equal(table.block(15), everything[960:])  # the last, short block
    assert table[5:5].shape == (0, 3)
    residual = everything[:, 2] - (everything[:, :2] @ np.array(W, np.float32) + B)
    assert residual.std() == pytest.approx(0.01, rel=0.1)
    clean = rows(100, noise=0.0)[:]
    np.testing.assert_allclose(clean[:, 2], clean[:, :2] @ W + B, rtol=0, atol=1e-5)
    huge, i = rows(10**12), 987_654_321_098  # a trillion rows cost one block each
    assert np.array_equal(huge[i], huge.block(i // 4096)[i % 4096])
    assert np.array_equal(huge[i - 1 : i + 2][1], huge[i]) and huge[10**12 - 1].shape == (3,)
    # seeds hashed to 64 bits would give torch the same 32 bits for some pair of blocks
    table = rows(3000 * 2, block_size=2)
    seeds = [table.seeds(j) for j in range(table.num_blocks)]
    assert all(seed < SEEDS for seed in seeds) and len(set(seeds)) == len(seeds)
    assert len({table.block(j)[0].tobytes() for j in range(table.num_blocks)}) == table.num_blocks


@pytest.mark.parametrize("n", [1000, 1037])
@pytest.mark.parametrize("shards", [2, 3, 7])
def test_shards_together_read_every_row_once_and_match_one_pass(n, shards):
    table = rows(n, block_size=50)

    def epoch(shards: int) -> list[bytes]:
        return [
            torch.cat(batch, 1).numpy().tobytes()
            for shard in range(shards)
            for batch in read_shuffled_blocks(table, 32, 50, 3, 11, shard, shards)
        ]

    sharded = epoch(shards)
    assert sorted(sharded) == sorted(epoch(1))
    read = np.frombuffer(b"".join(sharded), np.float32).reshape(-1, 3)
    assert len(read) == n and np.array_equal(by_rows(read), by_rows(table[:]))


@pytest.mark.parametrize("source", ["rows", "file"])
def test_block_shuffle_is_read_shuffled_blocks_in_one_shard(written, source):
    """The same epoch from both, a shuffle of every row, the same again for the same key."""
    table = d2lsave.open_regression_file(written) if source == "file" else rows(1000, block_size=50)
    short = joined(d2lsave.block_shuffle(table, 32, 50, 3, key=11))
    full = joined(read_shuffled_blocks(table, 32, 50, 3, key=11))
    assert torch.equal(short, full)
    assert torch.equal(full, joined(read_shuffled_blocks(table, 32, 50, 3, key=11)))
    assert torch.equal(short[:, -1].sort().values, labels(table).sort().values)
    assert not torch.equal(short[:, -1], labels(table))


def test_block_shuffled_dataset_splits_epochs_over_workers_and_ranks():
    table, epochs = rows(1037, block_size=50), []
    for epoch in (0, 1):
        read = []
        for rank in (0, 1):
            dataset = d2lsave.BlockShuffledDataset(table, 32, 50, 3, 1, rank=rank, world_size=2)
            dataset.set_epoch(epoch)
            read.append(joined(loader(dataset, num_workers=2))[:, -1])
        epochs.append(torch.cat(read))
        assert torch.equal(epochs[-1].sort().values, labels(table).sort().values)
    assert not torch.equal(*epochs)
    assert distributed_rank(None, None) == (0, 1) and distributed_rank(1, 3) == (1, 3)
    assert [d2lsave.shard_index(r, 2, w) for r in (0, 1) for w in (0, 1)] == [0, 2, 1, 3]


def test_write_in_chunks_writes_every_row_and_a_short_last_chunk(tmp_path):
    table = d2lsave.write_in_chunks(tmp_path / "d.npy", W, B, 0.01, 1000, chunk=300)
    assert table.shape == (1000, 3) and table.dtype == np.float32
    reloaded = np.load(tmp_path / "d.npy")
    assert np.array_equal(reloaded, table)
    residual = reloaded[:, -1] - (reloaded[:, :2] @ W + B)
    assert residual.std() == pytest.approx(0.01, rel=0.15)
    assert len(np.unique(reloaded[:, 0])) == 1000  # no chunk repeats another


def test_on_the_fly_data_is_new_each_epoch_the_same_when_fixed_and_split_among_workers():
    fresh, seen = d2lsave.OnTheFlyData(W, B, num_batches=5, seed=1), {}
    for epoch in (0, 1, 0):
        fresh.epoch = epoch
        seen.setdefault(epoch, []).append(joined(loader(fresh)))
    assert torch.equal(*seen[0]) and not torch.equal(seen[0][0], seen[1][0])
    fresh.epoch = 1
    assert torch.equal(joined(loader(fresh, num_workers=2)), seen[1][0])  # each batch once
    assert torch.equal(torch.cat(fresh.batch(1, 3), 1), seen[1][0][3 * 32 : 4 * 32])
    fixed = d2lsave.OnTheFlyData(W, B, num_batches=5, seed=1, fresh=False)
    fixed.epoch = 7
    assert torch.equal(joined(loader(fixed)), seen[0][0])  # a fixed stream is epoch 0, always
    residual = seen[1][0][:, -1] - (seen[1][0][:, :2] @ torch.tensor(W) + B)
    assert residual.std().item() == pytest.approx(0.01, rel=0.2)


def test_each_solution_opens_with_a_short_answer_in_every_view():
    """At most 400 words and 40 lines of open code per solution and framework."""
    from tools.book import ROOT
    from tools.lesson_size import page_sizes

    sizes = page_sizes(ROOT / "book" / "exercises.md", sections=True)
    solutions = {where: size for where, size in sizes.items() if where[1].startswith("ex-")}
    assert len(solutions) == 16
    too_long = {w: (s.words, s.code_lines) for w, s in solutions.items() if s.words > 400}
    too_long |= {w: (s.words, s.code_lines) for w, s in solutions.items() if s.code_lines > 40}
    assert too_long == {}


# An epoch across a real process group: 2 gloo ranks, spawned, with 2 loader workers each.
# Neither divides evenly: 11 minibatches for 4 shards; FILE's 20 blocks (the last of 50 rows)
# make 10 buffers of two blocks for 4 shards.
RANKS = 2
STREAM = {"batch_size": 5, "num_batches": 11, "seed": 3}
READER = {"batch_size": 64, "block_size": 100, "blocks_in_buffer": 2, "seed": 9}


def _rank_main(rank: int, port: int, path: str, folder: str) -> None:
    """One rank: join the group, read both datasets for two epochs, save what it saw."""
    url = f"tcp://127.0.0.1:{port}"
    dist.init_process_group("gloo", init_method=url, rank=rank, world_size=RANKS)
    try:
        # rank and world size from the group
        datasets = dict(stream=stream(**STREAM), rows=d2lsave.BlockShuffledDataset(path, **READER))
        seen = {"rank": [(data.rank, data.world_size) for data in datasets.values()]}
        for name, data in datasets.items():
            # forked workers (spawned ones import d2lsave again, for seconds), kept for both
            # epochs, which set_epoch must still reach
            reader = loader(
                data, num_workers=2, persistent_workers=True, multiprocessing_context="fork"
            )
            seen[name] = []
            for epoch in (0, 1):
                data.set_epoch(epoch)
                seen[name].append([torch.cat(batch, 1) for batch in reader])
        seen["gathered"] = [None] * RANKS
        dist.all_gather_object(seen["gathered"], sum(len(b) for e in seen["rows"] for b in e))
        torch.save(seen, Path(folder) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.processes
def test_ranks_of_a_process_group_read_their_shares_of_an_epoch(tmp_path, written):
    """Each rank takes its rank from the group; together the ranks read every stream minibatch
    and every row of the file once, as one process reading alone would, in another order each
    epoch."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    mp.spawn(_rank_main, args=(port, str(written), str(tmp_path)), nprocs=RANKS, join=True)
    seen = [torch.load(tmp_path / f"rank{r}.pt") for r in range(RANKS)]
    assert [s["rank"] for s in seen] == [[(r, RANKS)] * 2 for r in range(RANKS)]
    counts = [sum(len(b) for e in s["rows"] for b in e) for s in seen]
    assert seen[0]["gathered"] == seen[1]["gathered"] == counts
    here, read_by_epoch = stream(**STREAM, rank=0, world_size=1), [set(), set()]
    for rank, view in enumerate(seen):  # rank r: minibatches r, r + 2, ... as computed here
        for epoch, batches in enumerate(view["stream"]):
            expected = [torch.cat(here.batch(epoch, k), 1) for k in range(rank, 11, RANKS)]
            assert len(batches) == len(expected)
            assert all(torch.equal(a, b) for a, b in zip(batches, expected, strict=True))
            read_by_epoch[epoch] |= {batch.numpy().tobytes() for batch in batches}
    assert not read_by_epoch[0] & read_by_epoch[1]
    alone = d2lsave.BlockShuffledDataset(written, **READER, rank=0, world_size=1)
    orders = []
    for epoch in (0, 1):
        assert all(len(s["rows"][epoch]) for s in seen)
        alone.set_epoch(epoch)
        expected = sorted(torch.cat(batch, 1).numpy().tobytes() for batch in alone)
        assert sorted(b.numpy().tobytes() for s in seen for b in s["rows"][epoch]) == expected
        read = torch.cat([b for s in seen for b in s["rows"][epoch]]).numpy()
        assert np.array_equal(by_rows(read), by_rows(np.load(written)))
        orders.append(read[:, -1])
    assert not np.array_equal(orders[0], orders[1])
