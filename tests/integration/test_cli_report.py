"""``dialogforge report`` in a subprocess (real store, real e5 embedder), then the page in real Chromium."""

from __future__ import annotations

import json
from pathlib import Path

from tests.browser import chromium, keep_screenshot
from tests.graph.datasets.helpers import sharegpt, write_jsonl
from tests.integration.cli_support import dialogforge

QUESTIONS = [
    "我的信用卡账单怎么查询",
    "信用卡积分怎么兑换",
    "逾期还款会影响征信吗",
    "怎么提高信用卡额度",
    "转账失败了怎么办",
]


def _import(tmp_path: Path, env: dict[str, str], name: str, count: int) -> None:
    rows = [
        sharegpt(f"{QUESTIONS[i % 5]}？第{i}次", f"别担心呢，{QUESTIONS[i % 5]}可以在手机银行办理呀。")
        for i in range(count)
    ]
    rows += [sharegpt("<script>alert('x')</script>", "<img src=x onerror=alert(1)>")] * 2  # shown as a duplicate
    source = write_jsonl(tmp_path / f"{name}.jsonl", rows)
    result = dialogforge("datasets", "import", str(source), "--name", name, env=env)
    assert result.returncode == 0, result.stderr


def test_report_against_another_version_opens_offline_in_chromium(tmp_path: Path) -> None:
    env = {"DIALOGFORGE_DATA_DIR": str(tmp_path / "data"), "DIALOGFORGE_EMBEDDER": "e5"}
    _import(tmp_path, env, "bank", 24)
    _import(tmp_path, env, "bank", 12)
    out = tmp_path / "report"
    result = dialogforge(
        "report", "bank@2", "--against", "bank@1", "-o", str(out), "--style", "bank-cs", "--map-sample", "40", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and (out / "report.html").is_file()
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [v["ref"] for v in data["versions"]] == ["bank@2", "bank@1"]
    assert [v["rows"] for v in data["versions"]] == [14, 26]
    assert data["versions"][0]["embedder"].startswith("multilingual-e5")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html  # the dialogue's <script> is escaped, and the page has none of its own

    with chromium(1400, 2600) as driver:
        driver.get((out / "report.html").as_uri())  # type: ignore[attr-defined]
        title = driver.title  # type: ignore[attr-defined]
        widths = driver.execute_script("return Array.from(document.images).map(i => i.naturalWidth)")  # type: ignore[attr-defined]
        text = driver.find_element("tag name", "body").text  # type: ignore[attr-defined]
        logs = driver.get_log("browser")  # type: ignore[attr-defined]
        keep_screenshot(driver, tmp_path / "qc-report.png")
    assert title == "QC report: bank@2 vs bank@1"
    assert len(widths) >= 5 and all(width > 0 for width in widths), widths  # every plot decoded
    assert "Topic map" in text and "14 vs 26" in text, text[:400]
    assert "<script>alert('x')</script>" in text  # shown as text, among the duplicates
    assert not [entry for entry in logs if entry["level"] == "SEVERE"], logs  # no CSP violation, no load error
    assert (tmp_path / "qc-report.png").stat().st_size > 10_000


def test_report_bad_input_is_one_line(tmp_path: Path) -> None:
    env = {"DIALOGFORGE_DATA_DIR": str(tmp_path / "data")}
    _import(tmp_path, env, "bank", 3)
    for args, expected in [
        (("report", "nothing"), "no data set named 'nothing'"),
        (("report", "bank@7"), "bank has no version"),
        (("report", "bank", "--style", "no-such-pack", "--map-sample", "0"), "unknown style 'no-such-pack'"),
    ]:
        result = dialogforge(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("error: ") and expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
