"""Fixtures shared by the test modules that drive a real browser.

The browser is Debian's ``/usr/bin/chromium`` driven by Playwright (never ``playwright install``).
Without it the browser tests are skipped, except when ``NNLIB_REQUIRE_BROWSER=1`` (CI), where a
missing browser is a failure.
"""
import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module."""
    if not CHROMIUM.exists():
        if os.environ.get("NNLIB_REQUIRE_BROWSER") == "1":
            pytest.fail("NNLIB_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing (apt-get install chromium)")
        pytest.skip("Debian chromium not installed (apt-get install chromium); browser test skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch thread (as the chapters do), restoring the old count after it."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
