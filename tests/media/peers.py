"""Real peer tools for media tests: skip locally when missing, fail under CI=true."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def need(*tools: str) -> None:
    """Require ``tools`` on PATH: ``pytest.fail`` in CI (CI=true), else skip."""
    for tool in tools:
        if shutil.which(tool) is None:
            msg = f"peer tool {tool} is not installed"
            if os.environ.get("CI") == "true":
                pytest.fail(msg)
            pytest.skip(msg)


def run(*cmd: str | Path, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a peer tool; output as text (errors replaced), both streams captured."""
    proc = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, errors="replace", cwd=cwd, timeout=300
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd[0]} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def dciodvfy_errors(path: Path) -> list[str]:
    """The "Error" lines dicom3tools ``dciodvfy`` reports for ``path``."""
    need("dciodvfy")
    proc = run("dciodvfy", path, check=False)
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]
