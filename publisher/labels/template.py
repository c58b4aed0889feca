"""Label templates (TOML files in ``config/labels/``): disc geometry, fonts, what goes where."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: ``config/labels`` of the repository
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "config" / "labels"

#: fields a template line can show (see :func:`publisher.labels.layout.field_lines`)
FIELDS = frozenset({"institution", "logo", "patient_names", "patient_ids", "study_dates",
                    "modalities", "descriptions", "comment", "disc_of", "content", "created"})


@dataclass(frozen=True)
class LineStyle:
    """One template line: a field, its preferred size in points, bold or not, max lines."""

    field: str
    size: float = 9.0
    style: str = "regular"
    max_lines: int = 2
    height_mm: float = 8.0  # logo only

    def __post_init__(self) -> None:
        if self.field not in FIELDS:
            raise ValueError(f"unknown label field {self.field!r}; known: {sorted(FIELDS)}")
        if self.style not in ("regular", "bold"):
            raise ValueError(f"style must be regular or bold, not {self.style!r}")


@dataclass(frozen=True)
class DiscGeometry:
    """A 120 mm disc with a 15 mm hub hole; ink goes only on the printable ring."""

    diameter_mm: float = 120.0
    hub_diameter_mm: float = 15.0
    print_outer_mm: float = 118.0
    print_inner_mm: float = 23.0
    margin_mm: float = 1.5

    def __post_init__(self) -> None:
        if not (self.hub_diameter_mm <= self.print_inner_mm < self.print_outer_mm
                <= self.diameter_mm):
            raise ValueError("need hub <= printable inner < printable outer <= disc diameter")


@dataclass(frozen=True)
class LabelTemplate:
    """A parsed template."""

    name: str
    geometry: DiscGeometry = field(default_factory=DiscGeometry)
    top: tuple[LineStyle, ...] = ()
    bottom: tuple[LineStyle, ...] = ()
    institution: str = ""
    logo: Path | None = None
    printer_dpi: int = 300
    clip_to_ring: bool = True
    min_size: float = 5.0
    color: str = "#000000"
    date_format: str = "%Y-%m-%d"
    texts: dict[str, str] = field(default_factory=dict)

    def text(self, key: str) -> str:
        """A wording of the template (``disc_of``, ``patient_id``, ``born``, ``created``)."""
        return self.texts.get(key, DEFAULT_TEXTS[key])


DEFAULT_TEXTS = {
    "disc_of": "Disc {k} of {n}",
    "patient_id": "ID {id}",
    "born": "born {date}",
    "created": "Created {date}",
    "more": "and {n} more (see the enclosed list)",
}


def load_template(name_or_path: str | Path = "default") -> LabelTemplate:
    """Load ``config/labels/<name>.toml`` or a TOML file path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = TEMPLATE_DIR / f"{name_or_path}.toml"
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return template_from_dict(data, name=path.stem, base=path.parent)


def template_from_dict(data: dict[str, Any], name: str = "custom",
                       base: Path | None = None) -> LabelTemplate:
    """Build a template from parsed TOML/JSON; relative logo paths are relative to ``base``."""
    logo = data.get("institution", {}).get("logo") or None
    logo_path = Path(logo) if logo else None
    if logo_path is not None and not logo_path.is_absolute() and base is not None:
        logo_path = base / logo_path
    text = data.get("text", {})
    return LabelTemplate(
        name=name,
        geometry=DiscGeometry(**data.get("disc", {})),
        top=tuple(LineStyle(**line) for line in data.get("top", [])),
        bottom=tuple(LineStyle(**line) for line in data.get("bottom", [])),
        institution=data.get("institution", {}).get("name", ""),
        logo=logo_path,
        printer_dpi=int(data.get("printer", {}).get("dpi", 300)),
        clip_to_ring=bool(data.get("printer", {}).get("clip_to_ring", True)),
        min_size=float(text.get("min_size", 5.0)),
        color=str(text.get("color", "#000000")),
        date_format=str(text.get("date_format", "%Y-%m-%d")),
        texts={k: str(v) for k, v in text.get("wording", {}).items()},
    )
