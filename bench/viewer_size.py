"""Size overhead of the on-disc viewer for a CT study, and time to first image in Chromium.

    .venv/bin/python bench/viewer_size.py [--count 500] [--size 512] [--no-browser] [--no-noise]

Two studies of ``count`` CT slices (``size`` x ``size`` x 16 bit, Explicit VR LE):

* ``samples``: ``publisher.demo.samples.ct_volume`` as is; its phantom is piecewise constant with a
  periodic texture, so it compresses far better than a patient does;
* ``noisy``: the same slices plus correlated noise (sigma about 8 HU, ``publisher.demo.ct``),
  closer to real CT, to keep the figure honest.

For each it prints the DICOM bytes, the viewer bytes (code + data scripts + thumbnails), the
overhead in percent of the DICOM data (target <= 60 %), the write time, and, in Chromium
(``/usr/bin/chromium``, default file:// settings), the time from navigation to the first image
drawn, and to the last slice after pressing End.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from publisher.demo.ct import noisy_volume  # noqa: E402
from publisher.demo.samples import as_file, ct_volume  # noqa: E402
from viewer_bundle import content_from_files, estimate_size, write_viewer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def lay_out(root: Path, count: int, size: int, noise: bool) -> list[tuple[str, Path]]:
    files = []
    slices = noisy_volume(count, size, size) if noise else ct_volume(count, size, size, key="bench")
    for i, ds in enumerate(slices):
        rel = f"DICOM/P0000001/S0000001/I{i + 1:07d}"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        as_file(ds).save_as(path, enforce_file_format=True)
        files.append((rel, path))
    return files


def browser_times(start_page: Path, count: int) -> tuple[float, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(start_page.as_uri())
        page.wait_for_function("window.DV && DV.shown", timeout=120_000)
        first_ms = page.evaluate("DV.firstImageAt")
        page.focus("#viewport")
        t0 = time.perf_counter()
        page.keyboard.press("End")
        page.wait_for_function(f"DV.shown.frame === {count - 1}", timeout=120_000)
        last_ms = (time.perf_counter() - t0) * 1000
        browser.close()
    return first_ms, last_ms


def run(count: int, size: int, noise: bool, browser: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="viewer_bench_"))
    try:
        files = lay_out(work, count, size, noise)
        dicom = sum(p.stat().st_size for _, p in files)
        content = content_from_files(files)
        t0 = time.perf_counter()
        estimate = estimate_size(content)
        t1 = time.perf_counter()
        result = write_viewer(content, work)
        t2 = time.perf_counter()
        data = sum((work / f).stat().st_size for f in result.files if "/DATA/" in f)
        label = "noisy" if noise else "samples"
        print(f"[{label}] {count} CT {size}x{size}x16: DICOM {dicom / 1e6:.1f} MB, viewer {result.size / 1e6:.1f} MB "
              f"(data {data / 1e6:.1f} MB) = {100 * result.size / dicom:.1f} % of the DICOM data (target <= 60 %); "
              f"estimate {estimate / 1e6:.1f} MB ({estimate / result.size:.3f} x written) in {t1 - t0:.2f} s; "
              f"write {t2 - t1:.1f} s")
        if browser:
            if not Path(CHROMIUM).exists():
                print(f"[{label}] {CHROMIUM} missing: no browser timing")
                return
            first_ms, last_ms = browser_times(work / result.start_page, count)
            print(f"[{label}] Chromium: first image {first_ms:.0f} ms after navigation start; "
                  f"End key to last slice {last_ms:.0f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--no-noise", action="store_true", help="only the samples study")
    args = ap.parse_args()
    run(args.count, args.size, False, not args.no_browser)
    if not args.no_noise:
        run(args.count, args.size, True, not args.no_browser)


if __name__ == "__main__":
    main()
