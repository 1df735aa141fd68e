"""The report as a browser shows it: headless Chromium (Debian's `chromium`) loads the page
from disk with networking off, every image decodes, and the screenshot is not blank.

Without chromium the test skips, unless STOCKSDB_REQUIRE_CHROMIUM is set (.ci/run sets it and
installs chromium), where it fails saying what to install."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
# Added to a copy of the page (the report itself has no script): once everything has loaded,
# record each image's state in the DOM, where --dump-dom shows it.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const out = document.createElement("pre");
  out.id = "image-probe";
  out.textContent = JSON.stringify({
    total: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    sections: Array.from(document.querySelectorAll("section")).map(s => s.id)});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium binary, or skip (fail under STOCKSDB_REQUIRE_CHROMIUM). Session-scoped so
    that it is asked before the (session-scoped) report is built."""
    found = shutil.which("chromium")
    if found:
        return found
    message = ("chromium is not installed; install it with `apt-get install -y chromium` "
               "(.ci/run does so when it is missing)")
    if os.environ.get("STOCKSDB_REQUIRE_CHROMIUM"):
        pytest.fail(message + "; STOCKSDB_REQUIRE_CHROMIUM is set, so this run needs it")
    pytest.skip(message)


def run_chromium(binary: str, profile: Path, *args: str) -> str:
    """Chromium's stdout for ARGS, in a fresh profile with networking off."""
    done = subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_chromium_renders_every_section_and_image(chromium: str, default_report: Path,
                                                  tmp_path: Path) -> None:
    """Every <img> is complete with a natural width, the six sections are in the DOM, and a
    1280x4000 screenshot has ink: not one flat colour, and over 3% of it not white."""
    binary = chromium
    # The page needs no file beside it: a copy with the probe is read from elsewhere.
    probed = tmp_path / "probed.html"
    probed.write_text((default_report / "index.html").read_text(encoding="utf-8")
                      .replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    dom = run_chromium(binary, tmp_path / "profile-dom", "--virtual-time-budget=10000",
                       "--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="image-probe">(.*?)</pre>', dom, flags=re.S)
    assert found, dom[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"'))
    assert probe["total"] >= 8 and probe["broken"] == [], probe
    assert probe["sections"] == ["coverage", "rejections", "gates", "runs", "symbols",
                                 "findings"]
    shot = tmp_path / "shot.png"
    run_chromium(binary, tmp_path / "profile-shot", f"--screenshot={shot}",
                 "--window-size=1280,4000", (default_report / "index.html").as_uri())
    pixels = np.asarray(Image.open(shot).convert("L"), dtype="float64")
    assert pixels.shape == (4000, 1280)
    assert pixels.std() > 20, pixels.std()
    assert (pixels < 250).mean() > 0.03, (pixels < 250).mean()
