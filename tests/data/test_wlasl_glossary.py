"""Glossaries: the packaged core-320, the WLASL100/300 presets, and checking user files."""

from __future__ import annotations

import json
import re

import pytest

from signdesk.data.glossary import (
    GlossaryError,
    check_glossary,
    glossaries_dir,
    parse_glossary,
    read_glossary_file,
    resolve_glossary,
)
from signdesk.data.index import load_index

CATEGORIES = ("Pronouns", "Basic Verbs", "Modal Verbs", "Time Words", "People & Roles", "Places",
              "Objects & Things", "Common Nouns", "Actions / Movement", "Feelings", "Descriptors", "Colors",
              "Quantities", "Question Words", "Connectors")


@pytest.fixture(scope="module")
def real_index(shared_data):
    return load_index(shared_data / "wlasl" / "WLASL_v0.3.json")


def test_core_320_has_320_distinct_glosses_in_every_category_and_the_courtesy_words():
    glossary = resolve_glossary("core-320")
    assert len(glossary) == 320
    assert len(set(glossary.glosses)) == 320
    for word in ("hello", "yes", "no", "please", "thank you", "sorry"):
        assert word in glossary.glosses
    headers = re.findall(r"^# (.+) \((\d+)\)$", (glossaries_dir() / "core-320.txt").read_text(), re.M)
    names = [name for name, _ in headers]
    assert set(CATEGORIES) <= set(names)
    assert sum(int(n) for _, n in headers) == 320  # every line sits under a counted heading


def test_core_320_is_all_wlasl_glosses_in_wlasl_spelling(real_index):
    check = check_glossary(resolve_glossary("core-320"), real_index)
    assert check.ok, check.describe_unknown()
    assert not check.respelled  # written exactly as WLASL spells them


def test_core_320_replaces_exactly_the_37_words_that_are_not_wlasl_glosses(shared_data, real_index):
    published = json.loads((shared_data / "wlasl" / "okeha_glossary_319_vs_wlasl.json").read_text())
    missing = {e["word"] for e in published["entries"] if e["wlasl_gloss"] is None}
    found = {e["wlasl_gloss"] for e in published["entries"] if e["wlasl_gloss"]}
    assert len(missing) == 37
    text = (glossaries_dir() / "core-320.txt").read_text()
    replaced = set(re.findall(r"(?:replaces|also stands for) ([A-Z][A-Z'-]*)", text))
    assert replaced == missing
    glossary = resolve_glossary("core-320")
    assert found <= set(glossary.glosses)  # every published word that WLASL has is kept


def test_presets_are_the_first_k_glosses_and_match_the_official_i3d_subsets(shared_data, real_index):
    for k in (100, 300):
        preset = resolve_glossary(f"WLASL{k}", real_index)
        assert len(preset) == k
        assert list(preset.glosses) == real_index.glosses[:k]
        nslt = json.loads((shared_data / "wlasl" / "i3d_splits" / f"nslt_{k}.json").read_text())
        assert {v["action"][0] for v in nslt.values()} == set(range(k))
        ours = {i.video_id for i in real_index.instances_of(list(preset.glosses))}
        theirs = {vid for vid in nslt if vid in real_index.by_video_id}
        assert ours == theirs
        for vid in theirs:  # same class and split as the official files
            inst = real_index.by_video_id[vid]
            assert (inst.class_index, inst.split) == (nslt[vid]["action"][0], nslt[vid]["subset"])
    assert len(real_index.instances_of(list(resolve_glossary("wlasl100", real_index).glosses))) == 2038


def test_a_preset_needs_the_index():
    with pytest.raises(GlossaryError, match="give the index with --wlasl"):
        resolve_glossary("WLASL100")


def test_user_files_allow_comments_and_blank_lines_and_refuse_repeats(wl, tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("\ufeff# my words\nbook   # a comment\n\n  thank-you  \nDRINK\n")
    glossary = read_glossary_file(path)
    assert glossary.glosses == ("book", "thank-you", "DRINK")
    assert glossary.lines == (2, 4, 5)
    # a repeat is kept once and reported (with the other problems) by the check; a dataset refuses it
    repeated = parse_glossary("book\n# x\nBook\n", "x", "x.txt")
    assert repeated.glosses == ("book",) and repeated.duplicates == ((3, "Book", 1),)
    check = check_glossary(repeated, wl.make_index({"book": []}))
    assert not check.ok
    with pytest.raises(GlossaryError, match=r"line 3: 'Book' repeats line 1"):
        check.matched_glossary()
    with pytest.raises(GlossaryError, match="empty"):
        parse_glossary("# nothing\n\n", "x", "x.txt")
    with pytest.raises(GlossaryError, match="unknown glossary"):
        resolve_glossary("no-such-glossary")


def test_checking_a_user_glossary_lists_unknown_words_with_suggestions(wl, tmp_path):
    index = wl.make_index({g: [] for g in ("book", "thank you", "drink", "computer")})
    path = tmp_path / "mine.txt"
    path.write_text("Thank_You\nbook\ncomputr\nspaceship\n")
    check = check_glossary(read_glossary_file(path), index)
    assert check.matched == ["thank you", "book"]
    assert check.respelled == [("Thank_You", "thank you")]
    assert [(line, word) for line, word, _ in check.unknown] == [(3, "computr"), (4, "spaceship")]
    assert check.unknown[0][2] == ["computer"] and check.unknown[1][2] == []
    with pytest.raises(GlossaryError) as err:
        check.matched_glossary()
    message = str(err.value)
    assert "2 of 4 words are not WLASL glosses" in message
    assert "line 3: 'computr' (did you mean 'computer'?)" in message and "\n" not in message
    path.write_text("THANK YOU\nbook\n")
    assert check_glossary(read_glossary_file(path), index).matched_glossary().glosses == ("thank you", "book")
