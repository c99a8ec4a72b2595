"""Chat grammar of the data set commands: clean, augment and report, in English and Chinese."""

from __future__ import annotations

import pytest

from service.chatops.commands import Augment, ChatCommand, Clean, Report
from service.chatops.grammar import CommandError, Vocabulary, parse_command
from service.jobs.kinds.augment import AugmentJobRequest
from service.jobs.kinds.clean import CleanJobRequest

VOCAB = Vocabulary({"gentle": ["温柔"], "清洁工": []}, max_n=500)


def parse(text: str) -> ChatCommand:
    return parse_command(text, VOCAB)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("清洗 bank-logs@1", Clean(ref="bank-logs@1")),
        ("清洗bank-logs@1", Clean(ref="bank-logs@1")),
        ("clean bank-logs@1", Clean(ref="bank-logs@1")),
        ("clean bank-logs@1 normalize,pii,exact-dedup", Clean(ref="bank-logs@1", ops="normalize,pii,exact-dedup")),
        ("清洗 bank-logs@v1.1 normalize，pii", Clean(ref="bank-logs@v1.1", ops="normalize,pii")),
        ("清洗 bank-logs", Clean(ref="bank-logs")),
        ("增强 bank-logs@2 换个说法 2条", Augment(ref="bank-logs@2", ops=("paraphrase",), per_sample=2)),
        ("增强 bank-logs@2 换个说法2条", Augment(ref="bank-logs@2", ops=("paraphrase",), per_sample=2)),
        ("augment bank-logs@2 paraphrase 2", Augment(ref="bank-logs@2", ops=("paraphrase",), per_sample=2)),
        ("增强 bank-logs@2 回译 续写", Augment(ref="bank-logs@2", ops=("backtranslate", "extend"))),
        ("增强 bank-logs@2 难例 改写 3", Augment(ref="bank-logs@2", ops=("hard-cases", "paraphrase"), per_sample=3)),
        ("augment x@1 hard-cases", Augment(ref="x@1", ops=("hard-cases",))),
        ("增强 x@1 改写 温柔 2条", Augment(ref="x@1", ops=("paraphrase",), per_sample=2, style="gentle")),
        (
            "增强 cafe@1 换场景 场景=餐厅,书店，医院 2条",
            Augment(
                ref="cafe@1", ops=("scene-transfer",), per_sample=2, params=(("scenes", ("餐厅", "书店", "医院")),)
            ),
        ),
        (
            "augment cafe@1 scene-transfer scenes:bar",
            Augment(ref="cafe@1", ops=("scene-transfer",), params=(("scenes", ("bar",)),)),
        ),
        ("增强 support@1 续写 4轮", Augment(ref="support@1", ops=("extend",), params=(("turns", 4),))),
        (
            "增强 support@1 续写 轮数=5 2条",
            Augment(ref="support@1", ops=("extend",), per_sample=2, params=(("turns", 5),)),
        ),
        (
            "增强 logs@1 回译 via=英语 日语",
            Augment(ref="logs@1", ops=("backtranslate",), params=(("via", ("en", "ja")),)),
        ),
        (
            "增强 bank@1 难例 重点=信用卡逾期 vs 贷款逾期",
            Augment(ref="bank@1", ops=("hard-cases",), params=(("focus", "信用卡逾期 vs 贷款逾期"),)),
        ),
        ("报告 bank-logs@3", Report("bank-logs@3")),
        ("report bank-logs@3", Report("bank-logs@3")),
        ("质检 bank-logs", Report("bank-logs")),
    ],
)
def test_dataset_commands(text: str, expected: ChatCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("清洗", "say which version: `clean <name@N>`"),
        ("clean Bank-Logs@1", "not a data set version"),
        ("clean bank-logs@1 scrub", "unknown operator 'scrub'"),
        ("增强 bank-logs@2", "say how to augment"),
        ("增强 bank-logs@2 飞起来", "I don't know the augmentation '飞起来'. The operators are: paraphrase (换个说法"),
        ("augment bank-logs@2 paraphrase 20", "ask for 1 to 10 new samples per row, not 20"),
        ("增强 bank-logs@2 换场景", "scenes: Field required (in the chat, write e.g. `场景=餐厅,书店`)"),
        ("增强 cafe@1 换场景 餐厅", "I don't know the augmentation '餐厅'"),
        ("增强 cafe@1 改写 场景=餐厅", "scenes is for scene-transfer, which this command does not name"),
        ("增强 cafe@1 换场景 场景=", "give scenes a value, e.g. `场景=餐厅,书店`"),
        ("增强 cafe@1 换场景 场景=a 场景=b", "scenes is given twice"),
        ("增强 s@1 续写 轮数=很多", "turns is a number, e.g. `轮数=4`, not '很多'"),
        ("增强 s@1 续写 轮数=9", "turns: Input should be less than or equal to"),
        ("增强 s@1 回译 via=火星语", "via.0: Input should be 'en'"),
        ("报告", "say which version: `report <name@N>`"),
        ("report a@1 b@2", "`report` takes one version"),
    ],
)
def test_bad_dataset_commands_say_what_to_fix(text: str, words: str) -> None:
    with pytest.raises(CommandError) as error:
        parse(text)
    assert words in str(error.value)


def test_the_commands_build_their_job_requests_on_the_pinned_version() -> None:
    clean = Clean(ref="bank-logs").pinned("bank-logs@1", 40)
    request = clean.job_request()
    assert isinstance(request, CleanJobRequest)
    assert (request.source, request.into, request.ops, clean.n, clean.label) == (
        "bank-logs@1", "bank-logs", "default", 0, "bank-logs@1",
    )  # fmt: skip
    augment = Augment(ref="bank-logs@2", ops=("paraphrase", "extend"), per_sample=3).pinned("bank-logs@2", 10)
    request = augment.job_request()
    assert isinstance(request, AugmentJobRequest)
    assert augment.n == 60 and [spec.op for spec in request.ops] == ["paraphrase", "extend"]
    assert request.per_sample == 3 and request.into == "bank-logs" and request.keeps_parents()


def test_chat_parameters_reach_the_job_request_as_the_cli_shorthands_would() -> None:
    command = parse("增强 cafe@1 换场景 续写 场景=餐厅,书店 4轮")
    assert isinstance(command, Augment)
    request = command.pinned("cafe@1", 5).job_request()
    assert isinstance(request, AugmentJobRequest)
    scene, extend = request.ops
    assert scene.op == "scene-transfer" and scene.scenes == ["餐厅", "书店"]  # type: ignore[union-attr]
    assert extend.op == "extend" and extend.turns == 4  # type: ignore[union-attr]
