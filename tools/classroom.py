"""Zip the book's notebooks for a class (run by `make classroom`).

The archive holds each page's notebook as readers launch it (`notebooks/<page>.ipynb`: the
outputs stored, the Markdown plain), in reading order, plus a short README with the Colab and
Studio Lab links, so a teacher can hand out either.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from tools.book import ROOT, config, display_path, toc_notebooks
from tools.export import exported_path

ARCHIVE = ROOT / "_build" / "classroom.zip"


def launch_links(page: str, repository: dict[str, str]) -> dict[str, str]:
    """Where each service opens a page's notebook, given `_config.yml`'s `repository`."""
    github = repository["url"].removeprefix("https://github.com/").strip("/")
    path = f"{github}/blob/{repository['branch']}/{page}"
    return {
        "Colab": f"https://colab.research.google.com/github/{path}",
        "SageMaker Studio Lab": f"https://studiolab.sagemaker.aws/import/github/{path}",
    }


def build(path: Path = ARCHIVE) -> list[str]:
    """Write the archive to `path`; return the notebooks' names in it, in reading order.

    Each notebook is stored as `NN-<name>.ipynb`, numbered so that a file browser lists them in
    the order of the book.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    repository = config()["repository"]
    names, lines = [], ["Notebooks of 'Synthetic Regression Data', in reading order.", ""]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, md in enumerate(toc_notebooks(), start=1):
            ipynb = exported_path(md)
            name = f"{number:02d}-{ipynb.name}"
            archive.write(ipynb, name)
            names.append(name)
            lines.append(name)
            for service, url in launch_links(display_path(ipynb), repository).items():
                lines.append(f"  {service}: {url}")
        archive.writestr("README.txt", "\n".join(lines) + "\n")
    return names


if __name__ == "__main__":
    print(f"wrote {ARCHIVE.relative_to(ROOT)}: {', '.join(build())}")
