"""One version for nnlib and the book: package, CITATION.cff and the changelog agree."""
import re
from importlib.metadata import version
from pathlib import Path

import yaml

import nnlib

ROOT = Path(__file__).resolve().parent.parent


def test_versions_agree():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    changelog = (ROOT / "CHANGELOG.md").read_text()
    newest = re.search(r"^## (\S+)", changelog, re.M).group(1)
    assert nnlib.__version__ == version("nnlib") == str(citation["version"]) == newest


def test_repository_url_is_the_configured_one():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["repository-code"] == config["repository"]["url"]
