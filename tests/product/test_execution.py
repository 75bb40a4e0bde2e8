"""`make notebooks` executes a page twice into the same bytes, widget state included."""

from __future__ import annotations

import pytest

from tools import execute

pytestmark = pytest.mark.kernel
SLIDERS = """---
jupytext: {text_representation: {extension: .md, format_name: myst}}
kernelspec: {display_name: Python 3 (ipykernel), language: python, name: python3}
---

```{code-cell} ipython3
import ipywidgets

a, b = ipywidgets.IntSlider(value=3), ipywidgets.IntSlider()
ipywidgets.jslink((a, "value"), (b, "value"))
ipywidgets.VBox([a, b])
```

```{code-cell} ipython3
print("sum", a.value + b.value)
```
"""


def test_executing_twice_gives_the_same_bytes(tmp_path):
    md = tmp_path / "sliders.md"
    md.write_text(SLIDERS)
    execute.write(md, execute.refresh(md, everything=True)[1])
    first = md.with_suffix(".ipynb").read_bytes()
    assert b"IPY_MODEL_" in first and b"sum 3" in first
    assert execute.write(md, execute.refresh(md, everything=True)[1]) is False
    assert md.with_suffix(".ipynb").read_bytes() == first
