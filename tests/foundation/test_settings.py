"""The settings model: files and environment are read off the model, and what it does not
know is refused naming the file and the dotted key (issue 13, acceptance item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.config import ConfigError, environment_variables, load_settings
from publisher.labels import fonts
from publisher.service import configure_process


def _refused(tmp_path: Path, text: str) -> str:
    cfg = tmp_path / "site.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, environ={})
    return str(info.value)


def test_a_misspelt_key_is_refused_with_the_file_and_the_key(tmp_path: Path) -> None:
    message = _refused(tmp_path, "[dicom]\nmax_asociations = 4\n")
    assert message == f"config file {tmp_path / 'site.toml'}: unknown key dicom.max_asociations"
    assert "unknown key service.htp_port" in _refused(tmp_path, "[service]\nhtp_port = 1\n")
    assert "unknown key dicom.allowed_callers[0].service" in _refused(
        tmp_path, '[dicom]\nallowed_callers = [{ ae_title = "WS", service = ["find"] }]\n')
    assert "unknown key data_dir" in _refused(tmp_path, 'data_dir = "x"\n')  # outside any table


def test_an_unknown_section_is_refused_with_the_file(tmp_path: Path) -> None:
    message = _refused(tmp_path, "[media]\nkind = \"cd\"\n")
    assert message == f"config file {tmp_path / 'site.toml'}: unknown section [media]"
    assert "unknown key labels.font_dir" in _refused(tmp_path, '[labels]\nfont_dir = ["/x"]\n')


@pytest.mark.parametrize("text,message", [
    ('[dicom]\nport = "104"\n', "dicom.port is an integer, not '104'"),
    ("[dicom]\npromiscuous = 1\n", "dicom.promiscuous is true or false, not 1"),
    ("[jobs]\ntick_seconds = true\n", "jobs.tick_seconds is a number, not True"),
    ("[service]\ndata_dir = 3\n", "data_dir is a path (a string), not 3"),
    ('[dicom]\nprivate_sop_classes = "1.2.3"\n', "dicom.private_sop_classes is a list of strings"),
    ('[dicom]\nduplicate_policy = "sometimes"\n', "dicom.duplicate_policy is one of keep-first, replace, reject"),
    ('[dicom]\nremotes = [{ ae_title = "P", host = "h" }]\n', "dicom.remotes[0] needs a port"),
])
def test_a_wrong_type_names_the_key_and_the_type(tmp_path: Path, text: str, message: str) -> None:
    assert message in _refused(tmp_path, text)


def test_environment_overrides_are_derived_from_the_model(tmp_path: Path) -> None:
    names = environment_variables()
    # no table listed these before: every field has its PUBLISHER_<TABLE>_<KEY>
    assert names["PUBLISHER_JOBS_RUN_QUEUED"] == "jobs.run_queued"
    assert names["PUBLISHER_DICOM_REQUEST_TIMEOUT"] == "dicom.request_timeout"
    assert names["PUBLISHER_INSTITUTION"] == "institution"
    s = load_settings(environ={"PUBLISHER_JOBS_RUN_QUEUED": "no", "PUBLISHER_DICOM_REQUEST_TIMEOUT": "2.5",
                               "PUBLISHER_INSTITUTION": "Klinik Nord", "PUBLISHER_DICOM_PRIVATE_SOP_CLASSES": "1.2.3, 1.2.4"})
    assert (s.jobs.run_queued, s.dicom.request_timeout, s.institution) == (False, 2.5, "Klinik Nord")
    assert s.dicom.private_sop_classes == ("1.2.3", "1.2.4")
    # the names of earlier releases still work, and the table's own name wins over the short one
    assert load_settings(environ={"PUBLISHER_AE_TITLE": "OLD"}).dicom.ae_title == "OLD"
    assert load_settings(environ={"PUBLISHER_AE_TITLE": "OLD", "PUBLISHER_DICOM_AE_TITLE": "NEW"}).dicom.ae_title == "NEW"
    with pytest.raises(ConfigError, match="environment PUBLISHER_DICOM_PORT: dicom.port is an integer, not 'x'"):
        load_settings(environ={"PUBLISHER_DICOM_PORT": "x"})


def test_demo_studies_are_off_unless_asked() -> None:
    assert load_settings(environ={}).load_samples is False
    assert load_settings(environ={"PUBLISHER_LOAD_SAMPLES": "true"}).load_samples is True  # what make run sets
    assert "PUBLISHER_LOAD_SAMPLES=true" in (Path(__file__).resolve().parents[2] / "Makefile").read_text()


def test_label_font_dirs_come_from_the_settings(tmp_path: Path) -> None:
    face = fonts.chain("regular")[0]
    real = fonts.find_font_file(face)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / face.file).write_bytes(real.read_bytes())
    cfg = tmp_path / "site.toml"
    cfg.write_text(f'[labels]\nfont_dirs = ["{tmp_path / "nowhere"}", "{tmp_path / "a"}"]\n', encoding="utf-8")
    assert load_settings(cfg, environ={}).labels.font_dirs == (tmp_path / "nowhere", tmp_path / "a")
    legacy = load_settings(environ={"LABEL_FONT_DIRS": f"{tmp_path / 'b'}:{tmp_path / 'a'}"})
    assert legacy.labels.font_dirs == (tmp_path / "b", tmp_path / "a")
    try:
        configure_process(legacy)
        assert fonts.find_font_file(face) == tmp_path / "a" / face.file
    finally:
        fonts.configure(())
    assert fonts.find_font_file(face) == real
