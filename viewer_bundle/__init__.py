"""The on-disc HTML5 viewer: static files, translations and the code that feeds them.

Standalone: imports nothing from ``publisher``. The media engine lays the DICOM files out on
the disc tree, describes them as a :class:`DiscContent` and calls :func:`write_viewer`; it
reserves :func:`estimate_parts` (per disc: fixed files, per series, per instance) in its volume
plan beforehand, may keep encoded frames for later discs in a :class:`FrameCache`, and links the root ``INDEX.HTM`` (IHE PDI) to ``ViewerResult.start_page``
(``VIEWER/INDEX.HTM``).
"""

from .cache import FrameCache
from .content import (DiscContent, Instance, OtherDisc, Patient, Series, SeriesElsewhere, Study, ThirdPartyViewer,
                      ViewerResult)
from .estimate import Part, SizeEstimate, estimate_parts, estimate_size
from .reference import render_reference
from .scan import content_from_files
from .writer import START_PAGE, languages, write_viewer

__all__ = [
    "DiscContent",
    "FrameCache",
    "Instance",
    "OtherDisc",
    "Part",
    "Patient",
    "Series",
    "SeriesElsewhere",
    "SizeEstimate",
    "START_PAGE",
    "Study",
    "ThirdPartyViewer",
    "ViewerResult",
    "content_from_files",
    "estimate_parts",
    "estimate_size",
    "languages",
    "render_reference",
    "write_viewer",
]
