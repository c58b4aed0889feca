"""viewer_bundle without a browser: codec, reference rendering, disc layout, sizes, options."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.uid import JPEGLSLossless, RLELossless

from publisher.demo.samples import CR_IMAGE, SeriesSpec, StudySpec, LATIN1_PATIENT, as_file, build_study
from tests.support.viewer import lay_out
from viewer_bundle import (
    DiscContent,
    Instance,
    Patient,
    Series,
    Study,
    ThirdPartyViewer,
    content_from_files,
    estimate_size,
    languages,
    render_reference,
    write_viewer,
)
from viewer_bundle import codec
from viewer_bundle.reference import window_linear
from viewer_bundle.writer import STATIC

ISO_NAME = re.compile(r"^[A-Z0-9_]{1,8}(\.[A-Z0-9_]{1,3})?$")


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(-3000, 3000, 3, dtype=np.int16)[: 40 * 50].reshape(40, 50),
        (np.arange(64 * 33, dtype=np.uint32) * 977 % 65536).astype(np.uint16).reshape(64, 33),
        (np.arange(20 * 30) % 256).astype(np.uint8).reshape(20, 30),
        (np.arange(20 * 30 * 3) * 7 % 256).astype(np.uint8).reshape(20, 30, 3),
        (np.arange(16 * 16, dtype=np.int64) * 1_000_003 - 2**30).astype(np.int32).reshape(16, 16),
        np.array([[-32768, 32767], [32767, -32768]], dtype=np.int16),
    ],
)
@pytest.mark.parametrize("predictor", [codec.PREDICT_NONE, codec.PREDICT_UP])
def test_codec_round_trip(arr: np.ndarray, predictor: int) -> None:
    data = codec.encode(arr, predictor)
    back = codec.decode(data, arr.shape, arr.dtype, predictor)
    assert back.dtype == arr.dtype and np.array_equal(back, arr)


def test_png_thumbnail_is_valid() -> None:
    grey = (np.arange(12 * 9) % 256).astype(np.uint8).reshape(12, 9)
    img = Image.open(io.BytesIO(codec.png(grey)))
    assert img.size == (9, 12) and np.array_equal(np.asarray(img), grey)
    rgb = np.stack([grey, 255 - grey, grey // 2], axis=-1)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(codec.png(rgb)))), rgb)


def test_window_linear_follows_ps33_c11_2_1_2_1() -> None:
    x = np.array([-1000.0, -161.0, -160.0, 0.0, 39.5, 40.0, 239.0, 240.0, 3000.0])
    out = window_linear(x, 40, 400)
    # below c - 0.5 - (w-1)/2 = -160: 0; above c - 0.5 + (w-1)/2 = 239: 255
    assert out[0] == 0 and out[1] == 0 and out[2] == 0
    assert out[-1] == 255 and out[-2] == 255 and out[-3] == 255
    assert out[4] == 128  # at c - 0.5 the output is the middle, rounded half up
    assert list(window_linear(np.array([9.0, 10.0, 11.0]), 10.5, 1)) == [0, 0, 255]


def test_reference_monochrome1_and_rescale(tmp_path: Path) -> None:
    study = StudySpec(LATIN1_PATIENT, "t", series=(SeriesSpec("cr", 1, 1, "", 16, 16), SeriesSpec("ct", 1, 2, "", 16, 16)))
    cr, ct = (as_file(ds) for ds in build_study(study))
    assert cr.SOPClassUID == CR_IMAGE
    a = render_reference(cr, 0, 2048, 4096)
    raw = cr.pixel_array.astype(float)
    expect = 255 - window_linear(raw, 2048, 4096)
    assert np.array_equal(a, expect)
    ct.RescaleIntercept = -1024
    ct.RescaleSlope = 2
    b = render_reference(ct, 0, 40, 400)
    assert np.array_equal(b, window_linear(ct.pixel_array * 2.0 - 1024, 40, 400))


def test_compressed_sources_are_decoded(tmp_path: Path) -> None:
    """JPEG-LS and RLE (allowed by no media profile, still met in archives) decode to the same pixels."""
    study = StudySpec(LATIN1_PATIENT, "c", series=(SeriesSpec("ct", 2, 1, "", 32, 32),))
    files = []
    for i, syntax in enumerate((JPEGLSLossless, RLELossless)):
        ds = as_file(build_study(study)[i])
        ref = render_reference(ds)
        ds.compress(syntax)
        path = tmp_path / f"I{i}"
        ds.save_as(path, enforce_file_format=True)
        assert np.array_equal(render_reference(dcmread(path)), ref)
        files.append((f"DICOM/I{i}", path))
    result = write_viewer(content_from_files(files), tmp_path / "disc")
    assert not result.skipped


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.support.viewer import disc_studies

    root = tmp_path_factory.mktemp("bundle")
    files = lay_out(root, disc_studies())
    content = content_from_files(files)
    estimate = estimate_size(content)
    result = write_viewer(content, root, language="fr")
    return root, content, result, estimate


def test_layout_is_iso9660_level1_and_ascii(written) -> None:  # type: ignore[no-untyped-def]
    root, _, result, _ = written
    assert result.start_page == "VIEWER/INDEX.HTM"
    assert not result.skipped
    for rel in result.files:
        parts = rel.split("/")
        assert len(parts) <= 8, rel  # root is level 1: at most 7 directories below plus the file
        for part in parts:
            assert ISO_NAME.match(part), rel
        assert (root / rel).is_file()
    for rel in result.files:
        if rel.endswith((".JS", ".HTM", ".CSS")):
            (root / rel).read_bytes().decode("ascii")  # non-ASCII only as \\uXXXX or entities
    html = (root / "VIEWER/INDEX.HTM").read_text("ascii")
    assert '<meta charset="utf-8">' in html
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert (root / "VIEWER" / ref).is_file(), ref  # links match file-name case exactly
    assert '{"language": "fr"}' in html
    assert result.size == sum((root / rel).stat().st_size for rel in result.files)


def test_catalog_carries_names_and_series(written) -> None:  # type: ignore[no-untyped-def]
    root, _, _, _ = written
    text = (root / "VIEWER/DATA/INDEX.JS").read_text("ascii")
    assert text.startswith("DV.catalog(") and text.rstrip().endswith(");")
    catalog = json.loads(text.strip()[len("DV.catalog(") : -2])
    names = [p["name"] for p in catalog["patients"]]
    assert "Müller^Jürgen" in names and "Иванова^Мария" in names and "山田^太郎" in names
    kinds = sorted(se["kind"] for p in catalog["patients"] for st in p["studies"] for se in st["series"])
    assert kinds == ["doc", "image", "image", "image", "image", "image", "sr"]
    for p in catalog["patients"]:
        for st in p["studies"]:
            for se in st["series"]:
                if se["kind"] == "image":
                    assert se["thumb"].startswith("data:image/png;base64,")
                for i in range(len(se["chunks"])):
                    assert (root / f"VIEWER/DATA/{se['key']}/C{i + 1:07d}.JS").is_file()


def test_estimate_covers_what_is_written(written) -> None:  # type: ignore[no-untyped-def]
    _, _, result, estimate = written
    assert result.size <= estimate <= 2 * result.size + 300_000


def test_every_language_has_every_key() -> None:
    assert {"en", "fr", "de", "nl", "es", "it", "pt"} <= set(languages())

    def keys(code: str) -> set[str]:
        text = (STATIC / "I18N" / f"{code.upper()}.JS").read_text("ascii")
        return set(re.findall(r'^\s*"([a-z]+\.[A-Za-z.]+)":', text, re.M))

    english = keys("en")
    used = set(re.findall(r"""t\('([a-z]+\.[a-z.]+)'""", (STATIC / "VIEWER.JS").read_text()))
    used |= set(re.findall(r"""data-i18n(?:-title)?="([a-z.]+)\"""", (STATIC / "INDEX.HTM").read_text()))
    used |= {"preset.brain", "preset.lung", "preset.bone", "preset.abdomen"}
    assert used <= english, used - english
    for code in languages():
        assert keys(code) == english, (code, english ^ keys(code))


