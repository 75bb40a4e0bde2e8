"""Each task's check on answers a class would hand in: right answers (the model's and others) get
the points, each plausible mistake loses them with a message naming it. Run as nbgrader runs
them but in this process, without the setup cell (`test_assignment.py` grades for real)."""

from __future__ import annotations

import re
import textwrap

import pytest
import torch

from tools import assignment

REGION = re.compile(r"^( *)### BEGIN SOLUTION\n.*?^ *### END SOLUTION\n?", re.S | re.M)
MARKER = re.compile(r"^ *### (BEGIN|END) SOLUTION\n?", re.M)
# each task's notebook's code cells, and the index of its answer cell, the one above its check
CELLS = {
    assignment.grading(cell)["grade_id"]: (code, index - 1)
    for code in (
        [c for c in assignment.source_notebook(md).cells if c.cell_type == "code"]
        for md in assignment.sources()
    )
    for index, cell in enumerate(code)
    if assignment.grading(cell).get("grade")
}
TASKS = list(CELLS)


def answer(task: str, *change: str) -> str:
    """The answer cell of `task`: the model answer, or with one `change` the code of its solution
    regions (separated by "---" lines), or with pairs old, new each `old` replaced."""
    code, index = CELLS[task]
    source = code[index].source
    if len(change) == 1:
        regions = [textwrap.dedent(region).strip("\n") for region in change[0].split("\n---\n")]
        assert len(regions) == len(REGION.findall(source)), f"{task}: one region each"
        parts = iter(regions)
        source = REGION.sub(lambda match: textwrap.indent(next(parts), match[1]) + "\n", source)
    source = MARKER.sub("", source)
    for old, new in zip(change[::2], change[1::2], strict=True) if len(change) > 1 else []:
        assert old in source, f"{old!r} is not in the model answer to {task}"
        source = source.replace(old, new)
    return source


def run(task: str, source: str) -> tuple[str | None, dict]:
    """Run `task`'s notebook up to its check with `source` as its answer: what the score sheet
    says (None if it passes), and the namespace."""
    code, index = CELLS[task]
    namespace: dict = {"__name__": "__main__"}
    for cell in code[:index]:
        meta = assignment.grading(cell)
        if meta["grade_id"] != "setup" and not meta.get("grade"):
            exec(cell.source, namespace)
    exec(source, namespace)
    try:
        exec(code[index + 1].source, namespace)
    except Exception as err:
        error = {"ename": type(err).__name__, "evalue": str(err)}
        return assignment._describe(error, assignment.Limits().cell), namespace
    return None, namespace


