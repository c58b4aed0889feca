"""Real peer tools: one ``require_tool`` for every test (skip locally when a tool is missing,
fail under CI=true, where a skipped interop test is a failure), and running a tool."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI (a skipped interop test is a failure there)."""
    if IN_CI:
        pytest.fail(f"required peer unavailable in CI: {reason}")
    pytest.skip(reason)


def require_tool(*names: str) -> str:
    """Require every tool in ``names`` on PATH; returns the path of the first."""
    found = []
    for name in names:
        exe = shutil.which(name)
        if exe is None:
            unavailable(f"{name} is not installed")
        found.append(str(exe))
    return found[0] if found else ""


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
    require_tool("dciodvfy")
    proc = run("dciodvfy", path, check=False)
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]
