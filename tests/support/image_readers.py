"""Third-party readers of our images (7-Zip, udfinfo, isoinfo): what a foreign system sees on the disc."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.tools import require_tool, run


def seven_zip(*args: str | Path) -> str:
    """7-Zip's output; any error or warning it reports about the image fails the test."""
    require_tool("7zz")
    out = run("7zz", *args).stdout
    assert not re.search(r"^(ERRORS?|WARNINGS?):|Headers Error|Unexpected end", out, re.M), out[-3000:]
    return out


def seven_zip_files(image: Path, handler: str) -> dict[str, int]:
    """Path -> size of every file 7-Zip lists with its ``udf`` or ``iso`` handler (-slt)."""
    out = seven_zip("l", "-slt", f"-t{handler}", image)
    files, path = {}, None
    for line in out.split("----------", 1)[1].splitlines():
        if line.startswith("Path = "):
            path = line[7:]
        elif line.startswith("Folder = ") and line.endswith("+"):
            path = None
        elif line.startswith("Size = ") and path is not None:
            files[path] = int(line[7:])
    return files


def extract_image(image: Path, handler: str, dest: Path) -> Path:
    seven_zip("x", f"-t{handler}", "-y", f"-o{dest}", image)
    return dest


def udfinfo(image: Path) -> dict[str, str]:
    require_tool("udfinfo")
    proc = run("udfinfo", image)
    assert "Warning" not in proc.stderr and "Error" not in proc.stderr, proc.stderr
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line and not line.startswith("start="))


def isoinfo_files(image: Path, joliet: bool) -> dict[str, int]:
    """Path -> extent from ``isoinfo -l`` (ISO names without the ``;1`` version, trailing dot)."""
    require_tool("isoinfo")
    out = run("isoinfo", *(["-J"] if joliet else []), "-l", "-i", image).stdout
    files: dict[str, int] = {}
    folder = ""
    for line in out.splitlines():
        m = re.match(r"Directory listing of (.*)", line)
        if m:
            folder = m.group(1)
            continue
        m = re.match(r"^-\S+\s+.*\[\s*(\d+)\s+\d+\]\s+(.+?)\s*$", line)
        if m:
            name = re.sub(r";1$", "", m.group(2)).rstrip(".")
            files[(folder + name).lstrip("/")] = int(m.group(1))
    return files

