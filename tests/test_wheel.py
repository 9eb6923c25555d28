"""The wheel stands alone: built offline from the tracked sources, it holds the module and its data fixtures and no
notebook, and a notebook copied on its own into an empty folder runs against it, installed outside the checkout."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "10_protocols.ipynb"  # small, and it reads the packaged Fashion-MNIST fixture: the fixtures must be there


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """`pip wheel --no-deps --no-build-isolation` (offline) on a copy of what the wheel is built from."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "hashing_utils", src / "hashing_utils",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                          "-q", "-w", str(out), str(src)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    (whl,) = out.glob("hashing_utils-*.whl")
    return whl


def test_wheel_holds_the_module_and_fixtures_and_no_notebook(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "hashing_utils").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert modules and modules <= names, sorted(modules - names)
    fixtures = {p.relative_to(ROOT).as_posix() for p in (ROOT / "hashing_utils" / "fixtures").iterdir()
                if p.suffix in (".npz", ".md") or p.name.startswith("LICENSE-")}
    assert any(f.endswith(".npz") for f in fixtures) and fixtures <= names, sorted(fixtures - names)
    assert not [n for n in names if n.endswith(".ipynb") or n.startswith(("notebooks/", "tests/", "tools/"))]


def test_a_notebook_alone_runs_against_the_installed_wheel(wheel, tmp_path):
    target, work = tmp_path / "site-packages", tmp_path / "work"
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target",
                          str(target), str(wheel)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, work / NOTEBOOK)  # nothing else beside it
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HASHING_", "PYTHON"))}
    env.update(PYTHONPATH=str(target), HASHING_FAST="1", HASHING_OFFLINE="1",
               HASHING_CACHE_DIR=str(tmp_path / "cache"), MPLBACKEND="agg")
    # the notebook, then one cell that says where hashing_utils came from; run by nbclient from outside the checkout
    script = f"""
import json, nbformat, nbclient
nb = nbformat.read({NOTEBOOK!r}, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell("import hashing_utils; print(hashing_utils.__file__)"))
nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", resources={{"metadata": {{"path": "."}}}}).execute()
print(json.dumps(nb.cells[-1].outputs[0]["text"].strip()))
"""
    run = subprocess.run([sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    where = Path(json.loads(run.stdout.strip().splitlines()[-1]))
    assert target in where.parents, f"the notebook imported {where}, not the wheel installed in {target}"
    assert sorted(p.name for p in work.iterdir()) == [NOTEBOOK]  # it wrote nothing beside itself
