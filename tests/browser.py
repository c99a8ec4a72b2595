"""A real headless Chromium for page tests: Debian's ``chromium`` and ``chromedriver``, driven by Selenium.

``make install-test`` installs both (apt-get) when they are missing; the browsers Selenium or
Playwright would download are not reachable here, so Selenium is pointed at the system binaries
and told to stay offline. A missing browser fails the test with what to install (never a skip).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER_PATHS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def _first(paths: tuple[str, ...], name: str) -> str:
    found = next((path for path in paths if Path(path).exists()), None) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: apt-get install chromium chromium-driver (make install-test does it)")
    return found


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[object]:
    """Start headless Chromium under chromedriver; quit it (and its processes) at the end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not try to download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = _first(CHROMIUM_PATHS, "chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--lang=en-US"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(_first(DRIVER_PATHS, "chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def keep_screenshot(driver: object, path: Path) -> Path:
    """Save a screenshot (also into ``$DIALOGFORGE_SCREENSHOTS`` when set, for a person to look at)."""
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    folder = os.environ.get("DIALOGFORGE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / path.name)
    return path
