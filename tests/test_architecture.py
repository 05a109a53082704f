"""The layout rules of docs/architecture.md, checked on every test run.

- Stages import only downward (import-linter contracts in pyproject.toml).
- No module over about 600 lines: one concept a module.
- Every module says in its docstring what it holds.
"""

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAX_LINES = 600


def _modules() -> list[Path]:
    return sorted(p for p in (REPO / "geo").rglob("*.py") if "__pycache__" not in p.parts)


def test_import_contracts_are_kept():
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(linter), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout
    assert done.stdout.count("KEPT") >= 3


def test_no_module_over_the_line_limit():
    long = {
        str(p.relative_to(REPO)): n
        for p in [*_modules(), REPO / "app.py"]
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these into one concept a module: {long}"


def test_every_module_has_a_docstring():
    missing = [
        str(p.relative_to(REPO))
        for p in _modules()
        if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert not missing, missing
