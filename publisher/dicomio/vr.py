"""Tables of the Value Representations (PS3.5 6.2, Table 6.2-1; element layout Table 7.1-1).

The encoders (:mod:`.encode`), the header readers of the archive, the DICOMDIR writer and its
value cleaning all look VRs up here, so a VR added by a later edition of the standard is added
once.
"""

from __future__ import annotations

import re

#: VRs with a 4-byte length after two reserved bytes in explicit VR (PS3.5 Table 7.1-1).
LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
#: :data:`LONG_VRS` as text.
LONG_VR_NAMES = frozenset(vr.decode("ascii") for vr in LONG_VRS)
#: VRs whose value is character text (PS3.5 6.2), padded to even length with a space (a UI with NUL).
TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"})
#: VRs whose text follows the Specific Character Set (PS3.5 6.1.2.3); PN per component group.
CHARSET_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})
#: Binary numbers: VR -> ``struct`` format character (endianness added by the caller).
NUMBER_FORMATS: dict[str, str] = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d"}
#: Maximum length in characters per value (PS3.5 Table 6.2-1); PN per component group.
MAX_CHARS: dict[str, int] = {"AE": 16, "AS": 4, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64,
                             "LT": 10240, "PN": 64, "SH": 16, "ST": 1024, "TM": 14}
#: A DS value: a fixed or floating point number (PS3.5 Table 6.2-1); use with ``fullmatch``.
DS_PATTERN = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
#: An IS value: an optionally signed integer (PS3.5 Table 6.2-1); use with ``fullmatch``.
IS_PATTERN = re.compile(r"[+-]?\d+")
