"""Prove exported records load unchanged in the fine-tuning tools' own data loaders.

- HF ``datasets``: ``load_dataset("json", ...)`` reads every export with the expected columns and rows.
- TRL: ``SFTTrainer`` prepares and trains one step on the ``openai`` export (tiny offline tokenizer
  and model); alpaca and sharegpt records map onto the same conversation.
- LLaMA-Factory: too heavy to install here (0.9.5 pins older pydantic, datasets, trl, gradio, ...), so
  ``llamafactory_align`` re-implements the validation its loader applies, read from upstream
  https://github.com/hiyouga/LLaMA-Factory:
  ``src/llamafactory/data/parser.py`` @ 85b0f312ff145428784384b282603b048ee7f61b (``DatasetAttr.join``),
  ``src/llamafactory/data/converter.py`` @ 908cd68e457daf38e7aae14cbc99e5ac01524496 (Alpaca and
  Sharegpt converters), ``data/README.md`` @ 2ad9871bb402d0d4682466970bd404c650f05b9c, and the
  ``processor/supervised.py`` check of the released llamafactory 0.9.5 wheel (same logic).

The ``datasets``/TRL tests skip unless the ``compat`` extra is installed; nothing is downloaded.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from agents.schemas import Lineage, Sample, Turn
from graph.datasets.export import ExportFormat, dataset_info_entry, to_record, write_jsonl

PAIRS = [
    [("你好，我的快递三天没更新了。", "别着急，我这就帮您查询物流信息。")],
    [("信用卡 annual fee 怎么算？", "首年免年费。"), ("那第二年呢？", "刷满六次免。"), ("谢谢！", "不客气 😊")],
    [("Line one\nline two", 'He said "ok"'), ("再问一个", "请说")],
]
SYSTEMS = ["你是一位温柔的客服。", "You are sharp-tongued.", ""]
TRAINING_FORMATS: list[ExportFormat] = ["alpaca", "sharegpt", "openai"]
COLUMNS = {
    "alpaca": ["instruction", "input", "output", "system", "history"],
    "sharegpt": ["conversations", "system"],
    "openai": ["messages"],
}


def make_samples() -> list[Sample]:
    samples = []
    for index, (pairs, system) in enumerate(zip(PAIRS, SYSTEMS, strict=True)):
        turns = [Turn(role=r, content=c) for pair in pairs for r, c in zip(("user", "assistant"), pair, strict=True)]
        samples.append(
            Sample(id=f"s{index}", status="accepted", system=system, turns=turns, lineage=Lineage(style="g", topic="t"))
        )
    return samples


def expected_messages(sample: Sample) -> list[dict[str, str]]:
    return [{"role": turn.role, "content": turn.content} for turn in sample.turns]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to open a network connection fail loudly."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def hf_datasets(no_network: None) -> Any:
    datasets = pytest.importorskip("datasets", reason="HF datasets not installed: pip install -e '.[compat]'")
    datasets.disable_progress_bars()
    return datasets


def load_json(datasets: Any, path: Path, cache: Path) -> Any:
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(cache))


# LLaMA-Factory's loader, re-implemented from the upstream files cited in the module docstring.
LF_DEFAULTS: dict[str, Any] = {
    "formatting": "alpaca",
    "prompt": "instruction",
    "query": "input",
    "response": "output",
    "history": None,
    "messages": "conversations",
    "system": None,
    "role_tag": "from",
    "content_tag": "value",
    "user_tag": "human",
    "assistant_tag": "gpt",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}


def lf_attributes(description: dict[str, Any]) -> dict[str, Any]:
    """Resolve a dataset_info entry like ``DatasetAttr.join``: a listed group resets unlisted keys to None."""
    attr = dict(LF_DEFAULTS, formatting=description.get("formatting", "alpaca"))
    for group in ("columns", "tags"):
        keys = [key for key in LF_DEFAULTS if key != "formatting" and key.endswith("_tag") == (group == "tags")]
        if group in description:
            attr.update({key: description[group].get(key) for key in keys})
    return attr


def llamafactory_align(example: dict[str, Any], description: dict[str, Any]) -> dict[str, Any]:
    """Convert one row as LLaMA-Factory's converter does; raise AssertionError where it would drop the row."""
    attr = lf_attributes(description)
    if attr["formatting"] == "alpaca":
        prompt: list[dict[str, str]] = []
        if attr["history"] and isinstance(example[attr["history"]], list):
            for old_prompt, old_response in example[attr["history"]]:
                prompt += [{"role": "user", "content": old_prompt}, {"role": "assistant", "content": old_response}]
        query = [example[key] for key in (attr["prompt"], attr["query"]) if key and example[key]]
        prompt.append({"role": "user", "content": "\n".join(query)})
        assert isinstance(example[attr["response"]], str), "alpaca response must be a string"
        response = [{"role": "assistant", "content": example[attr["response"]]}]
        system = example[attr["system"]] if attr["system"] else ""
    else:
        assert attr["formatting"] == "sharegpt"
        role, content = attr["role_tag"], attr["content_tag"]
        names = {attr["user_tag"]: "user", attr["assistant_tag"]: "assistant", attr["system_tag"]: "system"}
        accept = ((attr["user_tag"], attr["observation_tag"]), (attr["assistant_tag"], attr["function_tag"]))
        messages = example[attr["messages"]]
        if attr["system_tag"] and messages and messages[0][role] == attr["system_tag"]:
            system, messages = messages[0][content], messages[1:]
        else:
            system = example[attr["system"]] if attr["system"] else ""
        for index, message in enumerate(messages):
            assert message[role] in accept[index % 2], f"Invalid role tag in {messages}"
        assert len(messages) % 2 == 0, f"Invalid message count in {messages}"
        aligned = [{"role": names[m[role]], "content": m[content]} for m in messages]
        prompt, response = aligned[:-1], aligned[-1:]
    # processor/supervised.py drops: len(_prompt) % 2 != 1 or len(_response) != 1
    assert len(prompt) % 2 == 1 and len(response) == 1, "Dropped invalid example"
    return {"_prompt": prompt, "_response": response, "_system": system}


