"""The slider explorer's Python side: the draws, the data and the readout for given settings."""

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from ipywidgets.widgets.widget import _instances as live_widgets
from ipywidgets.widgets.widget_link import Link
from scipy import stats

from d2lsave import RegressionExplorer, SyntheticRegressionData, explorer_draws
from d2lsave.explorer import _cos_sin, _radius, least_squares, random_bits


@pytest.fixture
def explorer() -> RegressionExplorer:
    return RegressionExplorer(seed=0, max_examples=2000)


def test_data_follows_the_sliders_from_fixed_draws(explorer):
    """The seed slider draws new data and returns to the old; more examples keep those shown;
    the noise slider scales the same noise."""
    assert repr(explorer) == (
        "RegressionExplorer(noise=0.01, batch_size=32, n=1000, w1=2.0, w2=-3.4, b=4.2, seed=0)"
    )
    first = explorer.data()
    explorer.set(seed=1)
    second = explorer.data()
    assert not torch.equal(first[0], second[0]) and not torch.equal(first[1], second[1])
    assert repr(explorer).endswith(", seed=1)")
    explorer.set(seed=0)
    again = explorer.data()
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    features, noise, _ = explorer.draws()
    labels = {}
    for n, sigma in [(500, 0.3), (100, 0.0), (1000, 0.0), (1000, 2.0)]:
        explorer.set(n=n, w1=1.5, w2=0.5, b=-2.0, noise=sigma)
        X, y = explorer.data()
        assert X.shape == (n, 2) and y.shape == (n, 1) and X.dtype == torch.float32
        assert torch.equal(X, features[:n])
        expected = X @ torch.tensor([1.5, 0.5]) - 2.0 + sigma * noise[:n]
        torch.testing.assert_close(y.flatten(), expected)
        labels[n, sigma] = y
    assert torch.equal(labels[1000, 0.0][:100], labels[100, 0.0])


def test_the_explorer_seed_is_not_the_chapters_seed():
    """As the page says: other numbers than SyntheticRegressionData(seed=s), of the same kind."""
    for seed in (0, 1, 42):
        X, y = RegressionExplorer(seed=seed, n=1000, max_examples=1000).data()
        chapter = SyntheticRegressionData(w=[2.0, -3.4], b=4.2, noise=0.01, seed=seed)
        X_chapter = chapter.X[:1000]
        assert not torch.equal(X, X_chapter) and not torch.equal(y, chapter.y[:1000])
        for j in range(2):
            r = np.corrcoef(X[:, j].numpy(), X_chapter[:, j].numpy())[0, 1]
            assert abs(r) < 0.15, (seed, j, r)  # unrelated draws, not a shifted copy
        for features in (X, X_chapter):
            assert features.mean(dim=0).abs().max() < 0.15
            assert (features.std(dim=0) - 1).abs().max() < 0.1


def test_draws_depend_only_on_seed_and_index_are_pinned_and_normal():
    """The committed page's answers depend on these exact numbers; the browser repeats them."""
    features, noise, keys = explorer_draws(0, 2)
    assert features.view(np.uint32).tolist() == [[0x3E7259A0, 0x3F155AB3], [0x3DD2F18B, 0xBF71AE94]]
    assert noise.view(np.uint32).tolist() == [0xBE27F329, 0xBE5386E7]
    assert keys.tolist() == [1784453581, 3848845451]
    short, long = explorer_draws(4, 50), explorer_draws(4, 3000)
    for a, b in zip(short, long, strict=True):
        assert np.array_equal(a, b[:50])
    other = explorer_draws(5, 50)
    assert not np.array_equal(short[0], other[0]) and not np.array_equal(short[1], other[1])
    features, noise, keys = long
    assert features.dtype == noise.dtype == np.float32 and keys.dtype == np.uint32
    python = RegressionExplorer(seed=4, n=50, max_examples=3000)
    assert np.array_equal(python.draws()[0].numpy(), features)
    assert python.panel.seed == 4 and python.values["seed"] == 4
    # the series behind them agree with numpy's log and cos; they pass for standard normals
    edges = np.array([0, 1, 2**31, 2**32 - 1], dtype=np.uint64)
    bits = np.concatenate([random_bits(3, 0, 100_000), edges])
    u = (bits.astype(np.float64) + 0.5) * 2.0**-32
    np.testing.assert_allclose(_radius(bits), np.sqrt(-2 * np.log(u)), rtol=2e-15, atol=0)
    cos, sin = _cos_sin(bits)
    np.testing.assert_allclose(cos, np.cos(2 * np.pi * u), rtol=0, atol=2e-15)
    np.testing.assert_allclose(sin, np.sin(2 * np.pi * u), rtol=0, atol=2e-15)
    features, noise, keys = explorer_draws(0, 100_000)
    columns = [features[:, 0], features[:, 1], noise, explorer_draws(1, 100_000)[0][:, 0]]
    for column in columns:
        assert abs(column.mean()) < 0.01 and abs(column.std() - 1) < 0.01
        assert stats.kstest(column, "norm").pvalue > 1e-3
    correlations = np.corrcoef(columns)
    assert np.abs(correlations[np.triu_indices(4, 1)]).max() < 0.015
    assert stats.kstest(keys / 2.0**32, "uniform").pvalue > 1e-3


