"""Searching the index with DICOM matching rules (PS3.4 C.2.2.2).

Every matching kind of PS3.4 C.2.2.2 becomes an SQL condition, so a query is answered by the
database from its indexes and never by reading files:

- single value matching (C.2.2.2.1), case-sensitive except for person names;
- list of UID matching (C.2.2.2.2), a backslash-separated list becomes ``IN (...)``;
- universal matching (C.2.2.2.3), an empty value or ``*`` adds no condition;
- wildcard matching (C.2.2.2.4): ``*`` any sequence, ``?`` one character;
- range matching (C.2.2.2.5) of dates and times, closed (``A-B``) and open (``A-``, ``-B``);
  a Date and a Time key of the same entity that are both ranges combine into one date-time
  range when the SCU negotiated it (C.2.2.2.5.1);
- value lists of multi-valued keys (``CT\\MR``, PS3.4 C.2.2.2.1 for VM > 1): any value matches.

Person names are matched on their decoded, case-folded form (``*_norm`` columns), so a query
typed in UTF-8 finds a name that arrived in ISO_IR 100 and the other way round (PS3.4 C.2.2.2.4
allows case-insensitive PN matching). The other text keys are case-sensitive on every backend:
SQLite's LIKE ignores ASCII case, so wildcards use GLOB there; MariaDB's default collations
ignore case and accents, so conditions add a binary collation there.

A search is one ordered query, the counts asked for as correlated subqueries, streamed from a
server-side cursor (:func:`search`): its cost grows with the result and not with the archive,
and its memory with neither.

Modules: :mod:`.keys` (levels, keys, :class:`~.keys.Query`), :mod:`.matching` (the conditions)
and :mod:`.search` (:func:`~.search.search`, :func:`~.search.find_patients`).
"""
