"""Every FACEDATA_* variable is read through `settings`, per call (never cached)."""

from __future__ import annotations

import os

import pytest

from facedata import settings


def test_text_settings_are_read_per_call(monkeypatch):
    monkeypatch.setenv("FACEDATA_MIRROR", " http://127.0.0.1:8000/m/ ")
    assert settings.mirror() == "http://127.0.0.1:8000/m"
    monkeypatch.delenv("FACEDATA_MIRROR")
    assert settings.mirror() == ""


def test_folders_split_on_the_path_separator_and_skip_blanks(monkeypatch, tmp_path):
    monkeypatch.setenv("FACEDATA_MANIFESTS", f"{tmp_path / 'a'}{os.pathsep} {os.pathsep}{tmp_path}")
    assert settings.folders("FACEDATA_MANIFESTS") == [tmp_path / "a", tmp_path]


def test_detector_weight_files_are_settings(monkeypatch):
    monkeypatch.setenv("FACEDATA_RETINAFACE_R50", "/x/r50.pth")
    assert settings.text("FACEDATA_RETINAFACE_R50") == "/x/r50.pth"


def test_an_unlisted_name_is_a_programming_error():
    with pytest.raises(KeyError):
        settings.text("FACEDATA_NOT_A_SETTING")
    with pytest.raises(KeyError):
        settings.whole("FACEDATA_FETCH_DEADLINE")  # seconds may be fractional


def test_whole_numbers_come_back_as_int(monkeypatch):
    monkeypatch.setenv("FACEDATA_FETCH_MAX_BYTES", "1e6")
    got = settings.whole("FACEDATA_FETCH_MAX_BYTES")
    assert got == 1_000_000 and isinstance(got, int)
    monkeypatch.setenv("FACEDATA_FETCH_MAX_BYTES", "1.5")
    with pytest.raises(settings.SettingError, match="whole number of bytes"):
        settings.whole("FACEDATA_FETCH_MAX_BYTES")
