"""The unified label set: two heads, `smile` and `expression`, kept apart on purpose.

"Happy" is an emotion judgement; "smiling" is a visible mouth shape. Many people
smile without being happy and vice versa, so a smile detector trained on relabelled
"happy" images learns the wrong thing. The taxonomy lists emotion words so the
manifest checker can refuse a smile map built from them unless it is marked derived.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from facedata.errors import ManifestError
from facedata.files.yamlfile import describe_validation_error, load_yaml
from facedata.paths import builtin_manifest_dir


class Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    expressions: list[str] = Field(min_length=1)
    smile_values: list[int] = [0, 1]
    emotion_words: list[str] = Field(default_factory=list)
    smile_derivation: dict[str, int] = Field(
        default_factory=dict, description="expression -> smile, used only when asked for"
    )
    descriptions: dict[str, str] = Field(default_factory=dict)

    def names_emotion(self, code: str) -> bool:
        word = code.strip().lower()
        return word in self.expressions or word in self.emotion_words


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    path = path or builtin_manifest_dir() / "taxonomy.yaml"
    doc = load_yaml(path)
    try:
        tax = Taxonomy.model_validate(doc.data)
    except ValidationError as exc:
        raise describe_validation_error(doc, exc, "taxonomy") from None
    unknown = sorted(set(tax.smile_derivation) - set(tax.expressions))
    if unknown:
        raise ManifestError(f"{path}: smile_derivation names unknown expressions: {unknown}")
    return tax
