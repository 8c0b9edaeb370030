"""The layer contract of pyproject.toml's [tool.importlinter]: layers point one way, the
domain imports no Kafka or Faust even transitively, and only the runtime imports Faust."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter over the ``streams`` package found under ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_the_tree_keeps_every_layer_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "upward", "contract"),
    [
        # the pure domain reaching the runtime (and so Faust)
        ("streams/domain/models/outcome.py", "import streams.runtime.app", "layers point one way"),
        # Kafka plumbing reaching an operator command
        ("streams/kafka/topics.py", "import streams.ops.audit", "layers point one way"),
        # the relay importing Faust itself
        ("streams/relay/publish.py", "import faust", "only the runtime imports faust"),
    ],
)
def test_an_upward_import_breaks_the_contract(
    tmp_path: Path, module: str, upward: str, contract: str
) -> None:
    """The same check over a copy of the tree with one offending import added: it must
    fail and name the module that imports upward."""
    shutil.copytree(
        ROOT / "streams", tmp_path / "streams", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{upward}  # noqa\n")
    result = lint_imports(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"{contract}" in output and "BROKEN" in output, output
    offender = module.removesuffix(".py").replace("/", ".")
    assert offender in output, output
