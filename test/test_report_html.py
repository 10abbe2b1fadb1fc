"""report.html opened in a real headless browser (Debian's chromium): tables and images render."""

import json
import re
import shutil
import subprocess

import pytest

from follow_line.bench.runner import plan, run_bench

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  document.body.setAttribute("data-probe", JSON.stringify({
    tables: [...document.querySelectorAll("table")].map(t => t.rows.length),
    captions: [...document.querySelectorAll("caption")].map(c => c.textContent),
    images: images.length,
    drawn: images.filter(i => i.complete && i.naturalWidth > 100).length,
    widest: Math.max(...images.map(i => i.getBoundingClientRect().width)),
  }));
});
</script></body>"""


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")
def test_report_renders_its_tables_and_images_in_chromium(tmp_path, oval_file):
    runs = plan(["expert"], [str(oval_file)], ["clockwise", "anticlockwise"],
                perturbations=["clean", "dark"])
    run_bench(runs, tmp_path, jobs=1, progress=False)
    probe = tmp_path / "probe.html"  # beside report.html: same relative links
    probe.write_text((tmp_path / "report.html").read_text().replace("</body>", PROBE))
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
         "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120, check=True).stdout
    found = json.loads(re.search(r'data-probe="([^"]*)"', dom).group(1).replace("&quot;", '"'))
    assert found["captions"][:2] == ["Driving results (completion, lap time m:ss; cw clockwise, "
                                     "acw anticlockwise)", "Robustness (mean completion, runs "
                                     "completed / runs)"]
    driving, robustness = found["tables"][:2]
    assert driving == 2 and robustness == 2  # header + the explicit driver
    assert found["tables"][-1] == 1 + len(runs)  # every run, linked
    plots = list((tmp_path / "plots").glob("*.png"))
    assert found["images"] == found["drawn"] == len(plots) == 4  # map, cte, laps, robustness
    assert found["widest"] > 200
