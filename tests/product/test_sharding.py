"""An epoch split across a real process group: 2 gloo ranks x 2 DataLoader workers each.

The ranks are started with torch.multiprocessing (spawn), take their rank from the process
group, and send what their loaders yielded back through files; the checks run here, against
minibatches and rows computed in this process.
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from d2lsave import (
    BlockShuffledDataset,
    RegressionRows,
    SyntheticRegressionStream,
    write_regression_file,
)

# Every test here starts a process group of fresh processes: the full tier only.
pytestmark = pytest.mark.processes

RANKS, WORKERS, EPOCHS = 2, 2, (0, 1)
# Neither divides evenly: 11 minibatches for 4 shards; 2503 rows make 26 blocks (the last of
# 3 rows), 13 buffers of two blocks for 4 shards.
STREAM = {"w": [2.0, -3.4], "b": 4.2, "batch_size": 5, "num_batches": 11, "seed": 3}
FILE = {"w": [2.0, -3.4], "b": 4.2, "noise": 0.01, "num_examples": 2503, "chunk": 100}
READER = {"batch_size": 64, "block_size": 100, "blocks_in_buffer": 2, "seed": 9}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_epochs(dataset, epochs=EPOCHS) -> list[list[torch.Tensor]]:
    """Each epoch's minibatches, [X, y] side by side, as this rank's loader yields them."""
    # A spawned rank would spawn its workers too, each importing d2lsave again (many seconds):
    # fork them, once, and keep them for both epochs, which set_epoch must still reach.
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=None,
        num_workers=WORKERS,
        persistent_workers=True,
        multiprocessing_context="fork",
    )
    seen = []
    for epoch in epochs:
        dataset.set_epoch(epoch)
        seen.append([torch.cat([X, y], 1) for X, y in loader])
    return seen


def _rank_main(rank: int, port: int, folder: str) -> None:
    """One rank: join the group, read both datasets for two epochs, save what it saw."""
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=RANKS
    )
    try:
        stream = SyntheticRegressionStream(**STREAM)  # rank and world size from the group
        rows = BlockShuffledDataset(Path(folder) / "rows.npy", **READER)
        seen = {
            "rank": (stream.rank, stream.world_size, rows.rank, rows.world_size),
            "stream": _read_epochs(stream),
            "rows": _read_epochs(rows),
        }
        counts = [None] * RANKS
        dist.all_gather_object(counts, sum(len(b) for e in seen["rows"] for b in e))
        seen["gathered"] = counts
        torch.save(seen, Path(folder) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> tuple[Path, list[dict]]:
    """Run the two ranks once for every test here; return the folder and what each saw."""
    folder = tmp_path_factory.mktemp("ranks")
    write_regression_file(folder / "rows.npy", **FILE, progress=False)
    mp.spawn(_rank_main, args=(_free_port(), str(folder)), nprocs=RANKS, join=True)
    return folder, [torch.load(folder / f"rank{r}.pt") for r in range(RANKS)]


def test_ranks_take_their_rank_from_the_process_group(ranks):
    _, seen = ranks
    assert [s["rank"] for s in seen] == [(r, RANKS, r, RANKS) for r in range(RANKS)]
    counts = [sum(len(b) for e in s["rows"] for b in e) for s in seen]
    assert seen[0]["gathered"] == seen[1]["gathered"] == counts


def test_each_rank_reads_its_stream_minibatches_and_epochs_differ(ranks):
    """Rank r yields minibatches r, r + 2, ...: the same bytes as computed here, alone, so that
    the ranks together read every minibatch once; no minibatch comes back the next epoch."""
    _, seen = ranks
    here = SyntheticRegressionStream(**STREAM, rank=0, world_size=1)
    epochs = [set(), set()]
    for rank, ranks_view in enumerate(seen):
        for e, (epoch, batches) in enumerate(zip(EPOCHS, ranks_view["stream"], strict=True)):
            expected = [torch.cat(here.batch(epoch, k), 1) for k in range(rank, 11, RANKS)]
            assert len(batches) == len(expected)
            assert all(torch.equal(a, b) for a, b in zip(batches, expected, strict=True))
            epochs[e] |= {batch.numpy().tobytes() for batch in batches}
    assert not epochs[0] & epochs[1]


def test_the_file_shards_together_are_an_unsharded_epoch_of_every_row(ranks):
    """Both ranks have a share; together, the same minibatches as one process reading the
    whole epoch alone, every row of the file once, in another order each epoch."""
    folder, seen = ranks
    rows = np.load(folder / "rows.npy")
    parameters = {k: v for k, v in FILE.items() if k != "chunk"}
    assert np.array_equal(rows, RegressionRows(**parameters, block_size=FILE["chunk"])[:])
    alone = BlockShuffledDataset(folder / "rows.npy", **READER, rank=0, world_size=1)
    orders = []
    for e, epoch in enumerate(EPOCHS):
        assert all(len(s["rows"][e]) for s in seen)
        alone.set_epoch(epoch)
        expected = sorted(torch.cat([X, y], 1).numpy().tobytes() for X, y in alone)
        assert sorted(b.numpy().tobytes() for s in seen for b in s["rows"][e]) == expected
        read = torch.cat([b for s in seen for b in s["rows"][e]]).numpy()
        assert np.array_equal(read[np.lexsort(read.T[::-1])], rows[np.lexsort(rows.T[::-1])])
        orders.append(read[:, -1])
    assert not np.array_equal(orders[0], orders[1])
