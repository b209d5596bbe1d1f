"""BibTeX handling: entries cut out verbatim, keys deduplicated, names and markup read."""

from __future__ import annotations

from facedata.bundle.bibtex import Name, names, parse, plain, render_bib, unique_entries

from .conftest import CKPLUS_BIB


def test_entries_are_cut_out_verbatim_with_nested_braces():
    entries = parse(CKPLUS_BIB)
    assert [e.key for e in entries] == ["lucey2010ckplus", "kanade2000comprehensive"]
    assert entries[0].text in CKPLUS_BIB
    assert entries[0].text.endswith("}") and "({CK+})" in entries[0].text
    assert entries[0].fields["pages"] == "94--101"
    assert entries[0].fields["title"].startswith("The Extended Cohn-Kanade Dataset ({CK+})")


def test_quoted_bare_and_concatenated_values():
    (e,) = parse('@article{k1, title = "A {B} c", year = 2020, note = "x" # {y}}')
    assert e.fields == {"title": "A {B} c", "year": "2020", "note": "xy"}


def test_duplicate_keys_keep_the_first_entry_only():
    again = CKPLUS_BIB.replace("CVPR Workshops", "a different copy")
    entries = unique_entries([CKPLUS_BIB, again, "@misc{Lucey2010CKPLUS, title={dup}}"])
    assert [e.key for e in entries] == ["lucey2010ckplus", "kanade2000comprehensive"]
    assert "a different copy" not in render_bib(entries)


def test_author_names_entities_and_others():
    got = names("{MPLab, UC San Diego} and Cohn, Jeffrey F. and Yann LeCun and others")
    assert got == [
        Name(entity="MPLab, UC San Diego"),
        Name(family="Cohn", given="Jeffrey F."),
        Name(family="LeCun", given="Yann"),
    ]


def test_plain_text_drops_markup():
    assert plain(r"fast\&frugal {OpenCV} \url{http://x.org}") == "fast&frugal OpenCV http://x.org"
