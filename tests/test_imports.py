"""The import graph of hashing_utils, read from the source with ast: imports inside functions count, relative and
absolute (`hashing_utils.`) alike. The package has no cycle, and no module reaches another module's private name
(`from .x import _y`, or `x._y` on an imported module)."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hashing_utils"
ROOT = PACKAGE.name


def _modules() -> dict:
    """{dotted module name: path}; a package's __init__.py is the package's own name."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _package_of(name: str) -> str:
    return name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]


def _imports(name: str):
    """(target module, imported name or None, line) for every hashing_utils import in module `name`, and the local
    names bound to hashing_utils modules (for x._y attribute access)."""
    tree = ast.parse(MODULES[name].read_text(), str(MODULES[name]))
    found, bound = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                    found.append((alias.name, None, node.lineno))
                    if alias.asname:
                        bound[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(name)
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = f"{base}.{node.module}" if node.module else base
            elif node.module and (node.module == ROOT or node.module.startswith(ROOT + ".")):
                base = node.module
            else:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:                     # `from . import data`: the module itself
                    found.append((sub, None, node.lineno))
                    bound[alias.asname or alias.name] = sub
                else:
                    found.append((base, alias.name, node.lineno))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            found.append((bound[node.value.id], node.attr, node.lineno))
    return found


def _private(attr) -> bool:
    return attr is not None and attr.startswith("_") and not (attr.startswith("__") and attr.endswith("__"))


def graph() -> dict:
    """{module: {module it imports}} over hashing_utils (a package's submodule import does not add its __init__)."""
    g = {m: set() for m in MODULES}
    for m in MODULES:
        for target, _, _ in _imports(m):
            if target in MODULES and target != m:
                g[m].add(target)
    return g


def cycles(g: dict) -> list:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def private_imports() -> list:
    """'importer:line imports target.name' for every private name reached across modules."""
    out = []
    for m in MODULES:
        for target, attr, line in _imports(m):
            if _private(attr) and target != m and target in MODULES:
                out.append(f"{m}:{line} uses {target}.{attr}")
    return sorted(set(out))


def test_the_graph_reader_sees_imports_inside_functions_and_private_names(tmp_path):
    # the reader on a toy package: a cycle closed only by an import inside a function, and a private import
    global PACKAGE, MODULES
    pkg = tmp_path / ROOT
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import g\n")
    (pkg / "b.py").write_text("def g():\n    from . import a\n    return a._hidden\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from ..a import _x\nimport hashing_utils.b\n")
    saved = PACKAGE, MODULES
    try:
        PACKAGE = pkg
        MODULES = _modules()
        assert cycles(graph()) == [[f"{ROOT}.a", f"{ROOT}.b"]]
        assert graph()[f"{ROOT}.sub.c"] == {f"{ROOT}.a", f"{ROOT}.b"}
        assert private_imports() == [f"{ROOT}.b:3 uses {ROOT}.a._hidden", f"{ROOT}.sub.c:1 uses {ROOT}.a._x"]
    finally:
        PACKAGE, MODULES = saved


def test_the_package_has_no_import_cycle():
    assert cycles(graph()) == []


def test_no_module_uses_another_modules_private_name():
    assert private_imports() == []


# the data layer, bottom to top: each imports only modules listed before it (and torch/numpy/...)
DATA_LAYER = ["store", "formats", "download", "data", "protocols"]


def test_the_data_layer_imports_downwards_only():
    g = graph()
    for i, m in enumerate(DATA_LAYER):
        above = {f"{ROOT}.{n}" for n in DATA_LAYER[i:]} - {f"{ROOT}.{m}"}
        assert not g[f"{ROOT}.{m}"] & above, f"{m} imports {sorted(g[f'{ROOT}.{m}'] & above)}"
    assert g[f"{ROOT}.store"] == set()                     # the bottom imports nothing of the package


@pytest.mark.parametrize("module", DATA_LAYER + ["features", "backbones", "models", "crossmodal", "hierarchy",
                                                 "experiments"])
def test_each_data_module_imports_alone_in_a_fresh_python(module):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE.parent),
                                                                     os.environ.get("PYTHONPATH")]))}
    run = subprocess.run([sys.executable, "-c", f"import {ROOT}.{module}"], capture_output=True, text=True, env=env,
                         cwd=PACKAGE.parent)
    assert run.returncode == 0, run.stderr[-2000:]