# Right answers written unlike the model answer: the code of each solution region of the cell.
RIGHT = {
    "remainder-sizes: a loop over the starts": """
    sizes = []
    for start in range(0, num_examples, batch_size):
        size = min(batch_size, num_examples - start)
        if size == batch_size or not drop_last:
            sizes.append(size)
    return sizes
""",
    "remainder-sizes: a DataLoader over range": """
    loader = torch.utils.data.DataLoader(range(num_examples), batch_size, drop_last=drop_last)
    return [len(batch) for batch in loader]
""",
    "remainder-loaders: index tensors": """
    n, everything = data.num_train, (data.X, data.y)
    train = data.get_tensorloader(everything, True, torch.arange(n), drop_last=True)
    val = data.get_tensorloader(everything, False, torch.arange(n, len(data.X)))
    return train, val
""",
    "remainder-loaders: DataLoaders of its own": """
    from torch.utils.data import DataLoader, TensorDataset

    n = data.num_train
    train = DataLoader(TensorDataset(data.X[:n], data.y[:n]), data.batch_size,
                       shuffle=True, drop_last=True)
    val = DataLoader(TensorDataset(data.X[n:], data.y[n:]), data.batch_size)
    return train, val
""",
    "on-disk: randn imported from torch, one draw a chunk": """
    return num_examples * (num_features + 1) * np.dtype(np.float32).itemsize
---
    from torch import Generator, randn

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
""",
    "on-disk: torch.normal for the noise": """
    return 4 * num_examples * num_features + 4 * num_examples
---
    generator = torch.Generator()
    generator.manual_seed(seed)
    w = torch.as_tensor(w, dtype=torch.float32)
    rows = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                     shape=(num_examples, len(w) + 1))
    for start in range(0, num_examples, chunk):
        stop = min(start + chunk, num_examples)
        X = torch.randn(stop - start, len(w), generator=generator)
        eps = torch.normal(0.0, noise, (stop - start,), generator=generator)
        rows[start:stop] = np.column_stack([X.numpy(), (X @ w + b + eps).numpy()])
    return rows
""",
    "disk-shuffle: a Feistel network on integer mixing": """
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
""",
    "disk-shuffle: a keyed hash in a Feistel network, walked recursively": """
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
""",
    "on-the-fly: every worker draws every minibatch and keeps its share": """
    self.w = torch.as_tensor(w, dtype=torch.float32).reshape(-1, 1)
    self.b, self.noise = b, noise
    self.batch_size, self.num_batches = batch_size, num_batches
    self.generator = torch.Generator().manual_seed(seed)
---
    worker = torch.utils.data.get_worker_info()
    mine, every = (0, 1) if worker is None else (worker.id, worker.num_workers)
    for k in range(self.num_batches):
        X = torch.randn(self.batch_size, len(self.w), generator=self.generator)
        e = torch.randn(self.batch_size, 1, generator=self.generator)
        if k % every == mine:
            yield X, X @ self.w + self.b + self.noise * e
""",
    "on-the-fly: a generator per minibatch, seeded from the dataset's": """
    self.w = torch.as_tensor(w, dtype=torch.float32).reshape(-1, 1)
    self.b, self.noise = b, noise
    self.batch_size, self.num_batches = batch_size, num_batches
    self.seeds = torch.Generator()
    self.seeds.manual_seed(seed)
---
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
""",
    "same-data: a hash of seed and k": """
    import hashlib

    digest = hashlib.sha256(f"{self.seed}/{k}".encode()).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:4], "little"))
    X = torch.randn(self.batch_size, len(self.w), generator=generator)
    e = torch.randn(self.batch_size, 1, generator=generator)
    return X, X @ self.w + self.b + self.noise * e
""",
    "same-data: numpy's generator picks torch's seed": """
    seed = int(np.random.default_rng([self.seed, k]).integers(2**32))
    generator = torch.Generator()
    generator.manual_seed(seed)
    draws = torch.randn(self.batch_size, len(self.w) + 1, generator=generator)
    return draws[:, :-1], draws[:, :-1] @ self.w + self.b + self.noise * draws[:, -1:]
""",
    "noise: computed from the estimate, one slider at a time": """
    explorer.set(noise=1.0)
    explorer.set(n=100)
    w1_error = explorer.fit()["w1_hat"] - explorer.values["w1"]
    noise_factor = 10.0
""",
    "noise: read off the readout at both noise levels": """
    explorer.set(n=100, noise=0.1)
    low = explorer.fit()["w1_error"]
    explorer.set(noise=1)
    w1_error = float(f"{explorer.fit()['w1_error']:.4f}")
    noise_factor = round(w1_error / low)
""",
    "small-n: the noise kept from the task before": """
    explorer.set(n=10)
    errors = [v for name, v in explorer.fit().items() if name.endswith("_error")]
    largest_error = max(map(abs, errors))
    fewest_examples = 3
""",
    "small-n: numpy on the readout": """
    import numpy as np

    explorer.set(noise=1, n=10)
    fit = explorer.fit()
    largest_error = float(np.max(np.abs([fit["w1_error"], fit["w2_error"], fit["b_error"]])))
    fewest_examples = len(["w1", "w2", "b"])
""",
    "batches: computed by ceiling division": """
    explorer.set(n=1000)
    explorer.set(batch_size=33)
    num_minibatches = -(-1000 // 33)
    last_minibatch = 1000 - (num_minibatches - 1) * 33
""",
    "batches: counted from the explorer's data": """
    import math

    explorer.set(batch_size=33, n=1000)
    n, size = len(explorer.data()[0]), explorer.values["batch_size"]
    num_minibatches = math.ceil(n / size)
    last_minibatch = n % size or size
""",
    "bias: measured on the labels": """
    import numpy as np

    labels, before = explorer.data()[1].clone(), explorer.fit()
    explorer.set(b=-4.2)
    label_shift = float((explorer.data()[1] - labels).mean())
    after = explorer.fit()
    moved = [after[name] - before[name] for name in ("w1_error", "w2_error")]
    weight_errors_change = np.any(np.abs(moved) > 1e-6)
""",
    "bias: computed from b": """
    old_b = explorer.values["b"]
    explorer.set(b=-old_b)
    label_shift = explorer.values["b"] - old_b
    weight_errors_change = not True
""",
}
DRAWS = "torch.randn(size, len(w), generator=generator)"
GLOBAL = ("= torch.Generator().manual_seed(seed)", "= torch.manual_seed(seed)")
RESEEDED = "self.generator.manual_seed(self.generator.initial_seed()))"
RESEED_CHUNK = ("size = min(", "generator.manual_seed(seed); size = min(")
PERMUTED = "return int(torch.randperm(n, generator=torch.manual_seed(key))[i])"
ONE_DRAW = ("(first, self.num_batches, step)", "(self.num_batches)")
# Mistakes: the task, a part of the message that must name the mistake, and the answer: the code
# of its solution regions, or pairs old, new of changes to the model answer.
WRONG = [
    ("remainder-sizes", "off by one", "if left_over and not drop_last:", "if False:"),
    ("remainder-sizes", "the last minibatch holds", "append(left_over)", "append(batch_size)"),
    ("remainder-sizes", "with drop_last=True the incomplete last", " and not drop_last", ""),
    ("remainder-loaders", "same order every epoch: shuffle it", "train=True", "train=False"),
    ("remainder-loaders", "never drop the last minibatch", "False)", "True)"),
    ("remainder-loaders", "drop it (drop_last=True)", "train_rows, drop_last=True", "train_rows"),
    ("remainder-loaders", "the validation rows too", "indices=train_rows, ", ""),
    ("on-disk", "the labels hold no noise", "b + noise", "b + 0"),
    ("on-disk", "global random state", *GLOBAL),
    ("on-disk", "at most `chunk` rows", DRAWS, DRAWS.replace("size", "num_examples") + "[:size]"),
    ("on-disk", "seed the generator once", *RESEED_CHUNK),
    ("on-disk", "seeds 3 and 4 wrote the same file", ".manual_seed(seed)", ""),
    ("on-disk", "were not written", "num_examples, chunk)", "num_examples - chunk + 1, chunk)"),
    ("disk-shuffle", "too regular", "return (i + key) % n"),
    ("disk-shuffle", "without a table", PERMUTED),
    ("disk-shuffle", "does not permute", "return (i * 7 + key) % n"),
    ("disk-shuffle", "not a permutation", "    return value", "    return scramble(i)"),
    ("on-the-fly", "only 10 of them distinct", *ONE_DRAW),
    ("on-the-fly", "only 5 of them", "torch.Generator().manual_seed(seeds[k])", "self.generator"),
    ("on-the-fly", "two passes gave the same data", "self.generator)", RESEEDED),
    ("on-the-fly", "global random state", *GLOBAL),
    ("on-the-fly", "the noise should have standard deviation", " + epsilon", ""),
    ("same-data", "seed + k", "int(word)", "self.seed + k"),
    ("same-data", "low 32 bits", "int(word)", "self.seed << 32 | k"),
    ("same-data", "not reproducible", "torch.Generator().manual_seed(int(word))", "None"),
    ("same-data", "minibatches 0..3 must differ", "[self.seed, k]", "[self.seed]"),
    ("noise", "the estimate w1_hat itself", '"w1_error"], 4)', '"w1_hat"], 4)'),
    ("noise", "wrong sign", "round(", "-round("),
    ("noise", "the errors grow as much as the noise", "noise_factor = 10", "noise_factor = 100"),
    ("noise", "leave the noise at 1", "noise=1.0)", "noise=0.1)"),
    ("small-n", "three unknowns", "fewest_examples = 3", "fewest_examples = 2"),
    ("small-n", "an estimate, not an error", "fit[name]", "fit[name[:-5] + 'hat']"),
    ("small-n", "set n to 10", ", n=10", ""),
    ("batches", "off by one", "num_minibatches = 31", "num_minibatches = 30"),
    ("batches", "a full minibatch", "last_minibatch = 10", "last_minibatch = 33"),
    ("batches", "set the batch size to 33", "batch_size=33, ", ""),
    ("bias", "so it is negative", "-8.4", "8.4"),
    ("bias", "where b ends", "-8.4", "-4.2"),
    ("bias", "stay the same", "= False", "= True"),
]
CASES = [
    *(pytest.param(task, None, (), id=f"{task}: the model answer") for task in TASKS),
    *(pytest.param(name.split(": ")[0], None, (code,), id=name) for name, code in RIGHT.items()),
    *(pytest.param(task, why, change, id=f"{task}: {why}") for task, why, *change in WRONG),
]


