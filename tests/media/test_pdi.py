"""IHE PDI content: README.TXT, INDEX.HTM + IHE_PDI pages (XHTML, UTF-8 names), viewer hook."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from publisher.media import DiscContent, MediaInstance, MediaType, master
from publisher.media.plan import VolumeExtras
from tests.support.media_builders import extract_volume

XHTML = "{http://www.w3.org/1999/xhtml}"


def test_root_holds_only_what_pdi_allows(cd_volume) -> None:
    top = {f.dest.split("/")[0] for f in cd_volume.files}
    assert top == {"DICOMDIR", "README.TXT", "INDEX.HTM", "IHE_PDI", "DICOM"}
    assert all(f.sop_instance_uid for f in cd_volume.files if f.dest.startswith("DICOM/"))
    assert all(f.dest.endswith(".HTM") for f in cd_volume.files if f.dest.startswith("IHE_PDI/"))


def test_readme_says_who_when_what_and_how(cd_volume) -> None:
    raw = (cd_volume.root / "README.TXT").read_bytes()
    assert raw.isascii() and b"\r\n" in raw
    text = raw.decode()
    for needle in ("Klinik Sud", "STD-GEN-CD", "disc 1 of 1", "INDEX.HTM", "DICOMDIR", "Muller, Jurgen", "PAT-CJK"):
        assert needle in text


def test_web_pages_are_xhtml_with_correct_names_and_exact_case_links(cd_volume, tmp_path: Path) -> None:
    root = extract_volume(cd_volume, tmp_path / "x")
    pages = [root / "INDEX.HTM", *sorted((root / "IHE_PDI").iterdir())]
    text = ""
    for page in pages:
        tree = ET.parse(page)  # well-formed XML (XHTML)
        for a in tree.iter(f"{XHTML}a"):
            target = (page.parent / a.get("href")).resolve()
            assert target.is_file(), (page.name, a.get("href"))  # exact case on a case-sensitive FS
        text += page.read_text(encoding="utf-8")
    for name in ("Müller, Jürgen", "Иванова, Мария", "山田, 太郎", "МРТ колена", "胸部X線"):
        assert name in text


def test_viewer_hook_runs_on_every_volume_and_gets_autorun(acceptance, tmp_path: Path) -> None:
    calls: list[DiscContent] = []

    class FakeViewer:
        name, version = "TestViewer", "1.2"

        def write(self, content: DiscContent, dest_root: Path) -> list[Path]:
            calls.append(content)
            start = dest_root / "VIEWER" / "index.html"
            start.parent.mkdir(parents=True)
            start.write_text("<html>viewer</html>")
            (dest_root / "VIEWER" / "app.js").write_text("//")
            return [start, dest_root / "VIEWER" / "app.js"]

        def extras(self, selection: Sequence[MediaInstance], media_type: MediaType) -> VolumeExtras:
            return VolumeExtras()

    viewer = FakeViewer()
    instances = acceptance[0]
    from publisher.media.plan import VOLUME_OVERHEAD, instance_cost

    payload = sum(instance_cost(i, False) for i in instances)
    volumes = master(instances, "cd", tmp_path / "out", viewer=viewer, viewer_size_estimate=1 << 16,
                     capacity=VOLUME_OVERHEAD + 200_000 + int(payload * 0.7))
    assert len(volumes) == len(calls) >= 2
    for v, c in zip(volumes, calls):
        assert (c.volume, c.volumes) == (v.number, v.count)
        assert set(c.file_ids) == {i.sop_instance_uid for i in v.instances}
        assert (v.root / "AUTORUN.INF").read_bytes().startswith(b"[autorun]\r\nshellexecute=VIEWER\\index.html")
        assert "TestViewer 1.2" in (v.root / "README.TXT").read_text()
        dests = [f.dest for f in v.files]
        assert "VIEWER/index.html" in dests
        assert dests.index("VIEWER/app.js") < min(i for i, d in enumerate(dests) if d.startswith("DICOM/"))
        index = (v.root / "INDEX.HTM").read_text(encoding="utf-8")
        assert re.search(r'href="VIEWER/index.html"', index)
