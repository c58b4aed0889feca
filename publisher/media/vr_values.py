"""Values of DICOMDIR keys formatted as their VR requires (PS3.5 6.2, Table 6.2-1).

The index hands values over as Python values (DS as float, IS as int, text as str); a key is
written from the instance's own value when that value is valid for its VR, normalised when it
can be (an ACR-NEMA date ``1999.12.31``, a time ``08:15:00``, a lower-case code string, a
decimal string longer than 16 bytes), and left out otherwise, so that the record falls back to
the documented default of a Type 1 key, an empty Type 2 key, or no Type 3 key.
Unique identifiers are never altered: they are what references point at.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterable
from typing import Any, cast

from pydicom.valuerep import format_number_as_ds

from publisher.dicomio.vr import DS_PATTERN, IS_PATTERN, MAX_CHARS

#: VRs whose value may not contain a backslash (it separates values), PS3.5 6.2.
_SINGLE_TEXT = {"AE", "CS", "LO", "PN", "SH", "UC"}
_TM = re.compile(r"^([01]\d|2[0-3])([0-5]\d([0-5]\d|60)?)?(\.\d{1,6})?$")
_DT = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$")
_AS = re.compile(r"^\d{3}[DWMY]$")
_CS_BAD = re.compile(r"[^A-Z0-9 _]")
_IS_RANGE = (-(2**31), 2**31 - 1)


def _values(value: object) -> list[Any]:
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return list(cast("Iterable[Any]", value))
    return [value]


def clean(vr: str, value: object) -> object:
    """``value`` valid for ``vr``: as it is, normalised, or None when nothing valid is left.
    Multi-valued input gives a list of the valid values (None when none is)."""
    if value is None or vr not in _CLEANERS:
        return value
    out = [v for v in (_CLEANERS[vr](x) for x in _values(value) if x is not None and x != "") if v is not None]
    if not out:
        return None
    return out[0] if len(out) == 1 else out


def decimal_string(x: object) -> str | None:
    """A DS value (PS3.5 6.2: at most 16 bytes, digits, sign, point and exponent)."""
    original = getattr(x, "original_string", None)
    text = str(original if isinstance(original, str) else x).strip()
    if isinstance(x, str) or isinstance(original, str):
        if DS_PATTERN.fullmatch(text) and len(text) <= 16:
            return text
        try:
            x = float(text)
        except ValueError:
            return None
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    if isinstance(x, int) and len(str(x)) <= 16:
        return str(x)
    number = float(x)
    if not math.isfinite(number):
        return None
    short = repr(number)
    if short.endswith(".0"):
        short = short[:-2]
    return short if len(short) <= 16 and DS_PATTERN.fullmatch(short) else format_number_as_ds(number)


def integer_string(x: object) -> str | None:
    """An IS value: an integer in [-2^31, 2^31 - 1] (PS3.5 6.2); ``12.0`` becomes ``12``."""
    if isinstance(x, bool):
        return None
    if isinstance(x, str):
        text = x.strip()
        if not IS_PATTERN.fullmatch(text):
            try:
                number = float(text)
            except ValueError:
                return None
            if not number.is_integer():
                return None
            text = str(int(number))
        x = int(text)
    if isinstance(x, float):
        if not x.is_integer():
            return None
        x = int(x)
    if not isinstance(x, int) or not _IS_RANGE[0] <= x <= _IS_RANGE[1]:
        return None
    return str(x)


def date_string(x: object) -> str | None:
    """A DA value ``YYYYMMDD`` of a real date; ``YYYY.MM.DD`` (ACR-NEMA) and ``YYYY-MM-DD`` are
    normalised (PS3.5 6.2 and its note on the former)."""
    text = str(x).strip()
    if len(text) == 10 and text[4] in ".-" and text[7] == text[4]:
        text = text[:4] + text[5:7] + text[8:]
    try:
        _dt.datetime.strptime(text, "%Y%m%d")
    except ValueError:
        return None
    return text if len(text) == 8 else None


def time_string(x: object) -> str | None:
    """A TM value ``HH[MM[SS[.F{1,6}]]]``; ``HH:MM:SS`` (ACR-NEMA) is normalised, a longer fraction cut."""
    text = str(x).strip()
    if ":" in text:
        text = text.replace(":", "")
    if "." in text:
        whole, frac = text.split(".", 1)
        text = f"{whole}.{frac[:6]}" if frac else whole
    return text if _TM.match(text) else None


def code_string(x: object) -> str | None:
    """A CS value: upper case letters, digits, space and underscore, at most 16 (PS3.5 6.2)."""
    text = _CS_BAD.sub("_", str(x).strip().upper())[:16].rstrip()
    return text or None


def _limited(vr: str) -> Any:
    limit = MAX_CHARS.get(vr)

    def cut(x: object) -> str | None:
        text = str(x)
        text = text.rstrip(" ") if vr in ("ST", "LT", "UT") else text.strip(" ")
        if vr in _SINGLE_TEXT:
            text = text.replace("\\", "/")
        if limit is not None and vr == "PN":
            text = "=".join(group[:limit] for group in text.split("="))
        elif limit is not None:
            text = text[:limit]
        return text or None

    return cut


def _pattern(regex: re.Pattern[str]) -> Any:
    def check(x: object) -> str | None:
        text = str(x).strip()
        return text if regex.match(text) else None

    return check


_CLEANERS: dict[str, Any] = {
    "DS": decimal_string, "IS": integer_string, "DA": date_string, "TM": time_string, "CS": code_string,
    "DT": _pattern(_DT), "AS": _pattern(_AS),
    **{vr: _limited(vr) for vr in ("AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT")},
}
