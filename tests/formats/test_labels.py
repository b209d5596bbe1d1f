"""The remap: heads only where annotated, derived smile flagged, drops counted."""

from __future__ import annotations

from facedata.label.remap import DropCounter, Labelled, remap
from facedata.manifest.schema import HeadMap, LabelSpec
from facedata.read.sample import Drop, FileImage, Sample

FER = LabelSpec(
    expression=HeadMap(codes={"3": "happy", "6": "neutral", "5": "surprise", "0": "anger"})
)
AFFECTNET = LabelSpec(
    expression=HeadMap(codes={"1": "happy"}, drop={"8": "None", "9": "Uncertain", "10": "No-Face"})
)
GENKI = LabelSpec(smile=HeadMap(codes={"1": 1, "0": 0}))


def _sample(**codes: str) -> Sample:
    return Sample("ds", "k.jpg", FileImage("k.jpg"), dict(codes), where="labels.txt:7")


def test_only_the_annotated_head_is_filled(taxonomy) -> None:
    out = remap(_sample(expression="3"), FER, taxonomy)
    assert isinstance(out, Labelled)
    assert (out.smile, out.expression, out.smile_derived) == (None, "happy", False)
    assert out.source_label == "expression=3"
    smile = remap(_sample(smile="1"), GENKI, taxonomy)
    assert isinstance(smile, Labelled) and (smile.smile, smile.expression) == (1, None)


def test_derived_smile_only_when_asked_and_flagged(taxonomy) -> None:
    happy = remap(_sample(expression="3"), FER, taxonomy, derive_smile=True)
    assert isinstance(happy, Labelled)
    assert (happy.smile, happy.smile_derived) == (1, True)
    assert happy.as_row()["smile_derived"] is True
    assert happy.counted() == {"smile_derived": "1", "expression": "happy"}
    neutral = remap(_sample(expression="6"), FER, taxonomy, derive_smile=True)
    assert isinstance(neutral, Labelled) and (neutral.smile, neutral.smile_derived) == (0, True)
    # surprise can come with or without a smile: left unknown, not guessed
    surprise = remap(_sample(expression="5"), FER, taxonomy, derive_smile=True)
    assert isinstance(surprise, Labelled)
    assert (surprise.smile, surprise.smile_derived) == (None, False)
    # an annotated smile is never overwritten or flagged
    both = LabelSpec(smile=GENKI.smile, expression=FER.expression)
    real = remap(_sample(smile="0", expression="3"), both, taxonomy, derive_smile=True)
    assert isinstance(real, Labelled) and (real.smile, real.smile_derived) == (0, False)


def test_manifest_smile_map_marked_derived_applies_only_when_asked(taxonomy) -> None:
    spec = LabelSpec(
        smile=HeadMap(codes={"happy": 1, "sad": 0}, derived=True),
        expression=HeadMap(codes={"happy": "happy", "sad": "sad"}),
    )
    plain = remap(_sample(smile="happy", expression="happy"), spec, taxonomy)
    assert isinstance(plain, Labelled) and plain.smile is None
    asked = remap(_sample(smile="happy", expression="happy"), spec, taxonomy, derive_smile=True)
    assert isinstance(asked, Labelled) and (asked.smile, asked.smile_derived) == (1, True)


def test_affectnet_8_to_10_dropped_with_reason(taxonomy) -> None:
    for code, why in (("8", "None"), ("9", "Uncertain"), ("10", "No-Face")):
        out = remap(_sample(expression=code), AFFECTNET, taxonomy)
        assert isinstance(out, Drop)
        assert out.reason == f"expression {code}: {why}"
        assert out.where == "labels.txt:7"


def test_unknown_code_is_a_counted_drop_naming_the_row(taxonomy) -> None:
    out = remap(_sample(expression="12"), FER, taxonomy)
    assert isinstance(out, Drop)
    assert out.reason == "unmapped expression code '12'"
    assert out.where == "labels.txt:7" and "k.jpg" in out.detail


def test_sample_without_any_code_is_dropped(taxonomy) -> None:
    out = remap(_sample(), FER, taxonomy)
    assert isinstance(out, Drop) and out.reason == "no label"


def test_drop_counter_counts_by_dataset_and_reason_with_examples() -> None:
    counter = DropCounter(examples=2)
    for n in range(5):
        counter.add(Drop("affectnet", "expression 8: None", f"training.csv:{n + 2}"))
    counter.add(Drop("genki4k", "missing image", "labels.txt:9"))
    assert counter.total == 6
    assert counter.by_reason("affectnet") == {"expression 8: None": 5}
    assert counter.to_dict() == {
        "total": 6,
        "drops": [
            {
                "dataset": "affectnet",
                "reason": "expression 8: None",
                "count": 5,
                "examples": ["training.csv:2", "training.csv:3"],
            },
            {
                "dataset": "genki4k",
                "reason": "missing image",
                "count": 1,
                "examples": ["labels.txt:9"],
            },
        ],
    }
