"""Every graded task's checks, run on answers a class would hand in: plausible mistakes lose the
task's points with a message that names the mistake, and right answers written unlike the model
answer get them all.

A check cell runs as nbgrader runs it: after the given cells and the answers above it, in one
namespace, with its hidden tests; here in this process, without the setup cell, so each answer
takes a fraction of a second. `test_assignment.py` grades whole notebooks with the real grader.
"""

from __future__ import annotations

import re
import textwrap
from functools import cache

import jupytext
import pytest
import torch

from tools import assignment

SOLUTION = re.compile(r"^( *)### BEGIN SOLUTION\n.*?^ *### END SOLUTION\n?", re.S | re.M)


def grading(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@cache
def code_cells(notebook: str) -> tuple:
    md = assignment.SOURCES / f"{notebook}.md"
    return tuple(cell for cell in jupytext.read(md).cells if cell.cell_type == "code")


@cache
def answer_cells() -> dict:
    """Each task's notebook and answer cell, the cell just above its check cell."""
    found = {}
    for md in assignment.sources():
        cells = code_cells(md.stem)
        for before, cell in zip(cells, cells[1:], strict=False):
            if grading(cell).get("grade"):
                found[grading(cell)["grade_id"]] = (md.stem, before)
    return found


def answer(task: str, *regions: str, above: str = "") -> str:
    """The answer cell of `task` with its solution regions replaced, in order, by `regions`
    (each indented as its region) and `above` written at its top; the model answer when no
    region is given."""
    source, parts = answer_cells()[task][1].source, iter(regions)
    assert len(regions) in (0, len(SOLUTION.findall(source))), f"{task}: a region each, or none"

    def replace(match: re.Match) -> str:
        return textwrap.indent(textwrap.dedent(next(parts)).strip("\n") + "\n", match.group(1))

    body = (
        SOLUTION.sub(replace, source)
        if regions
        else re.sub(r"^ *### (BEGIN|END) SOLUTION\n?", "", source, flags=re.M)
    )
    return (above + "\n" if above else "") + body


def run(task: str, answer_source: str | None = None) -> dict | str | None:
    """Run `task`'s notebook as nbgrader does, the model answers above `task`'s: with
    `answer_source`, up to its check cell, and what the check says (None when it passes, else
    the error's type and first line, as the score sheet shows them); without, up to its answer
    cell, and the namespace."""
    notebook, here = answer_cells()[task]
    task_of = {grading(cell)["grade_id"]: name for name, (_, cell) in answer_cells().items()}
    namespace: dict = {"__name__": "__main__"}
    for cell in code_cells(notebook):
        meta = grading(cell)
        if meta.get("grade_id") == "setup" or meta.get("grade") and meta["grade_id"] != task:
            continue
        if meta.get("grade"):
            try:
                exec(compile(cell.source, f"<{task}>", "exec"), namespace)
            except Exception as err:
                return ": ".join([type(err).__name__, *str(err).strip().splitlines()[:1]])
            return None
        source = answer(task_of[meta["grade_id"]]) if meta.get("solution") else cell.source
        exec(
            compile(answer_source if cell is here and answer_source else source, "<cell>", "exec"),
            namespace,
        )
        if cell is here and answer_source is None:
            return namespace
    raise KeyError(task)


# --- the answers ------------------------------------------------------------------------------

# Each task's right answers, written unlike the model answer, and wrong ones, each with a part
# of the message that must name the mistake. An answer is the code of each solution region of
# its answer cell, in order.
RIGHT: dict[str, dict[str, tuple[tuple[str, ...], str]]] = {}
WRONG: dict[str, dict[str, tuple[str, tuple[str, ...], str]]] = {}


def code(*pieces: str) -> str:
    """Pieces of code, each dedented, one after another."""
    return "\n".join(textwrap.dedent(piece).strip("\n") for piece in pieces)


def right(task: str, name: str, *regions: str, above: str = "") -> None:
    RIGHT.setdefault(task, {})[name] = (tuple(map(code, regions)), above)


def wrong(task: str, name: str, mistake: str, *regions: str, above: str = "") -> None:
    WRONG.setdefault(task, {})[name] = (mistake, tuple(map(code, regions)), above)


# fmt: off
# Task 1 -------------------------------------------------------------------------------------
right("remainder-sizes", "a loop over the starts", """
    sizes = []
    for start in range(0, num_examples, batch_size):
        size = min(batch_size, num_examples - start)
        if size == batch_size or not drop_last:
            sizes.append(size)
    return sizes
""")
right("remainder-sizes", "a DataLoader over range", """
    loader = torch.utils.data.DataLoader(range(num_examples), batch_size, drop_last=drop_last)
    return [len(batch) for batch in loader]
""")
wrong("remainder-sizes", "only the full minibatches", "off by one",
      "return [batch_size] * (num_examples // batch_size)")
wrong("remainder-sizes", "a full last minibatch", "the last minibatch holds", """
    import math

    return [batch_size] * math.ceil(num_examples / batch_size)
""")
wrong("remainder-sizes", "drop_last ignored", "with drop_last=True the incomplete last", """
    full, left_over = divmod(num_examples, batch_size)
    return [batch_size] * full + ([left_over] if left_over else [])
""")

# Task 2 -------------------------------------------------------------------------------------
right("remainder-loaders", "index tensors", """
    n, everything = data.num_train, (data.X, data.y)
    train = data.get_tensorloader(everything, True, torch.arange(n), drop_last=True)
    val = data.get_tensorloader(everything, False, torch.arange(n, len(data.X)))
    return train, val
""")
right("remainder-loaders", "DataLoaders of its own", """
    from torch.utils.data import DataLoader, TensorDataset

    n = data.num_train
    train = DataLoader(TensorDataset(data.X[:n], data.y[:n]), data.batch_size,
                       shuffle=True, drop_last=True)
    val = DataLoader(TensorDataset(data.X[n:], data.y[n:]), data.batch_size)
    return train, val
""")
LOADERS = """
    tensors, n = (data.X, data.y), data.num_train
    train = data.get_tensorloader(tensors, {train})
    val = data.get_tensorloader(tensors, False, slice(n, None){val})
    return train, val
"""
wrong("remainder-loaders", "a training loader that never shuffles",
      "the training loader returns the same order every epoch: shuffle it",
      LOADERS.format(train="False, slice(0, n), drop_last=True", val=""))
wrong("remainder-loaders", "a validation loader that drops the last minibatch",
      "never drop the last minibatch for validation",
      LOADERS.format(train="True, slice(0, n), drop_last=True", val=", drop_last=True"))
wrong("remainder-loaders", "a training loader that keeps the incomplete minibatch",
      "drop_last=True", LOADERS.format(train="True, slice(0, n)", val=""))
wrong("remainder-loaders", "a training loader over every row", "the validation rows too",
      LOADERS.format(train="True, drop_last=True", val=""))

# Task 3 -------------------------------------------------------------------------------------
BYTES = "return num_examples * (num_features + 1) * np.dtype(np.float32).itemsize"
MEMMAP = """
    w = torch.as_tensor(w, dtype=torch.float32)
    rows = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                     shape=(num_examples, len(w) + 1))
"""
right("on-disk", "randn imported from torch, one draw a chunk", BYTES, """
    w = torch.tensor(w, dtype=torch.float32)
    stream = Generator().manual_seed(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                    shape=(num_examples, len(w) + 1))
    done = 0
    while done < num_examples:
        size = min(chunk, num_examples - done)
        draws = randn(size, len(w) + 1, generator=stream)
        X = draws[:, :-1]
        labels = X @ w + b + noise * draws[:, -1]
        out[done : done + size] = torch.cat([X, labels[:, None]], dim=1).numpy()
        done += size
    return out
""", above="from torch import Generator, randn\n")
right("on-disk", "torch.normal for the noise",
      "return 4 * num_examples * num_features + 4 * num_examples", code("""
    generator = torch.Generator()
    generator.manual_seed(seed)
""", MEMMAP, """
    for start in range(0, num_examples, chunk):
        stop = min(start + chunk, num_examples)
        X = torch.randn(stop - start, len(w), generator=generator)
        eps = torch.normal(0.0, noise, (stop - start,), generator=generator)
        rows[start:stop] = np.column_stack([X.numpy(), (X @ w + b + eps).numpy()])
    return rows
"""))
CHUNKED = code("generator = torch.Generator().manual_seed(seed)", MEMMAP, """
    for start in range(0, num_examples, chunk):
        size = min(chunk, num_examples - start)
        X = torch.randn(size, len(w), generator=generator)
        rows[start : start + size, :-1] = X.numpy()
        rows[start : start + size, -1] = (X @ w + b + NOISE).numpy()
    return rows
""")
NOISE = "noise * torch.randn(size, generator=generator)"
WITH_NOISE = CHUNKED.replace("NOISE", NOISE)
wrong("on-disk", "no noise", "the labels hold no noise", BYTES, CHUNKED.replace(" + NOISE", ""))
wrong("on-disk", "PyTorch's global seed", "global random state", BYTES,
      WITH_NOISE.replace(", generator=generator", "")
      .replace("generator = torch.Generator().manual_seed(seed)", "torch.manual_seed(seed)"))
wrong("on-disk", "everything drawn at once", "at most `chunk` rows at a time", BYTES,
      code(MEMMAP, """
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(num_examples, len(w), generator=generator)
    y = X @ w + b + noise * torch.randn(num_examples, generator=generator)
    for start in range(0, num_examples, chunk):
        rows[start : start + chunk, :-1] = X[start : start + chunk].numpy()
        rows[start : start + chunk, -1] = y[start : start + chunk].numpy()
    return rows
"""))
wrong("on-disk", "a generator seeded again for every chunk", "seed the generator once", BYTES,
      WITH_NOISE.replace("generator = torch.Generator().manual_seed(seed)\n", "")
      .replace("    size", "    generator = torch.Generator().manual_seed(seed)\n    size", 1))
wrong("on-disk", "the seed ignored", "seeds 3 and 4 wrote the same file", BYTES,
      WITH_NOISE.replace(".manual_seed(seed)", ""))
wrong("on-disk", "the last, incomplete chunk left out", "were not written", BYTES,
      WITH_NOISE.replace("range(0, num_examples, chunk)",
                         "range(0, num_examples - chunk + 1, chunk)"))

# Task 4 -------------------------------------------------------------------------------------
right("disk-shuffle", "a Feistel network on integer mixing", """
    bits = max(2, (n - 1).bit_length())
    bits += bits % 2
    half, mask = bits // 2, (1 << (bits // 2)) - 1

    def mix(value: int, round_number: int) -> int:
        value = (value * 0x9E3779B97F4A7C15 + key * 0xBF58476D1CE4E5B9 + round_number)
        value &= 2**64 - 1
        value ^= value >> 31
        value = (value * 0x94D049BB133111EB) & (2**64 - 1)
        return (value ^ (value >> 29)) & mask

    value = i
    while True:
        left, right = value >> half, value & mask
        for round_number in range(4):
            left, right = right, left ^ mix(right, round_number)
        value = (left << half) | right
        if value < n:
            return value
""")
right("disk-shuffle", "a keyed hash in a Feistel network, walked recursively", """
    import hashlib

    half = max(1, -(-max(1, (n - 1).bit_length()) // 2))

    def network(value: int) -> int:
        left, right = divmod(value, 1 << half)
        for round_number in range(6):
            digest = hashlib.sha256(f"{key}:{round_number}:{right}".encode()).digest()
            left, right = right, left ^ (int.from_bytes(digest[:8], "big") % (1 << half))
        return left * (1 << half) + right

    def walk(value: int) -> int:
        value = network(value)
        return value if value < n else walk(value)

    return walk(i)
""")
wrong("disk-shuffle", "a shifted order", "too regular", "return (i + key) % n")
wrong("disk-shuffle", "a table of n entries", "without a table of n entries",
      "return int(torch.randperm(n, generator=torch.Generator().manual_seed(key))[i])")
wrong("disk-shuffle", "a multiplier that shares a factor with n", "does not permute",
      "return (i * 7 + key) % n")
wrong("disk-shuffle", "no cycle walking", "not a permutation", """
    half = max(1, ((n - 1).bit_length() + 1) // 2)
    mask = (1 << half) - 1
    left, right = i >> half, i & mask
    for round_number in range(4):
        left, right = right, left ^ (hash((key, round_number, right)) & mask)
    return (left << half) | right
""")

# Task 5 -------------------------------------------------------------------------------------
FRESH_INIT = """
    self.w = torch.as_tensor(w, dtype=torch.float32).reshape(-1, 1)
    self.b, self.noise = b, noise
    self.batch_size, self.num_batches = batch_size, num_batches
    self.generator = torch.Generator().manual_seed(seed)
"""
LOOP = """
    for _ in {batches}:
        X = torch.randn(self.batch_size, len(self.w), generator=self.generator)
        e = torch.randn(self.batch_size, 1, generator=self.generator)
        yield X, X @ self.w + self.b + self.noise * e
"""
EVERY = LOOP.format(batches="range(self.num_batches)")
right("on-the-fly", "every worker draws every minibatch and keeps its share", FRESH_INIT, """
    worker = torch.utils.data.get_worker_info()
    mine, every = (0, 1) if worker is None else (worker.id, worker.num_workers)
    for k in range(self.num_batches):
        X = torch.randn(self.batch_size, len(self.w), generator=self.generator)
        e = torch.randn(self.batch_size, 1, generator=self.generator)
        if k % every == mine:
            yield X, X @ self.w + self.b + self.noise * e
""")
right("on-the-fly", "a generator per minibatch, seeded from the dataset's",
      FRESH_INIT.replace("self.generator = torch.Generator().manual_seed(seed)",
                         "self.seeds = torch.Generator()\n    self.seeds.manual_seed(seed)"), """
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    seeds = torch.randint(0, 2**31, (self.num_batches,), generator=self.seeds).tolist()
    shard = range(self.num_batches)
    if info is not None:
        shard = shard[info.id :: info.num_workers]
    for k in shard:
        g = torch.Generator().manual_seed(seeds[k])
        draws = torch.randn(self.batch_size, len(self.w) + 1, generator=g)
        X = draws[:, :-1]
        yield X, X @ self.w + self.b + self.noise * draws[:, -1:]
""")
wrong("on-the-fly", "every worker yields every minibatch",
      "2 workers a pass yields 20 minibatches, only 10 of them distinct", FRESH_INIT,
      EVERY)
wrong("on-the-fly", "the workers share the minibatches but draw the same numbers",
      "only 5 of them distinct", FRESH_INIT, code("""
    worker = torch.utils.data.get_worker_info()
    first, step = (0, 1) if worker is None else (worker.id, worker.num_workers)
""", LOOP.format(batches="range(first, self.num_batches, step)")))
wrong("on-the-fly", "a generator seeded again on every pass", "two passes gave the same data",
      FRESH_INIT.replace("self.generator = torch.Generator().manual_seed(seed)",
                         "self.seed = seed"),
      code("self.generator = torch.Generator().manual_seed(self.seed)", EVERY))
wrong("on-the-fly", "PyTorch's global seed", "global random state",
      FRESH_INIT.replace("self.generator = torch.Generator().manual_seed(seed)",
                         "torch.manual_seed(seed)\n    self.generator = None"),
      EVERY)
wrong("on-the-fly", "no noise", "the noise should have standard deviation", FRESH_INIT, """
    for _ in range(self.num_batches):
        X = torch.randn(self.batch_size, len(self.w), generator=self.generator)
        yield X, X @ self.w + self.b
""")

# Task 6 -------------------------------------------------------------------------------------
DRAW_K = """
    X = torch.randn(self.batch_size, len(self.w), generator=generator)
    e = torch.randn(self.batch_size, 1, generator=generator)
    return X, X @ self.w + self.b + self.noise * e
"""
right("same-data", "a hash of seed and k", code("""
    import hashlib

    digest = hashlib.sha256(f"{self.seed}/{k}".encode()).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:4], "little"))
""", DRAW_K))
right("same-data", "numpy's generator picks torch's seed", code("""
    seed = int(np.random.default_rng([self.seed, k]).integers(2**32))
    generator = torch.Generator()
    generator.manual_seed(seed)
""", DRAW_K))
wrong("same-data", "seed + k", "seed + k",
      code("generator = torch.Generator().manual_seed(self.seed + k)", DRAW_K))
wrong("same-data", "the seed in the high 32 bits", "low 32 bits",
      code("generator = torch.Generator().manual_seed(self.seed << 32 | k)", DRAW_K))
wrong("same-data", "the global random stream", "not reproducible",
      code("generator = None  # the global random stream", DRAW_K))
wrong("same-data", "k ignored", "minibatches 0..3 must differ",
      code("generator = torch.Generator().manual_seed(self.seed)", DRAW_K))

# Explorer, task 1 ---------------------------------------------------------------------------
right("noise", "computed from the estimate, one slider at a time", """
    explorer.set(noise=1.0)
    explorer.set(n=100)
    w1_error = explorer.fit()["w1_hat"] - explorer.values["w1"]
    noise_factor = 10.0
""")
right("noise", "read off the readout at both noise levels", """
    explorer.set(n=100, noise=0.1)
    low = explorer.fit()["w1_error"]
    explorer.set(noise=1)
    w1_error = float(f"{explorer.fit()['w1_error']:.4f}")
    noise_factor = round(w1_error / low)
""")
NOISE_ANSWER = """
    explorer.set(n=100, noise={noise})
    w1_error = {error}
    noise_factor = {factor}
"""
wrong("noise", "the estimate instead of its error", "the estimate w1_hat itself",
      NOISE_ANSWER.format(noise=1.0, error='explorer.fit()["w1_hat"]', factor=10))
wrong("noise", "the error's sign flipped", "wrong sign",
      NOISE_ANSWER.format(noise=1.0, error='-explorer.fit()["w1_error"]', factor=10))
wrong("noise", "the variance's factor", "the errors grow as much as the noise",
      NOISE_ANSWER.format(noise=1.0, error='explorer.fit()["w1_error"]', factor=100))
wrong("noise", "the noise left at 0.1", "leave the noise at 1",
      NOISE_ANSWER.format(noise=0.1, error='explorer.fit()["w1_error"]', factor=10))

# Explorer, task 2 ---------------------------------------------------------------------------
right("small-n", "the noise kept from the task before", """
    explorer.set(n=10)
    errors = [v for name, v in explorer.fit().items() if name.endswith("_error")]
    largest_error = max(map(abs, errors))
    fewest_examples = 3
""")
right("small-n", "numpy on the readout", """
    import numpy as np

    explorer.set(noise=1, n=10)
    fit = explorer.fit()
    largest_error = float(np.max(np.abs([fit["w1_error"], fit["w2_error"], fit["b_error"]])))
    fewest_examples = len(["w1", "w2", "b"])
""")
SMALL_N = """
    {setting}
    fit = explorer.fit()
    largest_error = max(abs(fit[name]) for name in {names})
    fewest_examples = {fewest}
"""
ERRORS = ("w1_error", "w2_error", "b_error")
wrong("small-n", "two examples", "three unknowns",
      SMALL_N.format(setting="explorer.set(noise=1.0, n=10)", names=ERRORS, fewest=2))
wrong("small-n", "the largest estimate, not error", "an estimate, not an error",
      SMALL_N.format(setting="explorer.set(noise=1.0, n=10)",
                     names=("w1_hat", "w2_hat", "b_hat"), fewest=3))
wrong("small-n", "n left at 100", "set n to 10",
      SMALL_N.format(setting="explorer.set(noise=1.0)", names=ERRORS, fewest=3))

# Explorer, task 3 ---------------------------------------------------------------------------
right("batches", "computed by ceiling division", """
    explorer.set(n=1000)
    explorer.set(batch_size=33)
    num_minibatches = -(-1000 // 33)
    last_minibatch = 1000 - (num_minibatches - 1) * 33
""")
right("batches", "counted from the explorer's data", """
    import math

    explorer.set(batch_size=33, n=1000)
    n, size = len(explorer.data()[0]), explorer.values["batch_size"]
    num_minibatches = math.ceil(n / size)
    last_minibatch = n % size or size
""")
BATCHES = """
    explorer.set({setting})
    num_minibatches = {count}
    last_minibatch = {last}
"""
wrong("batches", "the full minibatches only", "off by one",
      BATCHES.format(setting="batch_size=33, n=1000", count="1000 // 33", last="1000 % 33"))
wrong("batches", "a full last minibatch", "a full minibatch",
      BATCHES.format(setting="batch_size=33, n=1000", count=31, last=33))
wrong("batches", "the batch size not set", "set the batch size to 33",
      BATCHES.format(setting="n=1000", count=31, last=10))

# Explorer, task 4 ---------------------------------------------------------------------------
right("bias", "measured on the labels", """
    import numpy as np

    labels, before = explorer.data()[1].clone(), explorer.fit()
    explorer.set(b=-4.2)
    label_shift = float((explorer.data()[1] - labels).mean())
    after = explorer.fit()
    moved = [after[name] - before[name] for name in ("w1_error", "w2_error")]
    weight_errors_change = np.any(np.abs(moved) > 1e-6)
""")
right("bias", "computed from b", """
    old_b = explorer.values["b"]
    explorer.set(b=-old_b)
    label_shift = explorer.values["b"] - old_b
    weight_errors_change = not True
""")
BIAS = """
    explorer.set(b=-4.2)
    label_shift = {shift}
    weight_errors_change = {change}
"""
wrong("bias", "the shift's sign flipped", "so it is negative",
      BIAS.format(shift=8.4, change=False))
wrong("bias", "the new bias instead of the shift", "where b ends",
      BIAS.format(shift=-4.2, change=False))
wrong("bias", "the weights' errors said to change", "stay the same",
      BIAS.format(shift=-8.4, change=True))
# fmt: on


# --- the tests --------------------------------------------------------------------------------

TASKS = [task.task for task in assignment.tasks()]


def test_every_graded_task_has_two_right_and_two_wrong_answers():
    assert sorted(RIGHT) == sorted(TASKS) == sorted(WRONG)
    for task in TASKS:
        assert len(RIGHT[task]) >= 2 and len(WRONG[task]) >= 2, task
        for regions, above in [*RIGHT[task].values(), *(v[1:] for v in WRONG[task].values())]:
            assert answer(task, *regions, above=above) != answer(task), task


def cases(table):
    return [
        pytest.param(task, name, value, id=f"{task}: {name}")
        for task, variants in table.items()
        for name, value in variants.items()
    ]


@pytest.mark.parametrize("task", TASKS)
def test_the_model_answer_passes_its_checks(task):
    assert run(task, answer(task)) is None


@pytest.mark.parametrize(("task", "name", "right"), cases(RIGHT))
def test_a_right_answer_written_differently_gets_full_points(task, name, right):
    regions, above = right
    assert run(task, answer(task, *regions, above=above)) is None


@pytest.mark.parametrize(("task", "name", "wrong"), cases(WRONG))
def test_a_wrong_answer_loses_the_points_with_a_message_naming_the_mistake(task, name, wrong):
    mistake, regions, above = wrong
    message = run(task, answer(task, *regions, above=above))
    assert message is not None, f"{name} passed the checks of {task}"
    assert message.startswith("AssertionError: ") and mistake in message, message


# --- the model answers themselves -------------------------------------------------------------


def test_the_model_fresh_data_splits_its_minibatches_among_loader_workers():
    stream = run("on-the-fly")["FreshData"](w=[2, -3.4], b=4.2, seed=0)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2)
    batches = [X for X, _ in loader]
    distinct = {tuple(X[0].tolist()) for X in batches}
    assert (len(batches), len(distinct)) == (10, 10), "two workers, ten distinct minibatches"


class RecordingGenerator(torch.Generator):
    """A torch.Generator that records the seeds it is given."""

    seeds: list[int] = []

    def manual_seed(self, seed):
        RecordingGenerator.seeds.append(int(seed))
        return super().manual_seed(seed)


def test_the_model_repeatable_data_seeds_minibatches_with_what_the_generator_keeps(monkeypatch):
    RepeatableData = run("same-data")["RepeatableData"]
    monkeypatch.setattr(torch, "Generator", RecordingGenerator)
    RecordingGenerator.seeds = []
    data = RepeatableData(w=[1.0], b=0.0, seed=5)
    for k in range(10):
        data.batch(k)
    assert len(RecordingGenerator.seeds) == 10
    cut = [seed for seed in RecordingGenerator.seeds if not 0 <= seed < 2**32]
    assert cut == [], f"torch's CPU generator keeps only the low 32 bits of the seeds {cut}"
