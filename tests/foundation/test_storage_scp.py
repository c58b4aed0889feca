"""Storage SCP against DCMTK: echo, every transfer syntax stored as received, access control."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydicom import dcmread
from sqlalchemy import func, select

from publisher.demo import samples
from publisher.archive.parse import inflate
from publisher.db.models import Instance
from tests.support.tools import require_tool
from tests.support.service import DCMTK_ENV, running_service, settings_for, storescu


def _study(tmp: Path, count: int = 3) -> list[Path]:
    spec = samples.StudySpec(
        samples.LATIN1_PATIENT, "ts", "Transfer syntaxes",
        series=(samples.SeriesSpec("mr", count, 1, "MR", 64, 64),),
    )
    return samples.write_study(spec, tmp / "native")


def _convert(tool: list[str], files: list[Path], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for f in files:
        target = out / f.name
        if tool[0] == "pydicom":  # JPEG 2000 lossless through pylibjpeg-openjpeg
            ds = dcmread(f)
            ds.compress(tool[1])
            ds.save_as(target, enforce_file_format=True)
            made.append(target)
            continue
        subprocess.run([*tool, str(f), str(target)], check=True, capture_output=True, env=DCMTK_ENV)
        made.append(target)
    return made


def _dataset_after_meta(path: Path) -> bytes:
    from publisher.dicomio.part10 import meta_end

    data = path.read_bytes()
    return data[meta_end(data):]


def test_echo(tmp_path: Path, sqlite_url: str) -> None:
    require_tool("echoscu")
    with running_service(settings_for(tmp_path, sqlite_url)) as svc:
        r = subprocess.run(["echoscu", "-aet", "ECHOSCU", "-aec", "DISCPUB", "127.0.0.1", str(svc.settings.dicom.port)],
                           capture_output=True, text=True, env=DCMTK_ENV)
        assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "name,tool,ts",
    [
        ("explicit-le", None, "1.2.840.10008.1.2.1"),
        ("implicit-le", ["dcmconv", "+ti"], "1.2.840.10008.1.2"),
        ("explicit-be", ["dcmconv", "+tb"], "1.2.840.10008.1.2.2"),
        ("deflated", ["dcmconv", "+td"], "1.2.840.10008.1.2.1.99"),
        ("jpeg-lossless-sv1", ["dcmcjpeg", "+e1"], "1.2.840.10008.1.2.4.70"),
        ("jpeg-lossless", ["dcmcjpeg", "+el"], "1.2.840.10008.1.2.4.57"),
        ("jpeg-extended", ["dcmcjpeg", "+ee"], "1.2.840.10008.1.2.4.51"),
        ("jpeg-ls-lossless", ["dcmcjpls", "+el"], "1.2.840.10008.1.2.4.80"),
        ("jpeg-ls-near", ["dcmcjpls", "+en"], "1.2.840.10008.1.2.4.81"),
        ("rle", ["dcmcrle"], "1.2.840.10008.1.2.5"),
        ("jpeg2000-lossless", ["pydicom", "1.2.840.10008.1.2.4.90"], "1.2.840.10008.1.2.4.90"),
    ],
)
def test_storescu_stores_every_transfer_syntax_as_received(tmp_path: Path, sqlite_url: str, name: str, tool: list[str] | None, ts: str) -> None:
    require_tool("storescu", "dcmconv", "dcmcjpeg", "dcmcjpls", "dcmcrle")
    files = _study(tmp_path)
    if tool:
        files = _convert(tool, files, tmp_path / name)
    assert str(dcmread(files[0], stop_before_pixels=True).file_meta.TransferSyntaxUID) == ts
    settings = settings_for(tmp_path / "svc", sqlite_url)
    with running_service(settings) as svc:
        # storescu proposes exactly the file's own syntax (association profile file), so what
        # we receive is the file's dataset bytes.
        cfg = tmp_path / "storescu.cfg"
        cfg.write_text(
            "[[TransferSyntaxes]]\n[Only]\nTransferSyntax1 = " + ts + "\n"
            "[[PresentationContexts]]\n[Ctx]\nPresentationContext1 = " + str(samples.MR_IMAGE) + "\\Only\n"
            "[[Profiles]]\n[Test]\nPresentationContexts = Ctx\n"
        )
        r = storescu(settings.dicom.port, files, "-xf", str(cfg), "Test")
        assert r.returncode == 0, r.stderr + r.stdout
        with svc.db.session() as s:
            rows = s.execute(select(Instance.sop_instance_uid, Instance.path, Instance.transfer_syntax_uid)).all()
    assert len(rows) == len(files)
    stored = {uid: (settings.archive_root / path, syntax) for uid, path, syntax in rows}
    for f in files:
        src = dcmread(f, stop_before_pixels=True)
        path, syntax = stored[str(src.SOPInstanceUID)]
        assert syntax == ts
        ours = dcmread(path, stop_before_pixels=True)
        assert str(ours.file_meta.TransferSyntaxUID) == ts
        assert ours.file_meta.MediaStorageSOPInstanceUID == src.SOPInstanceUID
        # Byte for byte: the dataset after the File Meta group is exactly the sender's. A
        # deflated stream travels padded to even length (PS3.5 A.5), so compare it inflated.
        if name == "deflated":
            assert inflate(_dataset_after_meta(path)) == inflate(_dataset_after_meta(f))
        else:
            assert _dataset_after_meta(path) == _dataset_after_meta(f)
        assert bytes(dcmread(path).PixelData) == bytes(dcmread(f).PixelData)


def test_jpeg2000_and_every_seed_sop_class_is_negotiable(tmp_path: Path, sqlite_url: str) -> None:
    """Every storage SOP class of the seed statements is offered in every listed syntax."""
    from pynetdicom import AE

    from publisher.dicom.sop_classes import STORAGE_SOP_CLASSES, TRANSFER_SYNTAXES

    settings = settings_for(tmp_path, sqlite_url)
    with running_service(settings):
        classes = [uid for uid, _ in STORAGE_SOP_CLASSES]
        accepted: set[tuple[str, str]] = set()
        for ts, _ in TRANSFER_SYNTAXES:
            for start in range(0, len(classes), 120):
                ae = AE(ae_title="PYNETDICOM")
                for uid in classes[start:start + 120]:
                    ae.add_requested_context(uid, [ts])
                assoc = ae.associate("127.0.0.1", settings.dicom.port, ae_title="DISCPUB")
                assert assoc.is_established
                accepted |= {(cx.abstract_syntax, cx.transfer_syntax[0]) for cx in assoc.accepted_contexts}
                assoc.release()
        missing = {(c, t) for c in classes for t, _ in TRANSFER_SYNTAXES} - accepted
        assert not missing, sorted(missing)[:5]


def test_unknown_caller_rejected_and_promiscuous_accepts(tmp_path: Path, sqlite_url: str) -> None:
    require_tool("echoscu")
    args = ["echoscu", "-aet", "STRANGER", "-aec", "DISCPUB", "127.0.0.1"]
    with running_service(settings_for(tmp_path / "a", sqlite_url)) as svc:
        r = subprocess.run([*args, str(svc.settings.dicom.port)], capture_output=True, text=True, env=DCMTK_ENV)
        assert r.returncode != 0
        assert "Calling AE Title Not Recognized" in r.stderr + r.stdout
        r = subprocess.run(["echoscu", "-aet", "ECHOSCU", "-aec", "OTHER", "127.0.0.1", str(svc.settings.dicom.port)],
                           capture_output=True, text=True, env=DCMTK_ENV)
        assert "Called AE Title Not Recognized" in r.stderr + r.stdout
    promiscuous = settings_for(tmp_path / "b", f"sqlite:///{tmp_path / 'b.db'}", promiscuous=True)
    with running_service(promiscuous) as svc:
        r = subprocess.run([*args, str(svc.settings.dicom.port)], capture_output=True, text=True, env=DCMTK_ENV)
        assert r.returncode == 0, r.stderr


def test_allow_list_entry_pinned_to_an_address(tmp_path: Path, sqlite_url: str) -> None:
    require_tool("echoscu")
    from publisher.config import AllowedCaller

    pinned = (AllowedCaller("MODALITY", "10.9.9.9"), AllowedCaller("LOCALMOD", "127.0.0.1"))
    with running_service(settings_for(tmp_path, sqlite_url, allowed_callers=pinned)) as svc:
        port = str(svc.settings.dicom.port)
        bad = subprocess.run(["echoscu", "-aet", "MODALITY", "-aec", "DISCPUB", "127.0.0.1", port], capture_output=True, text=True)
        good = subprocess.run(["echoscu", "-aet", "LOCALMOD", "-aec", "DISCPUB", "127.0.0.1", port], capture_output=True, text=True)
    assert bad.returncode != 0 and "Calling AE Title Not Recognized" in bad.stderr + bad.stdout
    assert good.returncode == 0, good.stderr


def test_instance_count_matches(tmp_path: Path, sqlite_url: str) -> None:
    require_tool("storescu")
    files = _study(tmp_path, 5)
    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as svc:
        assert storescu(svc.settings.dicom.port, files).returncode == 0
        with svc.db.session() as s:
            assert s.scalar(select(func.count(Instance.id))) == 5


def test_private_sop_class_accepted_only_when_configured(tmp_path: Path, sqlite_url: str) -> None:
    """A vendor's private storage class (here Philips private MR) needs dicom.private_sop_classes."""
    from pynetdicom import AE

    private = "1.3.46.670589.11.0.0.12.1"
    ds = dcmread(_study(tmp_path, 1)[0])
    ds.SOPClassUID = private
    ds.file_meta.MediaStorageSOPClassUID = private

    def send(port: int) -> int | None:
        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context(private, ["1.2.840.10008.1.2.1"])
        assoc = ae.associate("127.0.0.1", port, ae_title="DISCPUB")
        try:
            if not assoc.accepted_contexts:
                return None
            return int(assoc.send_c_store(ds).Status)
        finally:
            assoc.release()

    with running_service(settings_for(tmp_path / "a", sqlite_url)) as svc:
        assert send(svc.settings.dicom.port) is None  # context rejected
    with running_service(settings_for(tmp_path / "b", f"sqlite:///{tmp_path / 'b.db'}", private_sop_classes=(private,))) as svc:
        assert send(svc.settings.dicom.port) == 0
        with svc.db.session() as s:
            assert s.scalar(select(Instance.sop_class_uid)) == private
