"""DICOM matching (PS3.4 C.2.2.2) as SQL conditions, the same on SQLite, PostgreSQL and MariaDB.

SQLite's LIKE ignores ASCII case, so wildcards use GLOB there; MariaDB's default collations
ignore case and accents, so conditions add a binary collation there. Person names are matched
on their decoded, case-folded form (``*_norm`` columns, PS3.4 C.2.2.2.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import QueryableAttribute

from publisher.archive.metadata import normalise_name
from publisher.archive.query.keys import DATE_TIME_PAIRS, KEY_BY_KEYWORD, Key, Kind, Query, QueryError
from publisher.db.models import Series, Study

_ESCAPE = "!"
_MARIADB_BINARY = "utf8mb4_bin"


def wildcard_to_like(pattern: str) -> str:
    """A DICOM wildcard pattern as an SQL LIKE pattern escaped with ``!``."""
    out = []
    for ch in pattern:
        if ch in "%_!":
            out.append(_ESCAPE + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)


def wildcard_to_glob(pattern: str) -> str:
    """A DICOM wildcard pattern as an SQLite GLOB pattern (case-sensitive; ``[`` made literal)."""
    return pattern.replace("[", "[[]")


def is_wildcard(value: str) -> bool:
    return "*" in value or "?" in value


@dataclass(frozen=True)
class Matcher:
    """Builds case-sensitive conditions the same way on SQLite, PostgreSQL and MariaDB."""

    dialect: str = "sqlite"

    def equals(self, column: ColumnElement[Any] | QueryableAttribute[Any], value: str) -> ColumnElement[bool]:
        cond = column == value
        if self.dialect in ("mysql", "mariadb"):
            # The index finds the case/accent-insensitive candidates, the binary collation decides.
            return and_(cond, column.collate(_MARIADB_BINARY) == value)
        return cond

    def wildcard(self, column: ColumnElement[Any] | QueryableAttribute[Any], pattern: str) -> ColumnElement[bool]:
        if self.dialect == "sqlite":
            return column.op("GLOB")(wildcard_to_glob(pattern))
        like = wildcard_to_like(pattern)
        if self.dialect in ("mysql", "mariadb"):
            return and_(column.like(like, escape=_ESCAPE), column.collate(_MARIADB_BINARY).like(like, escape=_ESCAPE))
        return column.like(like, escape=_ESCAPE)

    def text(self, column: ColumnElement[Any] | QueryableAttribute[Any], value: str) -> ColumnElement[bool] | None:
        """Single value, wildcard or a backslash list of either; None for universal matching."""
        values = [v for v in value.split("\\")]
        if any(v in ("", "*") for v in values):
            return None
        conds = [self.wildcard(column, v) if is_wildcard(v) else self.equals(column, v) for v in values]
        return conds[0] if len(conds) == 1 else or_(*conds)


def match(column: ColumnElement[str], pattern: str, dialect: str = "sqlite") -> ColumnElement[bool] | None:
    """Single value or wildcard matching of ``column``; None for universal matching."""
    return Matcher(dialect).text(column, pattern)


def uid_list(column: ColumnElement[str], value: str) -> ColumnElement[bool] | None:
    """List of UID matching (PS3.4 C.2.2.2.2); a single UID is a list of one."""
    uids = [u.strip().rstrip("\0") for u in value.split("\\") if u.strip().rstrip("\0")]
    if not uids or "*" in uids:
        return None
    return column == uids[0] if len(uids) == 1 else column.in_(uids)


def normalise_date(value: str) -> str:
    """YYYYMMDD from YYYYMMDD or the retired YYYY.MM.DD (PS3.5 6.2 DA note)."""
    v = value.strip()
    if len(v) == 10 and v[4] == "." and v[7] == ".":
        v = v.replace(".", "")
    if len(v) != 8 or not v.isdigit():
        raise QueryError(f"{value!r} is not a DICOM date (YYYYMMDD)")
    return v


def normalise_time(value: str) -> str:
    """HH[MM[SS[.FFFFFF]]] from a TM value, colons of the retired form removed."""
    v = value.strip().replace(":", "")
    head = v.split(".")[0]
    if not head.isdigit() or len(head) not in (2, 4, 6):
        raise QueryError(f"{value!r} is not a DICOM time (HHMMSS.FFFFFF)")
    return v


def time_upper(value: str) -> str:
    """The last instant a reduced-precision upper bound names: ``10`` -> ``105959.999999``."""
    head, _, frac = value.partition(".")
    head = head + "5959"[: 6 - len(head)] if len(head) < 6 else head
    return f"{head}.{(frac + '999999')[:6]}" if frac else f"{head}.999999"


def split_range(value: str) -> tuple[str, str] | None:
    """(low, high) of a range value ``A-B``, ``A-``, ``-B``; None for a single value."""
    if "-" not in value:
        return None
    low, _, high = value.partition("-")
    return low.strip(), high.strip()


def date_condition(column: ColumnElement[str], value: str) -> ColumnElement[bool] | None:
    """Single date or date range (PS3.4 C.2.2.2.5); dates are stored as YYYYMMDD strings."""
    v = value.strip()
    if v in ("", "*"):
        return None
    rng = split_range(v)
    if rng is None:
        return or_(*[column == normalise_date(d) for d in v.split("\\")]) if "\\" in v else column == normalise_date(v)
    low, high = rng
    conds = [column != ""]
    if low:
        conds.append(column >= normalise_date(low))
    if high:
        conds.append(column <= normalise_date(high))
    return and_(*conds)


def time_condition(column: ColumnElement[str], value: str) -> ColumnElement[bool] | None:
    """Single time or time range; a reduced-precision value matches the whole period it names."""
    v = value.strip()
    if v in ("", "*"):
        return None
    rng = split_range(v)
    low, high = rng if rng is not None else (v, v)
    conds = [column != ""]
    if low:
        conds.append(column >= normalise_time(low))
    if high:
        conds.append(column <= time_upper(normalise_time(high)))
    return and_(*conds)


def datetime_condition(date_col: ColumnElement[str], time_col: ColumnElement[str], date_value: str, time_value: str) -> ColumnElement[bool]:
    """Combined date-time range of a Date and a Time key (PS3.4 C.2.2.2.5.1):
    ``StudyDate=20260101-20260102, StudyTime=2200-0600`` means from 1 Jan 22:00 to 2 Jan 06:00."""
    (dlow, dhigh), (tlow, thigh) = split_range(date_value.strip()) or ("", ""), split_range(time_value.strip()) or ("", "")
    conds: list[ColumnElement[bool]] = [date_col != ""]
    if dlow:
        d = normalise_date(dlow)
        after = date_col > d
        conds.append(or_(after, and_(date_col == d, time_col >= normalise_time(tlow))) if tlow else date_col >= d)
    if dhigh:
        d = normalise_date(dhigh)
        before = date_col < d
        conds.append(or_(before, and_(date_col == d, time_col <= time_upper(normalise_time(thigh)))) if thigh else date_col <= d)
    return and_(*conds)


def number_condition(column: ColumnElement[int], value: str) -> ColumnElement[bool] | None:
    """IS keys: single value or backslash list of integers."""
    values = [v.strip() for v in value.split("\\") if v.strip()]
    if not values or "*" in values:
        return None
    try:
        ints = [int(v) for v in values]
    except ValueError:
        return false()  # a non-numeric IS value matches nothing
    return column == ints[0] if len(ints) == 1 else column.in_(ints)


def conditions(query: Query, matcher: Matcher) -> list[ColumnElement[bool]]:
    """The SQL conditions of every matching key of ``query`` at or above its level."""
    conds: list[ColumnElement[bool]] = []
    combined: set[str] = set()
    for date_kw, time_kw in DATE_TIME_PAIRS:
        dv, tv = query.matches.get(date_kw, ""), query.matches.get(time_kw, "")
        if query.combine_datetime and split_range(dv.strip()) and split_range(tv.strip()):
            key_d, key_t = KEY_BY_KEYWORD[date_kw], KEY_BY_KEYWORD[time_kw]
            if key_d.level <= query.level:
                assert key_d.column is not None and key_t.column is not None
                conds.append(datetime_condition(key_d.column, key_t.column, dv, tv))
                combined.update((date_kw, time_kw))
    for keyword, value in query.matches.items():
        key = KEY_BY_KEYWORD.get(keyword)
        if key is None or keyword in combined or key.level > query.level or value is None:
            continue
        cond = condition(key, str(value), matcher)
        if cond is not None:
            conds.append(cond)
    return conds


def condition(key: Key, value: str, matcher: Matcher) -> ColumnElement[bool] | None:
    """The condition of one key by its kind; None for universal matching and return keys."""
    col = key.match_column or key.column
    if key.kind is Kind.TEXT:
        assert col is not None
        return matcher.text(col, value)
    if key.kind is Kind.PN:
        assert col is not None
        if key.match_column is not None:
            return matcher.text(col, normalise_name(value))
        return matcher.text(func.lower(col), value.lower())
    if key.kind is Kind.UID:
        assert col is not None
        return uid_list(col, value)
    if key.kind is Kind.DATE:
        assert col is not None
        return date_condition(col, value)
    if key.kind is Kind.TIME:
        assert col is not None
        return time_condition(col, value)
    if key.kind is Kind.NUMBER:
        assert col is not None
        return number_condition(col, value)
    if key.kind is Kind.MODALITIES:
        inner = matcher.text(Series.modality, value)
        if inner is None:
            return None
        return exists(select(Series.id).where(Series.study_fk == Study.id, inner))
    return None  # COUNT and RETURN keys are not matched



def name_part_condition(column: ColumnElement[str] | QueryableAttribute[str], pattern: str,
                        dialect: str = "sqlite") -> ColumnElement[bool] | None:
    """The study browser's name search on a folded name column (``family^given^middle...``,
    groups split by ``=``): ``pattern`` (folded the same way by the caller) matches from the start
    of any name part, its end open; ``*`` and ``?`` mean what they mean in C-FIND (PS3.4
    C.2.2.2.4) and go through the same translation (:meth:`Matcher.wildcard`). A pattern with a
    ``^`` names the family name first and matches from the start of the whole name."""
    pattern = pattern.strip().rstrip("*")
    if not pattern.strip("*"):
        return None
    matcher = Matcher(dialect)
    if "^" in pattern:
        return matcher.wildcard(column, pattern + "*")
    return or_(*(matcher.wildcard(column, lead + pattern + "*") for lead in ("", "*^", "*=")))


def id_condition(column: ColumnElement[str] | QueryableAttribute[str], value: str,
                 dialect: str = "sqlite") -> ColumnElement[bool] | None:
    """A Patient ID as the study browser matches it: upper and lower case the same, the whole ID
    unless ``*`` or ``?`` say otherwise (the C-FIND wildcards, PS3.4 C.2.2.2.4)."""
    value = value.strip().lower()
    if value in ("", "*"):
        return None
    lowered = func.lower(column)
    matcher = Matcher(dialect)
    return matcher.wildcard(lowered, value) if is_wildcard(value) else matcher.equals(lowered, value)
