"""The CLI through its real entry point, with fake models injected into the engine (no sockets)."""

import json
import sys
from pathlib import Path

import pytest

from agents.styles import builtin_styles
from service.cli import generate as generate_command
from service.cli import main as cli
from service.engine import Engine
from tests.fakes import FakeEmbedder, fake_role_models

PACK = builtin_styles()["empathetic-cs"].model_copy(update={"min_exemplar_similarity": None, "name": "cs-test"})


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["dialogforge", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DIALOGFORGE_DATA_DIR", str(tmp_path / "data"))
    original = Engine.start.__func__  # type: ignore[attr-defined]

    def start(cls, settings, notify=print, models=None, embedder=None):  # type: ignore[no-untyped-def]
        return original(cls, settings, notify, models=fake_role_models(), embedder=FakeEmbedder())

    monkeypatch.setattr(Engine, "start", classmethod(start))


@pytest.fixture
def pack_file(tmp_path: Path) -> Path:
    path = tmp_path / "cs-test.yaml"
    path.write_text(json.dumps(PACK.model_dump(mode="json"), ensure_ascii=False), encoding="utf-8")
    return path


def test_styles_lists_every_pack(monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "styles")
    assert code == 0
    for name in ("gentle", "snarky", "empathetic-cs", "bank-cs", "温柔", "毒舌"):
        assert name in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--style", "nope"], "unknown style 'nope'; known styles: bank-cs, empathetic-cs, gentle, snarky"),
        (["--style", "gentle", "-n", "0"], "-n must be between 1 and"),
        (
            ["--style", "gentle", "--format", "csv"],
            "unknown format 'csv'; choose one of: alpaca, sharegpt, openai, raw",
        ),
        (["--style", "gentle", "-n", "abc"], "Invalid value for '-n'"),
        (["--style", "gentle", "--concurrency", "0"], "--concurrency must be between 1 and 64"),
        (["--style", "missing.yaml"], "style pack file not found: missing.yaml"),
        (["--style", "gentle", "--judge", "../rewriter"], "unknown judge prompt '../rewriter'; known: anchored,"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path, args, message) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "generate", *args, "-o", str(tmp_path / "o.jsonl"))
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unwritable_output_is_refused_before_any_model_starts(monkeypatch, capsys, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setattr(Engine, "start", lambda *a, **k: pytest.fail("the engine must not start"))
    code, _, err = run_cli(monkeypatch, capsys, "generate", "--style", "gentle", "-o", str(blocker / "o.jsonl"))
    assert code == 2 and "cannot write the output" in err


def test_unreachable_llm_names_the_url(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setenv("DIALOGFORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DIALOGFORGE_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("DIALOGFORGE_LLM_API_KEY", "sk-secret-value")
    monkeypatch.setattr(Engine, "start", classmethod(lambda cls, s, **k: _remote_engine(cls, s)))
    code, _, err = run_cli(monkeypatch, capsys, "generate", "--style", "gentle", "-o", str(tmp_path / "o.jsonl"))
    assert code == 1
    assert "cannot reach the LLM at http://127.0.0.1:9/v1/models" in err
    assert "sk-secret-value" not in err


def _remote_engine(cls, settings):  # type: ignore[no-untyped-def]
    return cls(settings, fake_role_models(), FakeEmbedder(), settings.llm_base_url)


def test_generate_writes_data_dataset_info_and_report(monkeypatch, capsys, tmp_path, fake_engine, pack_file) -> None:
    out_file, report = tmp_path / "out" / "cs.jsonl", tmp_path / "rep"
    code, out, err = run_cli(
        monkeypatch, capsys, "generate", "--style", str(pack_file), "-n", "4", "-f", "openai",
        "-o", str(out_file), "--report", str(report), "--concurrency", "2",
    )  # fmt: skip
    assert code == 0, err
    records = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 4
    assert all(record["messages"][0]["role"] == "system" for record in records)
    info = json.loads((out_file.parent / "dataset_info.json").read_text())
    assert info["cs"]["file_name"] == "cs.jsonl"
    data = json.loads((report / "report.json").read_text())
    assert data["summary"]["accepted"] == 4 and data["summary"]["stop_reason"] == "completed"
    assert "# dialogforge report" in (report / "report.md").read_text()
    judge_row = next(line for line in (report / "report.md").read_text().splitlines() if line.startswith("| judge |"))
    assert judge_row.startswith("| judge | anchored; ") and "empathy >= " in judge_row  # prompt and thresholds in force
    assert "4/4 accepted" in out


def test_budget_exhausted_writes_what_was_accepted_and_exits_3(
    monkeypatch, capsys, tmp_path, fake_engine, pack_file
) -> None:
    out_file = tmp_path / "cs.jsonl"
    code, out, err = run_cli(
        monkeypatch, capsys, "generate", "--style", str(pack_file), "-n", "5", "-o", str(out_file),
        "--max-attempts", "2", "--concurrency", "1",
    )  # fmt: skip
    assert code == generate_command.EXIT_INCOMPLETE
    assert len(out_file.read_text().splitlines()) == 2
    assert "the attempt budget ran out" in out
    assert "only 2 of 5 samples were accepted" in err


def test_a_job_that_fails_keeps_what_was_accepted(monkeypatch, capsys, tmp_path, fake_engine, pack_file) -> None:
    async def summary_fails(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("summary failed")

    monkeypatch.setattr("graph.runner.JobRunner.summarise", summary_fails)
    out_file = tmp_path / "cs.jsonl"
    code, _, err = run_cli(monkeypatch, capsys, "generate", "--style", str(pack_file), "-n", "3", "-o", str(out_file))
    assert code == 1
    assert err.strip().splitlines()[-1] == "error: RuntimeError: summary failed"
    assert "Traceback" not in err and "wrote the 3 samples accepted before the error" in err
    assert len(out_file.read_text(encoding="utf-8").splitlines()) == 3


def test_a_bad_price_file_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path, fake_engine) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("gpt-4o: {input: lots}", encoding="utf-8")
    monkeypatch.setenv("DIALOGFORGE_PRICES_FILE", str(prices))
    code, _, err = run_cli(monkeypatch, capsys, "generate", "--style", "gentle", "-o", str(tmp_path / "o.jsonl"))
    assert code == 2
    assert err.strip().splitlines()[-1].startswith(f"error: price file {prices}: gpt-4o.input:")


def _stored_cli_job(data_dir: Path, n: int, accepted: int) -> tuple[str, list[str]]:
    """Store an interrupted command-line job (as a killed run leaves it) with some accepted samples."""
    from agents.schemas import Lineage, Sample, Turn
    from graph.progress import JobProgress
    from service.jobs.kinds.generate import GenerateJobRequest
    from service.jobs.store import JobStore

    store = JobStore(data_dir)
    request = GenerateJobRequest(style="cs-test", n=n, formats=["raw"], concurrency=2)
    store.create_job("job-killed", request, PACK, origin="cli")
    ids = []
    for index in range(accepted):
        turns = [Turn(role="user", content=f"earlier question {index}"), Turn(role="assistant", content="answer")]
        sample = Sample(
            id=f"kept-{index}", status="accepted", system="s", turns=turns, lineage=Lineage(style="cs-test", topic="t")
        )
        ids.append(sample.id)
        store.add_sample("job-killed", sample, JobProgress(job_id="job-killed", target=n, accepted=len(ids)))
    store.update_job("job-killed", status="running")
    store.close()
    return "job-killed", ids


def test_resume_continues_the_stored_job_to_exactly_n(monkeypatch, capsys, tmp_path, fake_engine, pack_file) -> None:
    job_id, kept = _stored_cli_job(tmp_path / "data", n=5, accepted=2)
    out_file = tmp_path / "cs.jsonl"
    args = ["generate", "--style", str(pack_file), "-n", "5", "-f", "raw", "-o", str(out_file), "--concurrency", "2"]
    code, out, err = run_cli(monkeypatch, capsys, *args, "--resume")
    assert code == 0, err
    assert f"continuing job {job_id} (2/5 accepted)" in err
    ids = [json.loads(line)["id"] for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert len(ids) == 5 == len(set(ids)) and set(kept) <= set(ids)
    assert "5/5 accepted" in out

    code, _, err = run_cli(monkeypatch, capsys, *args, "--resume")  # done: exported again, no new work
    assert code == 0 and f"continuing job {job_id} (5/5 accepted)" in err
    assert [json.loads(line)["id"] for line in out_file.read_text(encoding="utf-8").splitlines()] == ids


def test_without_resume_a_new_job_starts_and_the_stopped_one_is_named(
    monkeypatch, capsys, tmp_path, fake_engine, pack_file
) -> None:
    job_id, kept = _stored_cli_job(tmp_path / "data", n=3, accepted=1)
    out_file = tmp_path / "cs.jsonl"
    args = ["generate", "--style", str(pack_file), "-n", "3", "-f", "raw", "-o", str(out_file), "--concurrency", "2"]
    code, _, err = run_cli(monkeypatch, capsys, *args)
    assert code == 0, err
    assert f"note: job {job_id} with these arguments stopped at 1/3; add --resume" in err
    ids = [json.loads(line)["id"] for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert len(ids) == 3 and not set(kept) & set(ids)


def test_job_id_continues_that_job_and_an_unknown_id_is_one_line(
    monkeypatch, capsys, tmp_path, fake_engine, pack_file
) -> None:
    job_id, kept = _stored_cli_job(tmp_path / "data", n=3, accepted=2)
    out_file = tmp_path / "cs.jsonl"
    code, _, err = run_cli(monkeypatch, capsys, "generate", "--job", job_id, "-f", "raw", "-o", str(out_file))
    assert code == 0, err
    ids = [json.loads(line)["id"] for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert len(ids) == 3 and set(kept) <= set(ids)

    code, _, err = run_cli(monkeypatch, capsys, "generate", "--job", "nope", "-o", str(out_file))
    assert code == 2 and err.strip().splitlines() == [f"error: no job 'nope' in {tmp_path / 'data'}"]


def test_generate_needs_a_style_or_a_job(monkeypatch, capsys, tmp_path) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "generate", "-o", str(tmp_path / "o.jsonl"))
    assert code == 2 and "give --style" in err


def test_into_keeps_the_accepted_samples_as_a_new_version(
    monkeypatch, capsys, tmp_path, fake_engine, pack_file
) -> None:
    from graph.datasets.store import DatasetStore

    out_file = tmp_path / "cs.jsonl"
    args = ["generate", "--style", str(pack_file), "-n", "3", "-f", "raw", "-o", str(out_file), "--into", "cs-set"]
    code, out, err = run_cli(monkeypatch, capsys, *args)
    assert code == 0, err
    assert "data set version: cs-set@1" in out
    datasets = DatasetStore(tmp_path / "data")
    manifest = datasets.resolve("cs-set")
    exported = [json.loads(line)["id"] for line in out_file.read_text(encoding="utf-8").splitlines()]
    stored = [sample.id for batch in datasets.iter_samples("cs-set@1") for sample in batch]
    assert manifest.rows == 3 and sorted(stored) == sorted(exported)
    assert manifest.operation == "generate" and not manifest.partial and manifest.key.startswith("job:")
    assert manifest.params["style"] == "cs-test" and manifest.params["job_id"] == manifest.key.removeprefix("job:")

    code, out, _ = run_cli(monkeypatch, capsys, *args, "--resume")  # the same, finished job: no second version
    assert code == 0 and "data set version: cs-set@1" in out
    assert [m.ref for m in datasets.versions("cs-set")] == ["cs-set@1"]


def test_a_bad_into_name_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path) -> None:
    code, _, err = run_cli(
        monkeypatch, capsys, "generate", "--style", "gentle", "--into", "../x", "-o", str(tmp_path / "o")
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("error: --into: invalid data set name '../x'")
