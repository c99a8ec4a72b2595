"""``dialogforge augment`` in a subprocess, as a user's shell runs it: a real data-set store on disk, an
OpenAI-compatible fake server on loopback for the LLM and the embeddings, and the new version read back."""

from __future__ import annotations

from pathlib import Path

from benchmarks.loopback import fake_llm_server
from graph.datasets.store import DatasetStore
from tests.graph.datasets.helpers import sharegpt, write_jsonl
from tests.integration.cli_support import dialogforge

ROWS = [
    sharegpt("我家的猫生病了，好担心", "别太担心呀，先带它去看医生呢，你现在感觉怎么样？"),
    sharegpt("今天加班到十点才回家", "辛苦啦，快去洗个热水澡休息一下呢，晚饭吃了吗？"),
    sharegpt("下雨天忘记带伞了", "哎呀，淋湿了吗？先擦干头发呢，别着凉啦"),
]


def test_augment_writes_a_new_version_with_lineage_and_refuses_bad_input(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"DIALOGFORGE_DATA_DIR": str(data), "DIALOGFORGE_EMBEDDER": "openai:fake"}
    source = write_jsonl(tmp_path / "cs.jsonl", ROWS)
    assert dialogforge("datasets", "import", str(source), "--name", "cs", env=env).returncode == 0

    for args, expected in [
        (("cs@1", "--ops", "paraphrse"), "unknown operator 'paraphrse'; operators: paraphrase,"),
        (("cs@1", "--ops", "paraphrase", "--set", "paraphrase.max_overlaps=1"), "max_overlaps: Extra inputs"),
        (("cs@1", "--ops", "backtranslate", "--via", "zh", "--style", "gentle"), "which is a pivot (--via)"),
        (("cs@7", "--ops", "paraphrase"), "cs has no version cs@7; versions: 1"),
    ]:
        result = dialogforge("augment", *args, "--into", "x", env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and expected in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert DatasetStore(data).names() == ["cs"]

    with fake_llm_server(0.01) as base_url:
        job_env = {**env, "DIALOGFORGE_LLM_BASE_URL": base_url}
        result = dialogforge(
            "augment", "cs@1", "--ops", "paraphrase,extend", "--turns", "2", "--style", "gentle",
            "--set", "paraphrase.min_similarity=0", "--concurrency", "2", "--into", "cs", env=job_env,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wrote cs@2" in result.stdout and "parents 3" in result.stdout, result.stdout

    store = DatasetStore(data)
    manifest = store.resolve("cs@2")
    assert manifest.operation == "augment" and manifest.parents == ["cs@1"]
    assert [op["op"] for op in manifest.params["ops"]] == ["paraphrase", "extend"]
    rows = [row for batch in store.iter_samples("cs@2") for row in batch]
    parents = {row.id: row for row in rows if row.lineage.origin == "import"}
    children = [row for row in rows if row.lineage.origin == "augmented"]
    assert len(parents) == 3 and children, result.stdout
    assert manifest.rows == len(rows) and f"({len(children)} new)" in result.stdout
    for child in children:
        lineage = child.lineage
        assert lineage.parent_id in parents and lineage.parent_version == "cs@1" and lineage.style == "gentle"
        assert lineage.operator in ("paraphrase", "extend") and lineage.models and lineage.tokens
        assert any(name.startswith("operator:operators/") for name in lineage.prompt_hashes)
        assert child.verdict is not None and child.verdict.passed
        if lineage.operator == "extend":
            assert lineage.params["turns"] == 2 and len(child.turns) == 4
            assert child.turns[:2] == parents[lineage.parent_id].turns
        else:
            assert lineage.params["min_similarity"] == 0 and len(child.turns) == 2
    shown = dialogforge("datasets", "show", "cs@2", env=env)
    assert shown.returncode == 0, shown.stderr
    origins = ("origin: import 3, augmented", f"origin: augmented {len(children)}, import 3")
    assert any(line in shown.stdout for line in origins), shown.stdout
    assert "operator: " in shown.stdout, shown.stdout  # datasets show breaks the version down by origin and operator
    rejected = sum(count for reason, count in manifest.dropped.items() if reason.startswith("rejected "))
    assert len(children) + rejected == 6  # 3 parents x 2 operators x 1 child each: every child accounted for
