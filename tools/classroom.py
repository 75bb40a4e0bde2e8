"""Zip the book's notebooks for a class (`make classroom`): each page's notebook as readers launch
it, numbered in reading order, and a README of their Colab and Studio Lab links."""

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
    """Write the archive to `path`; return the names of its notebooks, `NN-<name>.ipynb`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names, lines = [], ["Notebooks of 'Synthetic Regression Data', in reading order.", ""]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, md in enumerate(toc_notebooks(), start=1):
            ipynb = exported_path(md)
            names.append(f"{number:02d}-{ipynb.name}")
            archive.write(ipynb, names[-1])
            links = launch_links(display_path(ipynb), config()["repository"])
            lines += [names[-1], *(f"  {service}: {url}" for service, url in links.items())]
        archive.writestr("README.txt", "\n".join(lines) + "\n")
    return names


if __name__ == "__main__":
    print(f"wrote {ARCHIVE.relative_to(ROOT)}: {', '.join(build())}")
