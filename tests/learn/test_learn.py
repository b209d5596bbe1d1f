"""The consumer side: PyTorch datasets, `facedata train`, `facedata predict`, ONNX."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus
from tests.helpers.extras import needs, optional
from tests.helpers.photos import face_variant

torch = optional("torch")
ort = optional("onnxruntime")
onnx = optional("onnx")

pytestmark = needs("torch", "onnxruntime", "onnx")


def _write_video(path: Path, frames: int = 6, fps: int = 2) -> None:
    import av

    with av.open(str(path), "w") as c:
        stream = c.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
        stream.width = stream.height = 192
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            for packet in stream.encode(av.VideoFrame.from_image(face_variant(i, (192, 192)))):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)


def test_train_then_predict_end_to_end(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=40, size=32)
    out = tmp_path / "model"
    res = run_cli(
        capsys,
        "train",
        str(corpus),
        "--out",
        str(out),
        "--epochs",
        "20",
        "--batch-size",
        "8",
        "--width",
        "8",
        "--lr",
        "3e-3",
        "--threads",
        "1",
    )
    assert res.code == 0, res.err
    assert "epoch 20:" in res.out and "wrote model.onnx" in res.out
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",  # the model card: the model's terms and lineage
        "metrics.json",
        "model.onnx",
        "model.pt",
        "training.png",
    ]
    m = json.loads((out / "metrics.json").read_text())
    for head in ("smile", "expression"):  # training lowered the loss on both heads
        assert m["train_loss_after"][head] < m["train_loss_before"][head], m
    assert len(m["history"]) == 20 and m["steps"] == 20 * 4
    val = m["validation"]
    assert val["expression"]["rows"] == 4  # the fixture's validation rows all carry expression
    assert np.asarray(val["expression"]["confusion"]).shape == (8, 8)
    assert m["labels"]["expression"][-1] == "contempt" and m["image"]["size"] == 32
    assert (out / "training.png").read_bytes()[:4] == b"\x89PNG"

    # ONNX carries its label maps; onnxruntime and `predict` (PyTorch weights) agree
    sess = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    assert json.loads(meta["facedata.labels"])["smile"] == ["no_smile", "smile"]
    from facedata.learn.predict import Model

    crop = tmp_path / "face.png"
    from tests.helpers.corpus import aligned_face

    aligned_face(3, 32).save(crop)
    res = run_cli(capsys, "predict", str(out / "model.pt"), str(crop), "--whole-frame", "--json")
    assert res.code == 0, res.err
    by_torch = json.loads(res.out)
    x = Model(out / "model.onnx").array(aligned_face(3, 32))[None]
    smile, expr = sess.run(None, {"image": x})
    assert by_torch["smile"] == pytest.approx(float(smile[0]), abs=1e-4)
    names = m["labels"]["expression"]
    assert [by_torch["expression"][n] for n in names] == pytest.approx(expr[0].tolist(), abs=1e-4)

    # the readout, on a photo whose face must be found and aligned first
    photo = tmp_path / "photo.jpg"
    face_variant(1, (240, 240)).save(photo)
    res = run_cli(capsys, "predict", str(out), str(photo), "--threshold", "0.8")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0].startswith("smile:") and lines[0].rstrip().endswith("threshold 0.80")
    assert [ln.split(":")[0] for ln in lines[1:9]] and len(lines) == 10
    assert {ln.split(":")[0] for ln in lines[1:9]} == set(names)
    percents = [float(ln.split()[1].rstrip("%")) for ln in lines[1:9]]
    assert percents == sorted(percents, reverse=True) and sum(percents) == pytest.approx(100, 0.01)
    smile_pct = float(lines[0].split()[1].rstrip("%"))
    verdict = "SMILING (at or above" if smile_pct >= 80 else "NOT SMILING (below"
    assert lines[-1].startswith(f"verdict: {verdict}")

    # video: one line per sampled frame, then a summary with the same readout
    video = tmp_path / "clip.mp4"
    _write_video(video)
    res = run_cli(capsys, "predict", str(out), str(video), "--fps", "2")
    assert res.code == 0, res.err
    frames = [ln for ln in res.out.splitlines() if ln.startswith("t=")]
    assert len(frames) == 6, res.out
    assert "summary: 6 frames sampled, 6 with a face" in res.out
    assert res.out.splitlines()[-1].startswith("verdict:")


def test_streaming_reads_every_row_once_split_over_workers(tmp_path):
    from facedata.learn.dataset import load

    make_corpus(tmp_path / "c", n=60, size=32, shard_rows=8)
    mapped = load(tmp_path / "c", "train")
    stream = load(tmp_path / "c", "train", streaming=True, shuffle=True, buffer=4, seed=1)
    assert len(stream) == len(mapped) and len(stream.shards) > 2

    def labels(loader):
        out = []
        for b in loader:
            out += list(zip(b["smile"].tolist(), b["expression"].tolist(), strict=True))
        return out

    loader = torch.utils.data.DataLoader(stream, batch_size=5, num_workers=2)
    first = labels(loader)
    want = sorted(zip(mapped.smile.tolist(), mapped.expression.tolist(), strict=True))
    assert sorted(first) == want  # every row once, across two workers
    stream.set_epoch(1)
    assert labels(loader) != first  # a new epoch, a new order
    batch = next(iter(torch.utils.data.DataLoader(mapped, batch_size=7)))
    assert batch["image"].shape == (7, 3, 32, 32)


def test_transform_hook_and_grey_corpus(tmp_path):
    from facedata.learn.dataset import load

    make_corpus(tmp_path / "g", n=20, size=32, mode="L")
    ds = load(tmp_path / "g", "train", transform=lambda img: torch.tensor(img.size))
    assert ds[0]["image"].tolist() == [32, 32]
    assert load(tmp_path / "g", "train")[0]["image"].shape == (1, 32, 32)


def test_streaming_training_runs_and_stops_at_max_steps(tmp_path, capsys):
    make_corpus(tmp_path / "c", n=30, size=32, shard_rows=8)
    res = run_cli(
        capsys, "train", str(tmp_path / "c"), "--out", str(tmp_path / "m"), "--streaming",
        "--max-steps", "3", "--width", "4", "--batch-size", "4", "--threads", "1",
    )  # fmt: skip
    assert res.code == 0, res.err
    m = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert m["steps"] == 3 and m["config"]["streaming"] is True


def test_bad_inputs_are_clean_errors(tmp_path, capsys):
    res = run_cli(capsys, "train", str(tmp_path), "--out", str(tmp_path / "m"))
    assert res.code == 1 and "not a facedata corpus" in res.err and "hint:" in res.err
    make_corpus(tmp_path / "c", n=12, size=32)
    keep = tmp_path / "thesis"
    keep.mkdir()
    (keep / "draft.tex").write_text("precious")
    res = run_cli(capsys, "train", str(tmp_path / "c"), "--out", str(keep))
    assert res.code == 1 and "not a facedata model folder" in res.err
    assert (keep / "draft.tex").read_text() == "precious"
    fake = tmp_path / "fake.onnx"
    fake.write_bytes(b"not a model")
    img = tmp_path / "x.png"
    face_variant(0, (64, 64)).save(img)
    res = run_cli(capsys, "predict", str(fake), str(img))
    assert res.code == 1 and "not a facedata model" in res.err and "Traceback" not in res.err
    fake_pt = tmp_path / "fake.pt"
    fake_pt.write_bytes(b"PK not a zip")
    res = run_cli(capsys, "predict", str(fake_pt), str(img))
    assert res.code == 1 and "not a facedata model" in res.err
    res = run_cli(capsys, "predict", str(tmp_path / "nothing"), str(img))
    assert res.code == 1 and "no model at" in res.err
    res = run_cli(capsys, "predict", str(fake), str(img), "--threshold", "2")
    assert res.code == 1 and "not a probability" in res.err


def test_a_head_without_training_labels_is_not_shown_as_a_prediction(tmp_path, capsys):
    from tests.helpers.corpus import SMILE_SET, aligned_face

    make_corpus(tmp_path / "c", n=20, size=32, datasets=(SMILE_SET,))
    out = tmp_path / "m"
    res = run_cli(
        capsys, "train", str(tmp_path / "c"), "--out", str(out), "--epochs", "1",
        "--width", "4", "--batch-size", "8", "--threads", "1",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert json.loads((out / "metrics.json").read_text())["trained_heads"] == ["smile"]
    crop = tmp_path / "face.png"
    aligned_face(2, 32).save(crop)
    res = run_cli(capsys, "predict", str(out), str(crop), "--whole-frame")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0].startswith("smile:")
    assert lines[1].startswith("expression:") and "not trained" in lines[1]
    assert len(lines) == 3 and lines[2].startswith("verdict:")
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    res = run_cli(capsys, "predict", str(out), str(notes))
    assert res.code == 1 and "not an image facedata can read" in res.err and "hint:" in res.err


def test_without_a_validation_split_whole_subjects_are_held_out(tmp_path, capsys):
    root = tmp_path / "c"
    corpus = make_corpus(root, n=60, size=32)
    for shard in [s for s in corpus["shards"] if s["split"] == "validation"]:
        (root / shard["path"]).unlink()
    corpus["shards"] = [s for s in corpus["shards"] if s["split"] != "validation"]
    (root / "corpus.json").write_text(json.dumps(corpus))
    res = run_cli(
        capsys, "train", str(root), "--out", str(tmp_path / "m"), "--max-steps", "1",
        "--width", "4", "--batch-size", "8", "--threads", "1",
    )  # fmt: skip
    assert res.code == 0, res.err
    m = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert m["corpus"]["validation"] == "10% of train subjects held out"
    rows = m["corpus"]["rows"]
    assert rows["validation"] > 0 and rows["train"] + rows["validation"] == 42
    # the held-out rows are whole subjects: none of them is also in train
    from facedata.learn.dataset import load
    from facedata.learn.train import TrainConfig, _datasets

    train, val, _ = _datasets(root, TrainConfig())
    base = load(root, "train")
    train_subjects = {base.subject_id[i] for i in train.indices}
    assert not train_subjects & {base.subject_id[i] for i in val.indices}
