"""Chat logs grouped into dialogues: two speakers, time gaps, conversation ids, merging, trimming."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.datasets.errors import BadRowError, FormatError
from graph.datasets.importer import ImportOptions, import_sources
from graph.datasets.store import DatasetStore

WECHAT = """NickName,StrContent,CreateTime,IsSender
小红,在吗,1700000000,0
我,在的,1700000030,1
我,怎么了？,1700000040,1
小红,今天好累,1700000100,0
小红,不想上班,1700000110,0
我,抱抱你，早点休息,1700000200,1
小红,明天见,1700000300,0
我,早上好,1700090000,1
小红,早！,1700090010,0
我,今天也加油,1700090020,1
"""


def _import(tmp_path: Path, text: str, mapping: dict[str, str], **options: object):  # type: ignore[no-untyped-def]
    path = tmp_path / "chat.csv"
    path.write_text(text, encoding="utf-8")
    store = DatasetStore(tmp_path / "store")
    result = import_sources(store, "me", [str(path)], ImportOptions(chat_log=mapping, **options))  # type: ignore[arg-type]
    return result.manifest, [s for batch in store.iter_samples("me") for s in batch]


def test_wechat_export_split_at_gaps_merged_and_trimmed(tmp_path: Path) -> None:
    mapping = {"speaker": "NickName", "text": "StrContent", "time": "CreateTime", "me": "IsSender"}
    manifest, samples = _import(tmp_path, WECHAT, mapping)
    assert [[(t.role, t.content) for t in s.turns] for s in samples] == [
        [
            ("user", "在吗"),
            ("assistant", "在的\n怎么了？"),
            ("user", "今天好累\n不想上班"),
            ("assistant", "抱抱你，早点休息"),
        ],
        [("user", "早！"), ("assistant", "今天也加油")],
    ]
    assert [(s.lineage.source_row, s.lineage.source_row_end) for s in samples] == [(1, 7), (8, 10)]
    assert manifest.dropped == {"trailing user messages left out": 1, "leading assistant messages left out": 1}


def test_conversation_ids_interleaved_and_assistant_by_name(tmp_path: Path) -> None:
    log = (
        "ticket,who,body\nT1,客户A,卡被锁了\nT2,客户B,积分怎么查\nT1,客服,请提供卡号后四位\n"
        "T2,客服,在App首页查看\nT1,客户A,1234\nT1,客服,已为您解锁\n"
    )
    _, samples = _import(
        tmp_path, log, {"speaker": "who", "text": "body", "conversation": "ticket", "assistant": "客服"}
    )
    assert [[t.content for t in s.turns] for s in samples] == [
        ["卡被锁了", "请提供卡号后四位", "1234", "已为您解锁"],
        ["积分怎么查", "在App首页查看"],
    ]


def test_bad_time_names_row_and_field(tmp_path: Path) -> None:
    log = "who,text,at\nA,hi,2024-01-01 10:00:00\nB,hello,yesterday\n"
    with pytest.raises(BadRowError, match=r"chat.csv: row 2, field at: cannot read 'yesterday' as a time"):
        _import(tmp_path, log, {"speaker": "who", "text": "text", "time": "at", "assistant": "B"})


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"speaker": "a", "text": "b", "me": "m"}, "needs time=COLUMN"),
        ({"speaker": "a", "text": "b", "time": "t"}, "exactly one of me=COLUMN"),
        ({"speaker": "a", "text": "b", "time": "t", "me": "m", "colour": "x"}, "unknown key"),
        ({"speaker": "a", "text": "b", "time": "t", "me": "m", "gap": "soon"}, "gap='soon'"),
    ],
)
def test_bad_mapping_is_refused(tmp_path: Path, mapping: dict[str, str], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        _import(tmp_path, WECHAT, mapping)
