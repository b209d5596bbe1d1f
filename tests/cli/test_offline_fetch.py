"""Without a connection, `fetch` leads with the network, not a later source's complaint."""

from __future__ import annotations

from facedata.paths import builtin_manifest_dir
from tests.helpers.cli import run_cli


def test_no_network_leads_and_the_kaggle_complaint_comes_under_it(tmp_path, monkeypatch, capsys):
    text = (builtin_manifest_dir() / "genki4k.yaml").read_text(encoding="utf-8")
    # a host that never resolves (RFC 2606 .invalid): offline, as far as this fetch knows
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "genki-offline.yaml").write_text(
        text.replace("id: genki4k", "id: genki-offline", 1).replace(
            "inc.ucsd.edu", "genki.invalid"
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))
    for var in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "FACEDATA_MIRROR"):
        monkeypatch.delenv(var, raising=False)
    res = run_cli(capsys, "fetch", "genki-offline", "--manifests", str(manifests))
    assert res.code == 1
    error = next(line for line in res.err.splitlines() if line.startswith("error:"))
    assert "does not resolve" in error and "Kaggle" not in error
    assert "no Kaggle credentials found" in res.err  # still listed, under it
    assert res.err.index("does not resolve") < res.err.index("no Kaggle credentials")
    assert "fetch genki-offline --from" in res.err
