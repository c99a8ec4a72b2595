"""The review page for real: uvicorn on loopback, SQLite, Debian's Chromium driven by Selenium, the CLI.

A reviewer logs in, reviews five items with the keyboard (one rejected, one edited), and the
stored decisions, the agreement with a second reviewer, and the version ``review apply`` writes
are checked; then the XSS and auth cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from graph.datasets.store import DatasetStore
from graph.reviews.store import ReviewStore
from service.review.session import COOKIE
from tests.browser import chromium, keep_screenshot
from tests.integration.cli_support import dialogforge
from tests.integration.review_support import API_KEY, PACK, dialogue, make_review, served


def _login(client: httpx.Client, reviewer: str, key: str = API_KEY) -> httpx.Response:
    return client.post("/review/login", data={"reviewer": reviewer, "key": key})


def _csrf(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def _press(driver: object, keys: str) -> None:
    for key in keys:
        driver.find_element(By.TAG_NAME, "body").send_keys(key)  # type: ignore[attr-defined]


def _wait_decided(driver: object) -> None:
    WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.ID, "outcome")))


def test_a_reviewer_reviews_five_items_with_the_keyboard(tmp_path: Path) -> None:
    ref = make_review(tmp_path, [dialogue(i) for i in range(6)], ["alice", "bob"], overlap=1.0)
    reviews, datasets = ReviewStore(tmp_path), DatasetStore(tmp_path)
    with served(tmp_path) as url, chromium(1200, 1400) as driver:
        driver.get(f"{url}/review")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "reviewer-name").send_keys("alice")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "api-key").send_keys(API_KEY + Keys.ENTER)  # type: ignore[attr-defined]
        WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.LINK_TEXT, "Start")))
        driver.find_element(By.LINK_TEXT, "Start").click()  # type: ignore[attr-defined]
        seen = []
        for step in range(5):
            WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.ID, "decision-form")))
            assert not driver.find_elements(By.ID, "judge-scores")  # type: ignore[attr-defined]  # no anchoring
            seen.append(driver.current_url.rsplit("/", 1)[1])  # type: ignore[attr-defined]
            _press(driver, "4534"[: len(PACK.rubric)])
            if step == 1:
                _press(driver, "r2r")  # reject, reason 2 (incorrect)
            elif step == 2:
                _press(driver, "e")
                box = driver.switch_to.active_element  # type: ignore[attr-defined]
                assert box.tag_name == "textarea"
                box.clear()
                box.send_keys("已改写：请登录手机银行查看账单呢。")
                box.send_keys(Keys.ESCAPE)
                _press(driver, "a")
            else:
                _press(driver, "a")
            _wait_decided(driver)
            judge = driver.find_element(By.ID, "judge-scores").text  # type: ignore[attr-defined]
            assert "judge reason" in judge  # shown once decided
            if step == 2:
                keep_screenshot(driver, tmp_path / "review-page.png")
            _press(driver, "n")
            WebDriverWait(driver, 30).until(lambda d, last=seen[-1]: not d.current_url.endswith(last))
        cookie = driver.get_cookie(COOKIE)  # type: ignore[attr-defined]
        assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert API_KEY not in driver.page_source  # type: ignore[attr-defined]

        mine = {d.sample_id: d for d in reviews.decisions(ref) if d.reviewer == "alice"}
        assert set(mine) == set(seen)
        assert [mine[s].decision for s in seen] == ["accept", "reject", "accept", "accept", "accept"]
        assert mine[seen[1]].reason == "incorrect"
        assert mine[seen[2]].edits == {1: "已改写：请登录手机银行查看账单呢。"}
        expected_scores = dict(zip([c.name for c in PACK.rubric], [4, 5, 3, 4], strict=False))
        assert all(d.scores == expected_scores for d in mine.values())

        with httpx.Client(base_url=url, follow_redirects=False) as bob:  # a second reviewer, over plain HTTP
            assert _login(bob, "bob").status_code == 303
            for index, sample_id in enumerate(seen):
                page = bob.get(f"/review/{ref}/items/{sample_id}")
                form = {"csrf": _csrf(page.text), "revision": "0", "decision": "reject" if index == 3 else "accept",
                        "reason": "unnatural"} | {f"score.{c.name}": "4" for c in PACK.rubric}  # fmt: skip
                assert bob.post(f"/review/{ref}/items/{sample_id}", data=form).status_code == 303
    env = {"DIALOGFORGE_DATA_DIR": str(tmp_path)}
    status = dialogforge("review", "status", ref, "--json", env=env)
    assert status.returncode == 0, status.stderr
    figures = json.loads(status.stdout)
    decision = figures["agreement"][0]
    assert decision["name"] == "decision" and decision["items"] == 5 and decision["percent"] == pytest.approx(0.6)
    assert {d["sample_id"] for d in figures["disagreements"]} >= {seen[1], seen[3]}
    refused = dialogforge("review", "apply", ref, "--into", "bank", env=env)
    assert refused.returncode == 2 and "nobody settled" in refused.stderr
    applied = dialogforge("review", "apply", ref, "--into", "bank", "--unsettled", "drop", env=env)
    assert applied.returncode == 0, applied.stderr
    rows = {s.id: s for batch in datasets.iter_samples("bank@2") for s in batch}
    assert seen[1] not in rows and seen[3] not in rows and len(rows) == 4
    assert (
        rows[seen[2]].turns[1].content == "已改写：请登录手机银行查看账单呢。"
        and rows[seen[2]].lineage.origin == "edited"
    )


def test_dialogue_markup_renders_as_text(tmp_path: Path) -> None:
    ref = make_review(tmp_path, [dialogue(0, user="<script>alert('xss')</script><img src=x onerror=alert(2)>")],
                      ["alice"], overlap=0.0)  # fmt: skip
    with served(tmp_path) as url, chromium() as driver:
        driver.get(f"{url}/review")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "reviewer-name").send_keys("alice")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "api-key").send_keys(API_KEY + Keys.ENTER)  # type: ignore[attr-defined]
        WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.LINK_TEXT, "Start")))
        driver.get(f"{url}/review/{ref}/items/d0")  # type: ignore[attr-defined]
        bubble = driver.find_element(By.CSS_SELECTOR, ".turn.user .bubble").text  # type: ignore[attr-defined]
        assert bubble == "<script>alert('xss')</script><img src=x onerror=alert(2)>"
        assert not driver.find_elements(By.CSS_SELECTOR, "main img")  # type: ignore[attr-defined]
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # type: ignore[attr-defined]  # noqa: B018


def test_nobody_without_a_key_and_no_reviewer_outside_their_queue(tmp_path: Path) -> None:
    ref = make_review(tmp_path, [dialogue(i) for i in range(4)], ["alice", "bob"], overlap=0.0)
    queues = {name: {a.sample_id for a, _ in ReviewStore(tmp_path).queue(ref, name)} for name in ("alice", "bob")}
    bobs = next(iter(queues["bob"]))
    alices = next(iter(queues["alice"]))
    with served(tmp_path) as url, httpx.Client(base_url=url, follow_redirects=False) as anonymous:
        assert "API key" in anonymous.get("/review").text  # the login form, nothing else
        assert anonymous.get(f"/review/{ref}/items/{alices}").headers["location"] == "/review"
        assert anonymous.post(f"/review/{ref}/items/{alices}", data={"decision": "accept"}).status_code == 401
        anonymous.cookies.set(COOKIE, "forged.cookie.value", path="/review")
        assert anonymous.get(f"/review/{ref}/items/{alices}").status_code == 303
        assert _login(anonymous, "alice", key="wrong").status_code == 401
        assert anonymous.get(f"/v1/reviews/{ref}").status_code == 401
        listed = anonymous.get(f"/v1/reviews/{ref}", headers={"Authorization": f"Bearer {API_KEY}"})
        assert listed.status_code == 200 and listed.json()["reviewers"]["alice"]["assigned"] == 2
        foreign = httpx.post(f"{url}/review/login", data={"reviewer": "alice", "key": API_KEY},
                             headers={"Origin": "https://evil.example"})  # fmt: skip
        assert foreign.status_code == 403
    with served(tmp_path) as url, httpx.Client(base_url=url, follow_redirects=False) as alice:
        answer = _login(alice, "alice")
        assert answer.status_code == 303 and "httponly" in answer.headers["set-cookie"].lower()
        assert alice.get(f"/review/{ref}/items/{bobs}").status_code == 404  # bob's item: not hers
        page = alice.get(f"/review/{ref}/items/{alices}")
        assert page.status_code == 200 and "Content-Security-Policy" in page.headers
        token = _csrf(page.text)
        assert alice.post(f"/review/{ref}/items/{bobs}", data={"csrf": token, "decision": "accept"}).status_code == 404
        assert alice.post(f"/review/{ref}/items/{alices}", data={"csrf": "x", "decision": "accept"}).status_code == 403
        bad = alice.post(f"/review/{ref}/items/{alices}", data={"csrf": token, "decision": "reject", "reason": ""})
        assert bad.status_code == 422 and "needs a reason" in bad.text
        assert (
            alice.post(f"/review/{ref}/items/{alices}", data={"csrf": token, "decision": "accept"}).status_code == 303
        )
    assert [d.reviewer for d in ReviewStore(tmp_path).decisions(ref)] == ["alice"]