def test_minibatch_is_the_smallest_keys_and_the_readout_is_least_squares(explorer):
    explorer.set(batch_size=33, n=200)
    batch = explorer.minibatch()
    assert len(batch) == 33 and len(set(batch.tolist())) == 33
    keys = explorer.draws()[2][:200]
    assert keys[batch].max() < keys[np.setdiff1d(np.arange(200), batch.numpy())].min()
    explorer.set(batch_size=256, n=100)
    assert len(explorer.minibatch()) == 100
    explorer.set(noise=0.5, n=300, w1=-1.0, w2=3.0, b=2.5)
    X, y = explorer.data()
    design = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()
    reference = torch.linalg.lstsq(design, y.double()).solution.flatten()
    fit = explorer.fit()
    for name, value in zip(("w1", "w2", "b"), reference.tolist(), strict=True):
        assert fit[f"{name}_hat"] == pytest.approx(value, abs=1e-9)
    assert fit["w1_error"] == pytest.approx(reference[0].item() + 1.0, abs=1e-9)
    X = torch.randn(50, 3, generator=torch.Generator().manual_seed(1))  # no noise: exact
    w, b = least_squares(X, X @ torch.tensor([1.0, -2.0, 0.5]) + 3.0)
    np.testing.assert_allclose(w, [1.0, -2.0, 0.5], rtol=0, atol=1e-5)
    assert w.dtype == torch.float64 and b == pytest.approx(3.0, abs=1e-5)


def test_every_slider_is_labelled_linked_and_its_range_known(explorer):
    """The panel tells front ends whose handles lack ARIA values each slider's range."""
    assert set(explorer.sliders) == {"noise", "batch_size", "n", "w1", "w2", "b", "seed"}
    kinds = {name: type(slider) for name, slider in explorer.sliders.items()}
    assert kinds["n"] is kinds["seed"] is kinds["batch_size"] is ipywidgets.IntSlider
    assert kinds["b"] is kinds["noise"] is ipywidgets.FloatSlider
    links = {
        widget.target[1]: widget
        for widget in list(live_widgets.values())
        if isinstance(widget, Link) and widget.target[0] is explorer.panel
    }
    assert set(links) == set(explorer.sliders)
    for name, slider in explorer.sliders.items():
        assert slider.description
        assert links[name].source == (slider, "value"), name
        assert getattr(explorer.panel, name) == slider.value
    explorer.set(b=-3.0)
    assert explorer.panel.b == -3.0 and explorer.values["b"] == -3.0
    ranges = explorer.panel.slider_ranges
    assert ranges["data seed"] == ["seed", 0, 999] and ranges["examples n"] == ["n", 10, 2000]
    assert set(ranges) == {slider.description for slider in explorer.sliders.values()}
    explorer.sliders["b"].max = 20.0
    assert explorer.panel.slider_ranges["bias b"] == ["b", -10.0, 20.0]


