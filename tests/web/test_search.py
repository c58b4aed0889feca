"""Issue 14, acceptance 2: the study browser's search finds what a person means, on SQLite,
PostgreSQL and MariaDB: names with or without accents, by family or given name, any case;
Patient IDs in any case; the C-FIND wildcards ``*`` and ``?``."""

from __future__ import annotations

import re

from publisher.demo import samples
from tests.support.web_site import EVIL_STUDY, WEB_STUDIES, Site

LATIN1, CYRILLIC, CJK = WEB_STUDIES[0], WEB_STUDIES[1], WEB_STUDIES[2]
#: A name typed in capitals at the modality, to be found by its accents in lower case.
SHOUTED = samples.StudySpec(samples.PatientSpec("JÜRGENS^ANNA", "PAT-UP"), "shouted", "Shouted", "20260110",
                            series=(samples.SeriesSpec("ct", 1, 1, "x", 16, 16),))


def _found(site: Site, query: str) -> set[str]:
    page = site.login("rad").get(f"/studies?{query}")
    assert page.status_code == 200, page.text[-500:]
    return set(re.findall(r'<tr data-study="([0-9.]+)">', page.text))


def test_names_and_ids_are_found_with_or_without_accents_and_case(site: Site) -> None:
    for p in samples.write_study(SHOUTED, site.tmp / "in" / SHOUTED.key):
        site.archive.store_file(p)
    uid = {s.key: str(s.uid) for s in (*WEB_STUDIES, SHOUTED)}
    cases = {
        "name=muller": {uid["ct-head"]},  # family name without the umlaut
        "name=Muller": {uid["ct-head"]},
        "name=M%C3%BCLLER": {uid["ct-head"]},  # MüLLER
        "name=j%C3%BCrgen": {uid["ct-head"], uid["shouted"]},  # jürgen: the given name Jürgen and JÜRGENS
        "name=jurgen": {uid["ct-head"], uid["shouted"]},
        "name=Muller%2C+J*": {uid["ct-head"]},  # "Muller, J*": family name, then given name
        "name=anna": {uid["shouted"]},
        "name=m%3Fller": {uid["ct-head"]},  # m?ller
        "name=j*s": {uid["shouted"]},  # a wildcard inside a name part: JÜRGENS
        "name=%D0%BC%D0%B0%D1%80%D0%B8%D1%8F": {uid["mr-knee"]},  # мария: the Cyrillic given name
        "name=%E5%A4%AA%E9%83%8E": {uid["cr-chest"]},  # 太郎
        "name=jur_en": set(),  # "_" is a character, not an SQL wildcard
        "name=%25": set(),  # nor is "%"
        "pid=pat-cyr": {uid["mr-knee"]},
        "pid=PAT-CYR": {uid["mr-knee"]},
        "pid=pat-c*": {uid["mr-knee"], uid["cr-chest"]},
        "pid=pat-cy": set(),  # an ID is matched whole unless a wildcard says otherwise
        "pid=pat-xs%3F": {str(EVIL_STUDY.uid)},
    }
    for query, expected in cases.items():
        assert _found(site, query) == expected, query
