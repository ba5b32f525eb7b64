"""Screenshots of a run's results.html in headless Chromium, after using it the way a reader would.

Takes three pictures of the page: as it opens (counts, families, frontier), with every family
collapsed (the matrices fold to one line per family), and with a filter typed in the box (only the
matching models' rows and their families stay). It clicks the page's own buttons and types into
its own filter box, so the pictures show what those controls do. `--section ID` adds a picture of
one element of the page as opened, e.g. `--section triage` (the Triage section) or
`--section triage-<triage_id>` (one signature's row), as 0-<ID>.png.

Needs playwright (`pip install playwright`; not a project dependency) and a Chromium:
/usr/bin/chromium (Debian's `chromium` package) unless --chromium says where.

Usage: python scripts/report_screenshots.py reports/latest/results.html OUT_DIR [--filter hf_] [--section triage]
       [--chromium PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _show_matrices(page: object) -> None:
    """Scroll the matrices' heading to the top (the filter box stays above it: it is sticky)."""
    page.evaluate(  # type: ignore[attr-defined]
        "[...document.querySelectorAll('h2')].find(h => h.textContent.startsWith('Compatibility matrices'))"
        ".scrollIntoView()"
    )


def _photograph_section(page: object, ident: str, out: Path) -> bool:
    """The element with id `ident` as 0-<ident>.png, before the filter hides any of its rows."""
    section = page.locator(f"[id='{ident}']")  # type: ignore[attr-defined]
    if section.count() == 0:
        print(f"report_screenshots: the page has no element with id {ident!r} (no red case triaged?)")
        return False
    section.screenshot(path=str(out / f"0-{ident}.png"))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a results.html")
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    parser.add_argument("--filter", default="hf_ mismatch", help="what to type in the filter box")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium binary")
    parser.add_argument("--section", default="", help="the id of an element to photograph too (e.g. triage)")
    args = parser.parse_args(argv)
    if not args.report.is_file():
        print(f"report_screenshots: {args.report} is not a file; give a run's results.html", file=sys.stderr)
        return 2
    if not Path(args.chromium).is_file():
        print(f"report_screenshots: no Chromium at {args.chromium}; install Debian's chromium or give --chromium")
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("report_screenshots: needs playwright; pip install playwright (it uses the Chromium given)")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=args.chromium, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(args.report.resolve().as_uri())
        page.screenshot(path=str(args.out / "1-opened.png"))
        if args.section and not _photograph_section(page, args.section, args.out):
            browser.close()
            return 2
        families = page.locator("details.family")
        opened = families.evaluate_all("groups => groups.filter(g => g.open).length")
        page.get_by_role("button", name="collapse all").click()
        _show_matrices(page)
        page.screenshot(path=str(args.out / "2-collapsed.png"))
        closed = families.evaluate_all("groups => groups.filter(g => !g.open).length")
        page.locator("#zoo-filter").fill(args.filter)
        _show_matrices(page)
        page.screenshot(path=str(args.out / "3-filtered.png"))
        visible = families.evaluate_all("groups => groups.filter(g => g.style.display !== 'none').length")
        count = page.locator("#zoo-filter-count").inner_text()
        browser.close()
    print(
        f"{opened} family groups open on load; {closed} closed after 'collapse all'; "
        f"filter {args.filter!r}: {count}, {visible} family groups left; pictures in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