@pytest.mark.parametrize(
    ("name", "value"),
    [("b", -12.0), ("b", 11.5), ("w1", -7.0), ("w2", -6.5), ("noise", 7.0), ("batch_size", 300)]
    + [("seed", 5000)],
)
def test_values_outside_the_usual_range_widen_the_slider(name, value):
    w = {"w1": {"w": (value, 1.0)}, "w2": {"w": (1.0, value)}}
    explorer = RegressionExplorer(max_examples=200, n=100, **w.get(name, {name: value}))
    slider, v = explorer.sliders[name], explorer.values
    assert v[name] == value and getattr(explorer.panel, name) == value
    assert slider.min <= value <= slider.max
    X, y = explorer.data()
    noise = v["noise"] * explorer.draws()[1][:100]
    torch.testing.assert_close(y.flatten(), X @ torch.tensor([v["w1"], v["w2"]]) + v["b"] + noise)


@pytest.mark.parametrize(
    ("call", "values", "message"),
    [
        ("set", {"b": -12.0}, r"b must be within \[-10.0, 10.0\].*got -12.0"),
        ("set", {"w1": 5.5}, r"w1 must be within \[-5.0, 5.0\].*got 5.5"),
        ("set", {"n": 5000}, r"n must be within \[10, 2000\].*got 5000"),
        ("set", {"seed": -1}, r"seed must be an integer >= 0"),
        ("set", {"noise": float("nan")}, "noise must be a finite real number"),
        ("set", {"sigma": 1.0}, "unknown slider.*'sigma'"),
        ("new", {"w": (1.0, 2.0, 3.0)}, "w must hold exactly 2"),
        ("new", {"n": 5}, "n must be an integer >= 10"),
        ("new", {"n": 5000, "max_examples": 2000}, "n must be <= max_examples"),
        ("new", {"noise": -1}, "noise must be"),
        ("new", {"batch_size": 0}, "batch_size must be"),
        ("new", {"seed": -1}, "seed must be"),
        ("new", {"seed": 2**32}, "seed must be an integer < 2"),
    ],
)
def test_bad_values_are_named_and_change_nothing(explorer, call, values, message):
    before = explorer.values
    with pytest.raises(ValueError if call == "set" else (TypeError, ValueError), match=message):
        explorer.set(batch_size=50, **values) if call == "set" else RegressionExplorer(**values)
    assert explorer.values == before


def test_axes_stay_fixed_when_the_sliders_move(explorer):
    assert explorer.y_limit == 30.0 and explorer.panel.y_limit == 30.0
    figures = []
    for setting in ({}, {"b": -4.2}, {"w1": 5.0, "w2": 5.0}, {"noise": 5.0, "seed": 3}):
        explorer.set(**setting)
        fig = explorer.figure()
        figures.append([(ax.get_xlim(), ax.get_ylim()) for ax in fig.axes])
        plt.close(fig)
    assert all(limits == [((-4, 4), (-30, 30))] * 2 for limits in figures), figures
    assert RegressionExplorer(b=-12, max_examples=200, n=100).y_limit == 40.0
    explorer.set(n=120, batch_size=10)  # the figure shows the data and the minibatch
    fig = explorer.figure()
    assert [len(c.get_offsets()) for c in fig.axes[0].collections] == [120, 10]
    plt.close(fig)


def test_the_classroom_answers_hold_for_the_committed_seeds(explorer):
    """The noise task's ratio is ten for any seed; the prose calls seed 0 lucky at n = 10 and
    the ratio of errors far from sqrt(1000)."""
    for seed in (0, 5, 17):
        explorer.set(seed=seed, n=100, noise=0.1)
        small = explorer.fit()
        explorer.set(noise=1.0)
        large = explorer.fit()
        for key in ("w1_error", "w2_error", "b_error"):
            assert large[key] / small[key] == pytest.approx(10.0, rel=1e-4), (seed, key)
    explorer = RegressionExplorer(seed=0)
    explorer.set(noise=1.0, n=10)
    errors = {}
    for seed in (0, 1, 2, 3):
        explorer.set(seed=seed)
        errors[seed] = abs(explorer.fit()["w1_error"])
    assert errors[0] < 0.1 < errors[1] and errors[2] > 0.5  # typical: sigma / sqrt(6) = 0.41
    explorer.set(seed=0, n=10_000)
    ratio = errors[0] / abs(explorer.fit()["w1_error"])
    assert ratio < 10 < 1000**0.5
    explorer.set(n=1000, noise=0.01, b=-4.2)
    assert explorer.fit()["w1_error"] == pytest.approx(0.0, abs=1e-3)
