"""croissant.json: MLCommons Croissant 1.0 metadata, so ML tools can load the corpus.

Each Parquet shard is a FileObject with its sha256, so a copy can be verified file
by file; one FileSet over `data/*.parquet` feeds the record set, whose fields are
the schema's main columns, typed from the same definition the writer uses.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

import facedata.files.sanitize as sanitize
from facedata.bundle.bibtex import render_bib, unique_entries
from facedata.bundle.record import CorpusView
from facedata.corpus import DATA_DIR, SPLITS, columns, default_expressions
from facedata.manifest.schema import LICENSE_ID
from facedata.vocabulary import HEADS

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
PARQUET = "application/x-parquet"
FILE_SET = "parquet-files"
RECORD_SET = "faces"
SPLIT_SET = "splits"

# The standard Croissant 1.0 context; mlcroissant warns about any other.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

# The columns a trainer reads; list columns (bbox, landmarks) stay in the Parquet only.
MAIN_COLUMNS = (
    "image",
    *HEADS,
    "smile_derived",
    "source_label",
    "dataset",
    "split",
    "subject_id",
    "license_id",
    "license_tier",
    "official",
    "align_status",
    "label_by_convention",
    "landmarks_error",
    "det_score",
    "valence",
    "arousal",
    "sha256",
)
_COLUMNS = {c.name: c for c in columns(default_expressions())}


def _data_type(arrow: pa.DataType) -> str:
    if pa.types.is_struct(arrow):
        return "sc:ImageObject"
    if pa.types.is_boolean(arrow):
        return "sc:Boolean"
    if pa.types.is_integer(arrow):
        return "sc:Integer"
    if pa.types.is_floating(arrow):
        return "sc:Float"
    return "sc:Text"


def _field(column: str) -> dict[str, Any]:
    source: dict[str, Any] = {"fileSet": {"@id": FILE_SET}, "extract": {"column": column}}
    if column == "image":
        source["transform"] = {"jsonPath": "bytes"}
    out: dict[str, Any] = {
        "@type": "cr:Field",
        "@id": f"{RECORD_SET}/{column}",
        "name": column,
        "description": _COLUMNS[column].doc,
        "dataType": _data_type(_COLUMNS[column].arrow),
        "source": source,
    }
    if column == "split":
        out["references"] = {"field": {"@id": f"{SPLIT_SET}/name"}}
    return out


def _licenses(corpus: CorpusView) -> list[str]:
    """A URL where one is known, else the id: Croissant wants links, ids beat nothing."""
    out: list[str] = []
    for d in corpus.datasets:
        if sanitize.url(d.terms_url):
            value = str(d.terms_url)
        elif not LICENSE_ID.match(d.license_id):
            value = "LICENSES/README.md"  # a damaged record: point at the terms written out
        elif not d.license_id.startswith("LicenseRef-"):
            value = f"https://spdx.org/licenses/{d.license_id}.html"
        else:
            value = d.license_id
        if value not in out:
            out.append(value)
    return out


def _restrictions(corpus: CorpusView) -> list[str]:
    """The same restriction tags as the card; unknown permissions count as forbidden."""
    t = corpus.terms
    return [
        tag
        for tag, on in (
            ("non-commercial", t.noncommercial),
            ("no-derivatives", t.no_derivatives),
            ("no-redistribution", t.no_redistribution),
            ("share-alike", bool(t.share_alike)),
        )
        if on
    ]


def _splits(corpus: CorpusView) -> list[str]:
    present = {s.get("split") for s in corpus.shards} | set(corpus.counts.get("splits") or {})
    return [s for s in SPLITS if s in present] or list(SPLITS)


def _consent(corpus: CorpusView) -> str:
    """What is known of the subjects' consent, per input, with its scope."""
    parts = []
    for d in corpus.datasets:
        reg = corpus.consent.get(d.id)
        if isinstance(reg, dict):
            subjects = reg.get("subjects")
            parts.append(
                f"{d.id}: own recordings; each subject admitted only where the consent "
                f"register {reg.get('register')} (sha256 {reg.get('sha256')}) grants "
                f"{reg.get('purpose')} use on {reg.get('date')}"
                + (
                    f"; subjects by reason: {json.dumps(subjects, sort_keys=True)}"
                    if subjects
                    else ""
                )
            )
        else:
            parts.append(
                f"{d.id}: collected by its creators; consent and its scope are as their "
                f"terms state ({d.terms_url or d.license_id}), not recorded by facedata"
            )
    return "Consent: " + "; ".join(parts) + "." if parts else "Consent: no inputs."