def check_llamafactory_rows(rows: list[dict[str, Any]], samples: list[Sample], fmt: ExportFormat) -> None:
    description = dataset_info_entry("d", "d.jsonl", fmt)["d"]
    for row, sample in zip(rows, samples, strict=True):
        aligned = llamafactory_align(row, description)
        assert aligned["_prompt"] + aligned["_response"] == expected_messages(sample)
        assert aligned["_system"] == sample.system


@pytest.mark.parametrize("fmt", TRAINING_FORMATS)
def test_llamafactory_rules_accept_records(fmt: ExportFormat) -> None:
    samples = make_samples()
    rows = [json.loads(json.dumps(to_record(sample, fmt), ensure_ascii=False)) for sample in samples]
    check_llamafactory_rows(rows, samples, fmt)


def test_llamafactory_rules_reject_broken_records() -> None:
    sharegpt = dataset_info_entry("d", "d.jsonl", "sharegpt")["d"]
    swapped = {"conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}], "system": ""}
    with pytest.raises(AssertionError, match="Invalid role tag"):
        llamafactory_align(swapped, sharegpt)
    dangling = {"conversations": [{"from": "human", "value": "a"}], "system": ""}
    with pytest.raises(AssertionError, match="Invalid message count"):
        llamafactory_align(dangling, sharegpt)


@pytest.mark.parametrize("fmt", [*TRAINING_FORMATS, "raw"])
def test_hf_datasets_load_exports(tmp_path: Path, hf_datasets: Any, fmt: ExportFormat) -> None:
    samples = make_samples()
    path = tmp_path / f"{fmt}.jsonl"
    assert write_jsonl(samples, fmt, path) == len(samples)
    dataset = load_json(hf_datasets, path, tmp_path / "cache")
    assert dataset.num_rows == len(samples)
    if fmt == "raw":
        assert dataset.column_names == list(Sample.model_fields)
        assert [Sample.model_validate(row) for row in dataset] == samples
        return
    assert dataset.column_names == COLUMNS[fmt]
    rows = list(dataset)
    assert rows == [to_record(sample, fmt) for sample in samples]  # nothing coerced or dropped
    check_llamafactory_rows(rows, samples, fmt)  # LLaMA-Factory maps rows loaded exactly this way


@pytest.fixture
def trl_stack(no_network: None) -> Any:
    pytest.importorskip("torch", reason="torch not installed: pip install -e '.[compat]'")
    return pytest.importorskip("trl", reason="TRL not installed: pip install -e '.[compat]'")


CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> "
    "{% if m['role'] == 'assistant' %}{% generation %}{{ m['content'] }} </s>{% endgeneration %}"
    "{% else %}{{ m['content'] }}{% endif %} {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def tiny_tokenizer(samples: list[Sample]) -> Any:
    """Build a word-level tokenizer over the samples' words, with a chat template; nothing downloaded."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pre = pre_tokenizers.Whitespace()
    texts = (
        [t.content for s in samples for t in s.turns] + [s.system for s in samples] + ["<| system user assistant |>"]
    )
    words = sorted({piece for text in texts for piece, _ in pre.pre_tokenize_str(text)})
    vocab = {"<unk>": 0, "<pad>": 1, "</s>": 2} | {word: index + 3 for index, word in enumerate(words)}
    model = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    model.pre_tokenizer = pre
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=model, unk_token="<unk>", pad_token="<pad>", eos_token="</s>")
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def test_trl_sft_trainer_trains_on_openai_export(tmp_path: Path, hf_datasets: Any, trl_stack: Any) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    samples = make_samples()
    path = tmp_path / "openai.jsonl"
    write_jsonl(samples, "openai", path)
    dataset = load_json(hf_datasets, path, tmp_path / "cache")
    assert all(trl_stack.data_utils.is_conversational(row) for row in dataset)
    tokenizer = tiny_tokenizer(samples)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        pad_token_id=1,
        bos_token_id=2,
        eos_token_id=2,
    )
    args = trl_stack.SFTConfig(
        output_dir=str(tmp_path / "out"),
        max_steps=1,
        per_device_train_batch_size=3,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        assistant_only_loss=True,
        max_length=256,
        disable_tqdm=True,
    )
    trainer = trl_stack.SFTTrainer(
        model=LlamaForCausalLM(config), args=args, train_dataset=dataset, processing_class=tokenizer
    )
    prepared = trainer.train_dataset
    assert prepared.num_rows == len(samples)  # no example dropped as fully masked or malformed
    for row, sample in zip(prepared, samples, strict=True):
        assert 0 not in row["input_ids"]  # every word known: the template saw all our text
        trained = [label for label in row["labels"] if label != -100]
        expected: list[int] = []
        for turn in sample.turns:
            if turn.role == "assistant":
                expected += [*tokenizer.encode(turn.content, add_special_tokens=False), tokenizer.eos_token_id]
        assert trained == expected  # loss is on exactly the assistant turns
    assert trainer.train().global_step == 1


def test_trl_templates_agree_across_formats(trl_stack: Any) -> None:
    data_utils = trl_stack.data_utils
    samples = make_samples()
    tokenizer = tiny_tokenizer(samples)
    for sample in samples:
        openai = to_record(sample, "openai")
        text = data_utils.maybe_apply_chat_template(openai, tokenizer)["text"]
        assert all(turn.content in text for turn in sample.turns)
        # ShareGPT: TRL renames from/value to role/content but keeps "human"/"gpt" as role names.
        sharegpt = to_record(sample, "sharegpt")
        assert data_utils.is_conversational_from_value(sharegpt)
        chatml = data_utils.maybe_convert_to_chatml(sharegpt)
        roles = {"human": "user", "gpt": "assistant"}
        mapped = [{"role": roles[m["role"]], "content": m["content"]} for m in chatml["messages"]]
        head = [{"role": "system", "content": sample.system}] if sample.system else []
        assert head + mapped == openai["messages"]
        # Alpaca: as a TRL conversational prompt-completion pair it renders the same conversation.
        alpaca = to_record(sample, "alpaca")
        prompt = [*head]
        for user, assistant in alpaca["history"]:
            prompt += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        prompt.append({"role": "user", "content": alpaca["instruction"]})
        pair = {"prompt": prompt, "completion": [{"role": "assistant", "content": alpaca["output"]}]}
        rendered = data_utils.maybe_apply_chat_template(pair, tokenizer)
        assert rendered["prompt"] + rendered["completion"] == text
