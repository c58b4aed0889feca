"""docs/architecture.md, section 3: dependencies point one way.

Every room of ours (a top-level module or package of publisher, robot_drivers, viewer_bundle) is
in :data:`MAY_IMPORT` with the rooms it may import; anything else of ours is banned, and so are
the third-party names in :data:`ALSO_BANNED` (web, cli and dicom read the index through
publisher.archive.lookup, never with SQLAlchemy). A new room without a rule fails
:func:`test_every_room_has_a_rule`. Relative imports are resolved and ``from a import b`` counts
as importing ``a.b``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: room -> the rooms of ours it may import (besides itself); the table of docs/architecture.md
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "publisher": (),  # the package's own __init__: version only
    "publisher.config": (),
    "publisher.dicomio": (),
    "publisher.progress": (),
    "publisher.labels": (),
    "publisher.db": ("publisher.config",),
    "publisher.archive": ("publisher.config", "publisher.db", "publisher.dicomio", "publisher.progress"),
    "publisher.dicom": ("publisher.archive", "publisher.config", "publisher.db", "publisher.dicomio", "publisher.progress"),
    "publisher.media": ("publisher.archive", "publisher.dicomio", "publisher.progress", "publisher.labels"),
    "publisher.audit": ("publisher.db", "publisher.media"),
    "publisher.atna": ("publisher.config", "publisher.db"),
    "publisher.demo": ("publisher.labels", "publisher.dicomio"),
    "publisher.jobs": ("publisher", "publisher.archive", "publisher.audit", "publisher.config", "publisher.db",
                       "publisher.dicomio", "publisher.labels", "publisher.media", "publisher.progress",
                       "robot_drivers", "viewer_bundle"),
    "publisher.intake": ("publisher", "publisher.archive", "publisher.audit", "publisher.config", "publisher.db",
                         "publisher.dicom", "publisher.dicomio", "publisher.media", "publisher.progress"),
    "publisher.routing": ("publisher.archive", "publisher.config", "publisher.db", "publisher.dicom", "publisher.dicomio",
                          "publisher.media", "publisher.progress"),
    "publisher.retention": ("publisher", "publisher.archive", "publisher.audit", "publisher.config", "publisher.db",
                            "publisher.dicom", "publisher.dicomio", "publisher.jobs", "publisher.routing"),
    "publisher.health": ("publisher.db", "publisher.dicomio", "publisher.jobs"),
    "publisher.service": ("publisher.routing", "publisher.retention", "publisher", "publisher.archive", "publisher.atna", "publisher.config", "publisher.db", "publisher.demo", "publisher.labels",
                          "publisher.dicom", "publisher.dicomio", "publisher.health", "publisher.jobs", "robot_drivers"),
    "publisher.web": ("publisher.routing", "publisher", "publisher.archive", "publisher.audit", "publisher.config", "publisher.db",
                      "publisher.dicomio", "publisher.health", "publisher.jobs", "publisher.labels", "publisher.media", "publisher.progress"),
    # the command line is the outermost room: `serve` starts the web app
    "publisher.cli": ("publisher", "publisher.archive", "publisher.audit", "publisher.config", "publisher.db",
                      "publisher.demo", "publisher.dicom", "publisher.dicomio", "publisher.intake", "publisher.jobs",
                      "publisher.labels", "publisher.media", "publisher.progress", "publisher.service",
                      "publisher.web", "publisher.routing", "publisher.retention", "robot_drivers"),
    "robot_drivers": (),
    "viewer_bundle": (),
}

#: third-party (or inner) names a room must not import
ALSO_BANNED: dict[str, tuple[str, ...]] = {
    "publisher.web": ("sqlalchemy",),
    "publisher.cli": ("sqlalchemy",),
    "publisher.dicom": ("sqlalchemy",),
    # production drivers never import the simulators (docs/robots.md, layout)
    **{f"robot_drivers.{m}": ("robot_drivers.sim",) for m in (
        "interface", "model", "errors", "registry", "lock", "drive", "manifest", "local", "hotfolder", "serial")},
}


def room_of(module: str) -> str | None:
    """The longest room of :data:`MAY_IMPORT` that ``module`` is or is inside."""
    best = None
    for room in MAY_IMPORT:
        if (module == room or module.startswith(room + ".")) and (best is None or len(room) > len(best)):
            best = room
    return best


def violations_of(module: str, imported: set[str]) -> list[str]:
    """What ``module`` imports against the rules."""
    own = room_of(module)
    if own is None:
        return [f"{module} is in no room"]
    out = []
    for name in sorted(imported):
        target = room_of(name)
        if target is not None and target != own and target not in MAY_IMPORT[own]:
            out.append(f"{module} imports {name}")
        for owner, banned in ALSO_BANNED.items():
            if (module == owner or module.startswith(owner + ".")) and any(name == b or name.startswith(b + ".") for b in banned):
                out.append(f"{module} imports {name}")
    return out


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
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_relative_imports_are_seen(tmp_path: Path) -> None:
    """A relative import is resolved to the module it names (checked on a probe module)."""
    probe = tmp_path / "probe.py"
    probe.write_text("from ..sim import timing\nfrom . import files\n", encoding="utf-8")
    found = _imports(probe, "robot_drivers.hotfolder.probe")
    assert {"robot_drivers.sim", "robot_drivers.sim.timing", "robot_drivers.hotfolder.files"} <= found


def _modules() -> list[tuple[Path, str]]:
    out = []
    for package in ("publisher", "robot_drivers", "viewer_bundle"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                out.append((path, _module(path)))
    return out


def test_dependencies_point_one_way() -> None:
    found = [v for path, module in _modules() for v in violations_of(module, _imports(path))]
    assert not found, "\n".join(found)


def test_every_room_has_a_rule() -> None:
    """Each top-level module and package of publisher is a room of :data:`MAY_IMPORT`."""
    tops = {f"publisher.{p.stem if p.is_file() else p.name}" for p in (ROOT / "publisher").iterdir()
            if (p.suffix == ".py" and p.name != "__init__.py") or (p.is_dir() and (p / "__init__.py").exists())}
    assert tops - set(MAY_IMPORT) == set(), sorted(tops - set(MAY_IMPORT))


@pytest.mark.parametrize("module, source", [
    ("publisher.web.probe", "import sqlalchemy\n"),
    ("publisher.cli.probe", "from sqlalchemy import select\n"),
    ("publisher.dicom.probe", "from sqlalchemy.orm import Session\n"),
    ("publisher.media.probe", "from publisher.db import models\n"),
    ("publisher.archive.probe", "from ..jobs import worker\n"),
    ("publisher.dicomio.probe", "from publisher import config\n"),
    ("publisher.db.probe", "from publisher import audit\n"),
    ("robot_drivers.hotfolder.probe", "from ..sim import timing\n"),
    ("viewer_bundle.probe", "import publisher.media\n"),
    ("publisher.web.probe", "from publisher.cli import main\n"),
])
def test_a_probe_import_of_each_kind_is_caught(module: str, source: str, tmp_path: Path) -> None:
    """The rules fail on a forbidden import of each kind: a third-party name, an absolute and a
    relative import of a banned room, ``from publisher import x``."""
    probe = tmp_path / "probe.py"
    probe.write_text(source, encoding="utf-8")
    assert violations_of(module, _imports(probe, module)), source


def test_allowed_imports_pass() -> None:
    """... and not on allowed ones (the rules are not simply 'ban everything')."""
    assert violations_of("publisher.web.x", {"publisher.archive.lookup", "fastapi"}) == []
    assert violations_of("publisher.jobs.x", {"viewer_bundle", "robot_drivers.model"}) == []


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
    """publisher.dicomio is at the bottom of the order: every publisher room that imports
    anything of ours may import it (robot_drivers and viewer_bundle know nothing of publisher)."""
    for room, allowed in MAY_IMPORT.items():
        if room.startswith("publisher.") and allowed and room not in ("publisher.db", "publisher.audit", "publisher.atna"):
            assert "publisher.dicomio" in allowed, room


def test_tests_import_helpers_from_tests_support_only() -> None:
    """Test modules and conftest files share helpers through ``tests/support`` (tests/support/__init__.py):
    nothing imports a test module or a conftest, and ``tests/support`` imports no test package."""
    found = []
    for path in (ROOT / "tests").rglob("*.py"):
        module = _module(path)
        for name in _imports(path, module):
            leaf = name.split(".")[-1]
            if name.startswith("tests.") and (leaf.startswith("test_") or leaf == "conftest"):
                found.append(f"{module} imports {name}")
            elif module.startswith("tests.support") and name.startswith("tests.") and not name.startswith("tests.support"):
                found.append(f"{module} imports {name}")
    assert not found, "\n".join(sorted(found))
