"""A real browser for the web page's tests: Debian's headless Chromium (``/usr/bin/chromium``)
driven by Selenium through Debian's chromedriver. ``make browser`` (run by ``make test`` and CI)
installs both; nothing here downloads a browser or a driver."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Without the background-networking flags Chromium's own connections (updates, sync, field trials)
# are refused by this machine's closed network and slow everything down.
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,800",
)  # fmt: skip
T = TypeVar("T")


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a fresh profile, quit at the end."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="vidscribe-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        try:
            yield driver
        finally:
            driver.quit()


def wait_for(driver: webdriver.Chrome, condition: Callable[[webdriver.Chrome], T], seconds: float = 5.0) -> T:
    """``condition(driver)`` once it is truthy (polled), or a TimeoutException after ``seconds``."""
    result: T = WebDriverWait(driver, seconds, poll_frequency=0.05).until(condition)
    return result


def script(driver: webdriver.Chrome, source: str, *args: Any) -> Any:
    return driver.execute_script(source, *args)
