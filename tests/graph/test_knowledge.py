"""The knowledge index on Chroma: idempotent by file hash, retrieval, and how a job finds its grounding."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agents.knowledge.readers import KnowledgeError
from agents.paths import PROMPTS_DIR
from agents.styles import builtin_styles, load_style_file
from graph.knowledge import KnowledgeIndex, knowledge_names, open_named, resolve_grounding
from graph.memory import open_client
from tests.fakes import RecordingEmbedder

BANK = PROMPTS_DIR / "knowledge" / "bank-cs"


def copy_bank(tmp_path: Path) -> Path:
    target = tmp_path / "card-rules"
    shutil.copytree(BANK, target)
    return target


def test_indexing_again_embeds_only_changed_files(tmp_path: Path) -> None:
    folder = copy_bank(tmp_path)
    embedder = RecordingEmbedder()
    index = KnowledgeIndex(open_client(tmp_path / "data"), "card-rules", embedder)
    first = index.index(folder)
    assert sorted(first.indexed) == ["billing.md", "card-services.md", "overdue.md", "points.md"]
    assert first.passages == index.count() > 12 and len(embedder.seen) == first.passages

    embedder.seen.clear()
    again = KnowledgeIndex(open_client(tmp_path / "data"), "card-rules", embedder).index(folder)
    assert again.indexed == [] and len(again.unchanged) == 4 and embedder.seen == []  # same hashes: no embedding

    (folder / "points.md").write_text("# 积分\n\n## 有效期\n积分有效期为三年。\n", encoding="utf-8")
    (folder / "card-services.md").unlink()
    changed = index.index(folder)
    assert changed.indexed == ["points.md"] and changed.removed == ["card-services.md"]
    assert embedder.seen == ["积分 > 有效期: 积分有效期为三年。"]
    assert {hit.passage.source for hit in index.search("挂失", 10)} <= {"billing.md", "overdue.md", "points.md"}


def test_search_finds_the_passage_that_answers(tmp_path: Path) -> None:
    index = KnowledgeIndex(open_client(tmp_path), "bank", RecordingEmbedder())
    index.index(copy_bank(tmp_path))
    top = index.search("逾期超过90天以上会怎样", 3)
    assert any("90天" in hit.passage.text for hit in top), [hit.passage.id for hit in top]
    assert top[0].similarity >= top[-1].similarity
    assert index.get([top[0].passage.id, "nope#1"]) == [top[0].passage]
    assert "逾期90天以上" in index.titles() and "积分有效期" in index.titles()


def test_names_are_listed_and_unknown_names_refused(tmp_path: Path) -> None:
    client = open_client(tmp_path)
    KnowledgeIndex(client, "bank", RecordingEmbedder()).index(copy_bank(tmp_path))
    assert knowledge_names(client) == ["bank"]
    with pytest.raises(KnowledgeError, match=r"unknown knowledge set 'other' \(indexed: bank\)"):
        open_named(client, "other", RecordingEmbedder())


def test_an_empty_set_is_refused(tmp_path: Path) -> None:
    (tmp_path / "blank.md").write_text("   \n\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"empty after chunking"):
        KnowledgeIndex(open_client(tmp_path / "d"), "blank", RecordingEmbedder()).index(tmp_path / "blank.md")


def test_the_shipped_bank_pack_is_grounded_in_its_invented_rules(tmp_path: Path) -> None:
    pack = builtin_styles()["bank-cs"]
    assert pack.knowledge is not None and pack.knowledge.grounding == "required"
    assert pack.knowledge_path() == BANK.resolve()
    grounding, report = resolve_grounding(open_client(tmp_path), RecordingEmbedder(), pack)
    assert grounding is not None and grounding.index.name == "bank-cs-example" and grounding.required
    assert report is not None and report.files == 4
    assert "虚构" in (BANK / "NOTICE").read_text(encoding="utf-8")


def test_a_job_grounding_comes_from_the_override_then_the_pack(tmp_path: Path) -> None:
    client, embedder = open_client(tmp_path), RecordingEmbedder()
    gentle = builtin_styles()["gentle"]
    assert resolve_grounding(client, embedder, gentle) == (None, None)
    folder = copy_bank(tmp_path)
    grounding, report = resolve_grounding(client, embedder, gentle, str(folder))
    assert grounding is not None and grounding.index.name == "card-rules" and report is not None
    by_name, none = resolve_grounding(client, embedder, gentle, "card-rules")
    assert by_name is not None and by_name.index.count() == grounding.index.count() and none is None
    with pytest.raises(KnowledgeError, match=r"knowledge file not found: docs/nope/"):
        resolve_grounding(client, embedder, gentle, "docs/nope/")
    with pytest.raises(KnowledgeError, match=r"unknown knowledge set 'nope'"):
        resolve_grounding(client, embedder, gentle, "nope")


def test_a_pack_sent_as_text_cannot_name_files(tmp_path: Path) -> None:
    pack_file = tmp_path / "mine.yaml"
    text = (PROMPTS_DIR / "styles" / "bank-cs.yaml").read_text(encoding="utf-8")
    pack_file.write_text(text.replace("../knowledge/bank-cs", str(BANK)), encoding="utf-8")
    assert load_style_file(pack_file).knowledge_path() == BANK
    from agents.styles import StylePackError, parse_style_pack

    with pytest.raises(StylePackError, match=r"knowledge.path is only allowed in a pack file"):
        parse_style_pack(text).knowledge_path()
