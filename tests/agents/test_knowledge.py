"""Knowledge files: readers per kind, sentence-aware chunking (zh and en), and the grounding check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.grounding import check_grounding, stated_numbers
from agents.knowledge.chunking import chunk_document, split_text
from agents.knowledge.passage import Passage
from agents.knowledge.readers import KnowledgeError, list_files, read_document
from agents.schemas import Turn

ZH = (
    "账单日为每月5日。到期还款日为账单日后第20天，即每月25日！到期还款日如遇法定节假日，不顺延？"
    "请提前安排还款；账单日当天的消费计入下一期账单。免息还款期最短20天，最长50天。"
) * 4
EN = (
    "The statement date is the 5th of each month. Payment is due 20 days later, on the 25th! "
    "Does the due date move on holidays? It does not; pay early. Purchases on the statement date go to the next bill. "
) * 4


def test_chinese_chunks_end_at_sentence_ends() -> None:
    pieces = split_text(ZH, chunk_chars=60, overlap_chars=0)
    assert len(pieces) > 3 and all(len(piece) <= 60 for piece in pieces)
    assert all(piece[-1] in "。！？；" for piece in pieces)
    assert "".join(pieces) == ZH  # nothing lost, nothing cut mid-sentence


def test_english_chunks_end_at_sentence_ends() -> None:
    pieces = split_text(EN, chunk_chars=120, overlap_chars=0)
    assert len(pieces) > 3 and all(len(piece) <= 120 for piece in pieces)
    assert all(piece.rstrip()[-1] in ".!?" for piece in pieces)


def test_a_sentence_longer_than_a_chunk_is_cut_at_clauses(tmp_path: Path) -> None:
    long = "，".join(["逾期将产生违约金"] * 30) + "。"
    pieces = split_text(long, chunk_chars=50, overlap_chars=0)
    assert all(len(piece) <= 50 for piece in pieces) and all(piece.endswith(("，", "。")) for piece in pieces)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_markdown_sections_carry_their_headings(tmp_path: Path) -> None:
    path = write(tmp_path, "rules.md", "# 章程\n\n## 积分有效期\n积分有效期为两年。\n\n## 年费\n普通卡首年免年费。\n")
    document = read_document(path, "rules.md")
    assert [(s.title, s.text) for s in document.sections] == [
        ("章程 > 积分有效期", "积分有效期为两年。"),
        ("章程 > 年费", "普通卡首年免年费。"),
    ]
    passages = chunk_document(document)
    assert [p.id for p in passages] == ["rules.md#0", "rules.md#1"]
    assert passages[1] == Passage("rules.md#1", "章程 > 年费: 普通卡首年免年费。", "rules.md", "章程 > 年费")


def test_html_headings_become_sections(tmp_path: Path) -> None:
    html = "<html><head><style>p{}</style></head><body><h1>Fees</h1><p>Annual fee: <b>100</b> yuan.</p>"
    html += "<h2>Cash</h2><p>Cash advance fee is 1%.</p><script>x()</script></body></html>"
    sections = read_document(write(tmp_path, "fees.html", html), "fees.html").sections
    assert [s.title for s in sections] == ["Fees", "Fees > Cash"]
    assert "100" in sections[0].text and "x()" not in sections[1].text


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("qa.csv", "question,answer\n积分多久过期？,积分有效期为两年。\n怎么挂失？,在App中挂失。\n"),
        (
            "qa.json",
            json.dumps(
                [
                    {"问题": "积分多久过期？", "答案": "积分有效期为两年。"},
                    {"问题": "怎么挂失？", "答案": "在App中挂失。"},
                ]
            ),
        ),
        ("qa.jsonl", '{"q": "积分多久过期？", "a": "积分有效期为两年。"}\n{"q": "怎么挂失？", "a": "在App中挂失。"}\n'),
    ],
)
def test_qa_files_give_one_passage_per_pair(tmp_path: Path, name: str, text: str) -> None:
    passages = chunk_document(read_document(write(tmp_path, name, text), name))
    assert [p.title for p in passages] == ["积分多久过期？", "怎么挂失？"]
    assert passages[0].text == "积分多久过期？\n积分有效期为两年。"


def test_pdf_text_is_read_per_page(tmp_path: Path) -> None:
    stream = b"BT /F1 12 Tf 20 100 Td (Annual fee is 100 yuan.) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    body += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path = tmp_path / "fees.pdf"
    path.write_bytes(body)
    (section,) = read_document(path, "fees.pdf").sections
    assert section.title == "page 1" and "Annual fee is 100 yuan." in section.text


def test_bad_knowledge_sources_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match=r"knowledge file not found: .*missing.md"):
        list_files(tmp_path / "missing.md")
    with pytest.raises(KnowledgeError, match=r"unsupported type"):
        list_files(write(tmp_path, "rules.docx", "x"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(KnowledgeError, match=r"no knowledge files in"):
        list_files(tmp_path / "empty")
    with pytest.raises(KnowledgeError, match=r"qa.csv has no question and answer columns \(found: title, body\)"):
        read_document(write(tmp_path, "qa.csv", "title,body\na,b\n"), "qa.csv")
    latin1 = tmp_path / "old.txt"
    latin1.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(KnowledgeError, match=r"old.txt is not UTF-8"):
        read_document(latin1, "old.txt")
    with pytest.raises(KnowledgeError, match=r"cannot read knowledge file broken.json"):
        read_document(write(tmp_path, "broken.json", "{not json"), "broken.json")


def test_folders_are_read_recursively_without_hidden_or_foreign_files(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "x")
    write(tmp_path, "sub/b.txt", "y")
    write(tmp_path, ".git/c.md", "z")
    write(tmp_path, "NOTICE", "not a knowledge file")
    assert [p.relative_to(tmp_path).as_posix() for p in list_files(tmp_path)] == ["a.md", "sub/b.txt"]


# ------------------------------------------------------------------ the grounding check

PASSAGES = [
    Passage("overdue.md#0", "示例银行提供3天还款宽限期，违约金为最低还款额未还部分的5%。", "overdue.md"),
    Passage("points.md#1", "积分有效期为两年。", "points.md"),
]


def turns(reply: str, user: str = "我逾期了两天怎么办？") -> list[Turn]:
    return [Turn(role="user", content=user), Turn(role="assistant", content=reply)]


def test_step_numbers_are_not_claims() -> None:
    assert stated_numbers("办理步骤：1. 登录App；2、选择礼品；3）提交。宽限期3天，违约金5%，取现1.5万") == [
        "3",
        "5%",
        "1.5",
    ]


def test_a_cited_reply_with_the_passages_numbers_passes() -> None:
    reply = "理解您的担心。根据规定有3天宽限期，违约金为未还部分的5%。步骤：1. 尽快还款；2. 开通自动还款。"
    assert check_grounding(turns(reply), [["overdue.md#0"]], PASSAGES) == []


def test_a_reply_citing_nothing_fails() -> None:
    (failure,) = check_grounding(turns("请尽快还款。"), [[]], PASSAGES)
    assert failure.code == "ungrounded" and "cites no passage" in failure.reason and "overdue.md#0" in failure.reason


def test_invented_numbers_are_quoted() -> None:
    reply = "根据规定有15天宽限期，违约金为5%，年费200元。"
    (failure,) = check_grounding(turns(reply), [["overdue.md#0"]], PASSAGES)
    assert "states '15', '200'" in failure.reason and "overdue.md#0" in failure.reason


def test_numbers_from_the_user_turn_are_allowed_and_each_reply_is_checked() -> None:
    two = [
        *turns("您逾期了两天，有3天宽限期。"),
        Turn(role="user", content="积分呢？"),
        Turn(role="assistant", content="积分两年有效。"),
    ]
    assert check_grounding(two, [["overdue.md#0"], ["points.md#1"]], PASSAGES) == []
    failures = check_grounding(two, [["overdue.md#0"], []], PASSAGES)
    assert [f.reason.split(" ")[:2] for f in failures] == [["reply", "2"]]
    assert check_grounding(turns("还款日是每月25日。", user="我的还款日是25日吗？"), [["points.md#1"]], PASSAGES) == []