def rai(corpus: CorpusView) -> dict[str, Any]:
    """The Croissant RAI fields that apply to a corpus of faces."""
    ids = ", ".join(d.id for d in corpus.datasets)
    own = [d.id for d in corpus.datasets if d.id in corpus.consent]
    kinds = ["Secondary Data Analysis"] if len(own) < len(corpus.datasets) else []
    if own:
        kinds.append("Direct Measurement")
    return {
        "rai:dataCollection": (
            f"Face images taken from existing datasets ({ids}), fetched from the sources "
            "recorded in corpus.json with each file's sha256; facedata collected no "
            "images itself except own recordings admitted through a consent register. "
            + _consent(corpus)
        ),
        "rai:dataCollectionType": kinds,
        "rai:dataCollectionRawData": (
            "The original images and label files of each input dataset, listed with their "
            "sha256 in corpus.json; they are not part of this corpus."
        ),
        "rai:dataPreprocessingProtocol": list(corpus.modifications),
        "rai:dataAnnotationProtocol": [
            "Labels are the input datasets' own annotations, remapped into one smile and "
            "expression schema; smile inferred from an emotion label is flagged "
            "(smile_derived) and the source label is kept (source_label)."
        ],
        "rai:personalSensitiveInformation": [
            "Facial images of identifiable people: biometric data when processed to "
            "identify a person (GDPR Art. 4(14), Art. 9).",
            "Facial expression labels, which may be read as emotional states.",
            "Pseudonymous subject ids (subject_id) linking images of one person.",
        ],
        "rai:dataUseCases": [
            "Training and evaluating smile and facial-expression classifiers "
            f"({corpus.purpose} use). " + corpus.terms.statement,
            "Inferring emotions from faces is an emotion recognition system under the EU AI "
            "Act (Art. 3(39)): high-risk (Annex III 1(c)) and prohibited in workplaces and "
            "education institutions (Art. 5(1)(f)); detecting a visible smile alone is not "
            "(recital 18).",
        ],
        "rai:dataLimitations": [
            "Posed and in-the-wild sources are mixed; label definitions differ by source "
            "and are mapped, not re-annotated.",
            "Only what each input's license and consent allow: see LICENSES/.",
        ],
        "rai:dataBiases": [
            "Age, sex, skin tone and culture follow each input's collection and are not "
            "balanced or measured by facedata."
        ],
        "rai:dataSocialImpact": (
            "Faces are personal data: use within the stated terms, honour withdrawals "
            "(`facedata forget`), and do not use the corpus to identify people."
        ),
        "rai:dataReleaseMaintenancePlan": (
            "Withdrawn subjects are removed with `facedata forget`, which rewrites the "
            "shards and this file; use the newest copy from its publisher."
        ),
    }


def _clean(value: Any) -> Any:
    """Every string in the document through the JSON-LD text policy."""
    return sanitize.each_string(value, sanitize.jsonld_text)


def document(corpus: CorpusView) -> dict[str, Any]:
    """The Croissant JSON-LD as a dict."""
    files: list[dict[str, Any]] = [
        {
            "@type": "cr:FileObject",
            "@id": shard["path"],
            "name": shard["path"],
            "description": f"{shard.get('rows', '?')} rows of split {shard.get('split', '?')}",
            "contentUrl": shard["path"],
            "contentSize": f"{shard['bytes']} B" if shard.get("bytes") is not None else None,
            "encodingFormat": PARQUET,
            "sha256": shard["sha256"],
        }
        for shard in corpus.shards
    ]
    files = [{k: v for k, v in f.items() if v is not None} for f in files]
    files.append(
        {
            "@type": "cr:FileSet",
            "@id": FILE_SET,
            "name": FILE_SET,
            "description": "Every Parquet shard of the corpus (the FileObjects above).",
            "encodingFormat": PARQUET,
            "includes": f"{DATA_DIR}/*.parquet",
        }
    )
    splits = _splits(corpus)
    citation = render_bib(unique_entries(d.citation for d in corpus.datasets))
    ids = ", ".join(d.id for d in corpus.datasets)
    description = (
        f"Aligned face images labelled for smile and facial expression, built with "
        f"facedata {corpus.tool.get('version', '')} from: {ids}. {corpus.terms.statement}"
    )
    if not corpus.built:
        description += " No data has been built yet: this describes the corpus a build writes."
    return _clean(
        {
            "@context": CONTEXT,
            "@type": "sc:Dataset",
            "name": corpus.name,
            "description": description,
            "conformsTo": CONFORMS_TO,
            "citeAs": citation,
            "license": _licenses(corpus),
            "datePublished": corpus.date,
            "version": "1.0.0",
            "keywords": [
                "face",
                "facial expression",
                "smile",
                "image classification",
                *_restrictions(corpus),
            ],
            "distribution": files,
            "recordSet": [
                {
                    "@type": "cr:RecordSet",
                    "@id": SPLIT_SET,
                    "name": SPLIT_SET,
                    "description": "The corpus's splits.",
                    "dataType": "cr:Split",
                    "key": {"@id": f"{SPLIT_SET}/name"},
                    "field": [
                        {
                            "@type": "cr:Field",
                            "@id": f"{SPLIT_SET}/name",
                            "name": "name",
                            "description": "The name of the split.",
                            "dataType": "sc:Text",
                        }
                    ],
                    "data": [{f"{SPLIT_SET}/name": s} for s in splits],
                },
                {
                    "@type": "cr:RecordSet",
                    "@id": RECORD_SET,
                    "name": RECORD_SET,
                    "description": "One aligned face per record, with its labels and provenance.",
                    "field": [_field(c) for c in MAIN_COLUMNS],
                },
            ],
            **rai(corpus),
        }
    )


def render(corpus: CorpusView) -> str:
    text = json.dumps(document(corpus), indent=2, ensure_ascii=False)
    return sanitize.jsonld_document(text) + "\n"