def test_every_task_has_two_right_and_two_wrong_answers():
    for task in TASKS:
        assert sum(name.startswith(f"{task}: ") for name in RIGHT) >= 2, task
        assert sum(case[0] == task for case in WRONG) >= 2, task


@pytest.mark.parametrize(("task", "mistake", "change"), CASES)
def test_a_check_gives_right_answers_the_points_and_names_each_mistake(task, mistake, change):
    source = answer(task, *change)
    assert not change or source != answer(task), "not unlike the model answer"
    message = run(task, source)[0]
    if mistake is None:
        assert message is None
    else:
        assert message and message.startswith("AssertionError: ") and mistake in message, message


def test_the_model_repeatable_data_seeds_within_the_32_bits_torch_keeps(monkeypatch):
    """PyTorch's CPU generator keeps only a seed's low 32 bits: the model answer's stay within."""
    seeds = []

    class Recording(torch.Generator):
        def manual_seed(self, seed):
            seeds.append(int(seed))
            return super().manual_seed(seed)

    data = run("same-data", answer("same-data"))[1]["RepeatableData"](w=[1.0], b=0.0, seed=5)
    monkeypatch.setattr(torch, "Generator", Recording)
    for k in range(10):
        data.batch(k)
    assert len(seeds) == 10 and [s for s in seeds if not 0 <= s < 2**32] == [], seeds
