"""docs/BOTS.md's quick start and testing example run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = ["test_dice.py"]


def test_the_documented_bot_and_its_tests_pass(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "BOTS.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    (tmp_path / "dice.py").write_text(next(b for b in blocks if b.startswith("# dice.py")))
    (tmp_path / "test_dice.py").write_text(next(b for b in blocks if "# test_dice.py" in b))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # only the anyio plugin: a faster start
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "anyio", "-p", "no:cacheprovider", *FILES],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
