from __future__ import annotations


import pytest

from publisher.media import MediaInstance, master
from tests.support import media_builders as builders


@pytest.fixture(scope="session")
def acceptance(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[MediaInstance], str, str]:
    folder = tmp_path_factory.mktemp("acceptance-src")
    paths, rejected, note = builders.acceptance_files(folder)
    return builders.read(paths), rejected, note


@pytest.fixture(scope="session")
def cd_volume(acceptance, tmp_path_factory):  # type: ignore[no-untyped-def]
    instances, _, _ = acceptance
    out = tmp_path_factory.mktemp("cd")
    volumes = master(instances, "cd", out, institution="Klinik Süd")
    assert len(volumes) == 1
    return volumes[0]


@pytest.fixture(scope="session")
def dvd_volume(acceptance, tmp_path_factory):  # type: ignore[no-untyped-def]
    instances, _, _ = acceptance
    out = tmp_path_factory.mktemp("dvd")
    volumes = master(instances, "dvd", out)
    assert len(volumes) == 1
    return volumes[0]


@pytest.fixture(scope="session")
def bd_volume(acceptance, tmp_path_factory):  # type: ignore[no-untyped-def]
    instances, _, _ = acceptance
    out = tmp_path_factory.mktemp("bd")
    return master(instances, "bd", out)[0]


