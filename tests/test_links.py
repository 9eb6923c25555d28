"""tools/links.py: every launch link and install cell comes from pyproject.toml, a second run changes nothing, and
--check fails on a stale notebook or README (and passes on the committed tree)."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("links", ROOT / "tools" / "links.py")
links = importlib.util.module_from_spec(spec)
sys.modules["links"] = links  # dataclasses look the module up
spec.loader.exec_module(links)


def copy_project(tmp: Path, repository="https://github.com/some-owner/some-repo", ref="abc1234",
                 notebooks=("00_foundations.ipynb", "05_psldh_partial_softmax.ipynb")) -> Path:
    """A minimal project: pyproject with the given address and ref, two committed notebooks, the README."""
    (tmp / "notebooks").mkdir()
    for name in notebooks:
        shutil.copy(ROOT / "notebooks" / name, tmp / "notebooks" / name)
    shutil.copy(ROOT / "README.md", tmp / "README.md")
    (tmp / "pyproject.toml").write_text(
        f'[project]\nname = "x"\n[project.urls]\nRepository = "{repository}"\n[tool.workbook]\nref = "{ref}"\n')
    return tmp


def test_urls_come_from_pyproject(tmp_path):
    s = links.settings(copy_project(tmp_path))
    assert (s.owner, s.repo, s.ref) == ("some-owner", "some-repo", "abc1234")
    name = "00_foundations.ipynb"
    assert links.colab_url(s, name) == \
        "https://colab.research.google.com/github/some-owner/some-repo/blob/abc1234/notebooks/00_foundations.ipynb"
    assert links.kaggle_url(s, name) == ("https://kaggle.com/kernels/welcome?src="
                                         "https://github.com/some-owner/some-repo/blob/abc1234/notebooks/00_foundations.ipynb")
    assert links.binder_url(s, name) == \
        "https://mybinder.org/v2/gh/some-owner/some-repo/abc1234?labpath=notebooks/00_foundations.ipynb"
    assert 'git+https://github.com/some-owner/some-repo@abc1234"' in links.install_source(s)


def test_bad_settings_are_named(tmp_path):
    copy_project(tmp_path, repository="https://gitlab.com/a/b")
    with pytest.raises(SystemExit, match="https://github.com/OWNER/REPO"):
        links.settings(tmp_path)


def test_sync_is_idempotent_and_check_mode(tmp_path):
    root = copy_project(tmp_path)
    assert links.sync(root) != []                 # the address changed: everything is rewritten
    first = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert links.sync(root) == [] and links.sync(root, check=True) == []
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == first
    for path in (root / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "install" in code[0].metadata["tags"], f"{path.name}: the install cell is not the first code cell"
        assert sum("install" in c.metadata.get("tags", []) for c in nb.cells) == 1
        assert "some-owner/some-repo/blob/abc1234" in nb.cells[1].source
        assert nb.cells[0].source.startswith("# ")     # the title stays first
    assert "some-owner/some-repo" in (root / "README.md").read_text()
    # a stale ref is caught by --check, which changes nothing
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text().replace("abc1234", "v9.9.9"))
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    stale = links.sync(root, check=True)
    assert set(stale) >= {root / "README.md", *(root / "notebooks").glob("*.ipynb")}
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def run_install_cell(cwd: Path, missing: bool, env=None):
    """The install cell's code with pip replaced by a print (and, with missing, hashing_utils taken as absent)."""
    src = links.install_source(links.settings()).replace("subprocess.run(", "print('PIP', ").replace("check=True", "sep=' '")
    if missing:
        src = src.replace('importlib.util.find_spec("hashing_utils") is None', "True")
    src += "\nprint('PATH0', sys.path[0])" if missing else ""
    return subprocess.run([sys.executable, "-c", src], cwd=cwd, capture_output=True, text=True, env=env)


def test_install_cell(tmp_path):
    # where the module imports (make test, Binder): nothing runs, nothing is printed
    run = run_install_cell(tmp_path, missing=False, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    # in a clone without `make install` (the notebook runs in notebooks/): the clone goes on sys.path, no pip
    (tmp_path / "hashing_utils").mkdir()
    (tmp_path / "hashing_utils" / "__init__.py").write_text("")
    (tmp_path / "notebooks").mkdir()
    run = run_install_cell(tmp_path / "notebooks", missing=True)
    assert "PIP" not in run.stdout and f"PATH0 {tmp_path}" in run.stdout, run
    # elsewhere (Colab, Kaggle): pip with the pinned URL, keeping the runtime's ipywidgets
    (tmp_path / "other" / "elsewhere").mkdir(parents=True)
    run = run_install_cell(tmp_path / "other" / "elsewhere", missing=True)
    s = links.settings()
    assert run.returncode == 0 and run.stdout.startswith("PIP"), run
    assert f"hashing-utils @ git+{s.repository}@{s.ref}" in run.stdout and "ipywidgets==" in run.stdout


def test_committed_tree_is_current():
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "links.py"), "--check"], capture_output=True, text=True)
    assert run.returncode == 0, "out of date; run python tools/links.py\n" + run.stdout + run.stderr