def test_unknown_language_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_viewer(DiscContent(), tmp_path, language="tlh")


def test_third_party_viewer_is_copied_beside(tmp_path: Path) -> None:
    other = tmp_path / "weasis"
    (other / "bin").mkdir(parents=True)
    (other / "bin" / "START.EXE").write_bytes(b"MZ")
    (other / "README.TXT").write_text("third party")
    root = tmp_path / "disc"
    result = write_viewer(DiscContent(), root, third_party_dir=ThirdPartyViewer(other, "WEASIS", "bin/START.EXE"))
    assert (root / "WEASIS/bin/START.EXE").read_bytes() == b"MZ"
    assert result.autorun_program == "WEASIS/bin/START.EXE"
    assert "WEASIS/README.TXT" in result.files
    plain = write_viewer(DiscContent(), tmp_path / "disc2", third_party_dir=other)
    assert "APPVIEW/README.TXT" in plain.files and plain.autorun_program is None
    with pytest.raises(ValueError):
        write_viewer(DiscContent(), tmp_path / "disc3", third_party_dir=ThirdPartyViewer(other, "my viewer"))


def test_unreadable_file_is_reported_not_fatal(tmp_path: Path) -> None:
    bad = tmp_path / "BAD"
    bad.write_bytes(b"not dicom")
    content = DiscContent(
        [Patient("P1", "Doe^Jane", studies=[Study("1.2.3", series=[Series("1.2.3.4", "CT", 1, instances=[
            Instance("DICOM/BAD", bad, "1.2.840.10008.5.1.4.1.1.2", "1.2.3.4.5", 1, 8, 8)
        ])])])]
    )
    result = write_viewer(content, tmp_path / "disc")
    assert len(result.skipped) == 1 and "DICOM/BAD" in result.skipped[0]
    assert "DV.catalog(" in (tmp_path / "disc/VIEWER/DATA/INDEX.JS").read_text()


def test_package_imports_nothing_from_publisher() -> None:
    code = "import sys, viewer_bundle; bad = [m for m in sys.modules if m.split('.')[0] == 'publisher']; assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
    for path in Path(__file__).resolve().parents[2].joinpath("viewer_bundle").rglob("*.py"):
        assert "publisher" not in re.sub(r'""".*?"""', "", path.read_text(), flags=re.S).replace("# ", ""), path


def test_colour_and_enhanced_references() -> None:
    from tests.support import viewer_builders as builders
    from viewer_bundle.reference import frame_info

    ybr = render_reference(as_file(builders.ybr_full()))
    assert ybr.shape == (48, 40, 3) and np.abs(ybr.astype(int) - builders.rgb_image()).max() <= 1
    pal = render_reference(as_file(builders.palette()))
    index = (np.mgrid[0:48, 0:40][1] * 5 + np.mgrid[0:48, 0:40][0] * 3) % 256
    assert np.array_equal(pal[..., 0], index) and np.array_equal(pal[..., 1], 255 - index)
    enh = as_file(builders.enhanced_ct())
    info = frame_info(enh, 2)
    assert (info.intercept, info.centers, info.widths, info.pixel_spacing) == (-1224.0, (300.0,), (1500.0,), (0.7, 0.7))
    stored = enh.pixel_array[2].astype(float)
    assert np.array_equal(render_reference(enh, 2), window_linear(stored - 1224, 300, 1500))
