"""DESIGN.md section 3: dependencies point one way.

web, cli -> jobs -> media, labels, dicom, archive -> db, config; robot_drivers and
viewer_bundle know nothing of publisher; nothing imports web or cli. web, cli and dicom read the
index through publisher.archive.lookup (and publisher.archive.query), never with SQLAlchemy.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: package -> packages of ours it must not import (the longest matching owner applies too)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "robot_drivers": ("publisher", "viewer_bundle"),
    # production drivers never import the simulators (docs/robots.md, layout)
    **{f"robot_drivers.{m}": ("robot_drivers.sim",) for m in (
        "interface", "model", "errors", "registry", "lock", "drive", "manifest", "local", "hotfolder", "serial")},
    "viewer_bundle": ("publisher", "robot_drivers"),
    "publisher.db": ("publisher.archive", "publisher.dicom", "publisher.jobs", "publisher.media", "publisher.labels", "publisher.web", "publisher.cli"),
    "publisher.config": ("publisher.archive", "publisher.db", "publisher.dicom", "publisher.jobs", "publisher.media", "publisher.web", "publisher.cli"),
    "publisher.archive": ("publisher.dicom", "publisher.jobs", "publisher.media", "publisher.labels", "publisher.web", "publisher.cli"),
    "publisher.media": ("publisher.db", "publisher.dicom", "publisher.jobs", "publisher.web", "publisher.cli", "viewer_bundle"),
    "publisher.labels": ("publisher.db", "publisher.dicom", "publisher.jobs", "publisher.media", "publisher.web", "publisher.cli"),
    "publisher.dicom": ("publisher.jobs", "publisher.media", "publisher.web", "publisher.cli", "sqlalchemy"),
    "publisher.web": ("publisher.cli", "sqlalchemy"),
    "publisher.cli": ("sqlalchemy",),
    "publisher.jobs": ("publisher.web", "publisher.cli"),
    "publisher.service": ("publisher.web", "publisher.cli"),
}


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str | None = None) -> set[str]:
    """Every module ``path`` (the module ``module``) imports, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = module or _module(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                found |= {target} | {f"{target}.{a.name}" for a in node.names}
            elif node.module:
                found.add(node.module)
    return found


def test_relative_imports_are_seen(tmp_path: Path) -> None:
    """A relative import is resolved to the module it names (checked on a probe module)."""
    probe = tmp_path / "probe.py"
    probe.write_text("from ..sim import timing\nfrom . import files\n", encoding="utf-8")
    found = _imports(probe, "robot_drivers.hotfolder.probe")
    assert {"robot_drivers.sim", "robot_drivers.sim.timing", "robot_drivers.hotfolder.files"} <= found


def test_dependencies_point_one_way() -> None:
    violations = []
    for package in ("publisher", "robot_drivers", "viewer_bundle"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            module = _module(path)
            for owner, banned in FORBIDDEN.items():
                if module == owner or module.startswith(owner + "."):
                    for imported in _imports(path):
                        if any(imported == b or imported.startswith(b + ".") for b in banned):
                            violations.append(f"{module} imports {imported}")
    assert not violations, "\n".join(sorted(violations))
