"""DESIGN.md section 3: dependencies point one way.

web, cli -> jobs -> media, labels, dicom, archive -> db, config; robot_drivers and
viewer_bundle know nothing of publisher; nothing imports web or cli. web, cli and dicom read the
index through publisher.archive.lookup (and publisher.archive.query), never with SQLAlchemy.
publisher.dicomio (and publisher.progress) sit below everything: they import nothing of ours,
and anyone may import them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Every top-level module and package of ours (a rule that bans them all bans "publisher" too).
_OURS: tuple[str, ...] = (
    "publisher.archive", "publisher.cli", "publisher.config", "publisher.db", "publisher.dicom", "publisher.jobs",
    "publisher.labels", "publisher.media", "publisher.progress", "publisher.samples", "publisher.sample_ct",
    "publisher.service", "publisher.web", "robot_drivers", "viewer_bundle",
)

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
    # the shared DICOM encoding imports nothing of ours (and every package may import it)
    "publisher.dicomio": (*_OURS,),
    "publisher.progress": (*_OURS,),
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


def test_dicomio_imports_only_pydicom_and_the_standard_library() -> None:
    """publisher.dicomio is below every package: pydicom, the standard library and itself only."""
    allowed = set(sys.stdlib_module_names) | {"pydicom", "publisher.dicomio"}
    found = []
    for path in (ROOT / "publisher" / "dicomio").rglob("*.py"):
        for imported in _imports(path):
            if imported.split(".")[0] not in allowed and not imported.startswith("publisher.dicomio") \
                    and imported not in ("__future__",):
                found.append(f"{_module(path)} imports {imported}")
    assert not found, "\n".join(sorted(found))


def test_every_package_may_import_dicomio() -> None:
    """No rule of a publisher package bans publisher.dicomio (it is the bottom of the dependency
    order); robot_drivers and viewer_bundle know nothing of publisher at all."""
    for owner, banned in FORBIDDEN.items():
        if not owner.startswith("publisher"):
            continue
        assert not any("publisher.dicomio" == b or "publisher.dicomio".startswith(b + ".") for b in banned), owner
