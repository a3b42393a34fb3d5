"""Print every lesson's deck to a PDF handout, one page per slide.

Usage::

    python -m tools.build_handouts [--out build/handouts] [NOTEBOOK ...]

Each lesson is exported as an offline deck (``tools/build_slides.py --offline``, into
``build/slides-offline/``: printing needs the scripts, and no network is needed), opened in
headless Chromium with ``?print-pdf&pdfSeparateFragments=false`` (reveal.js's print layout,
every fragment step merged onto its slide: lesson 01 prints 22 pages, one per slide and
subslide, not one per step), and
printed with Playwright's ``page.pdf()`` once the deck has settled (Reveal ready, the print
layout done, MathJax, widgets and images drawn). Headless ``chromium --print-to-pdf`` printed
a blank page in 3 of 5 tries; waiting for the deck is what makes it reliable.

A slide taller than the canvas prints on more than one page (nothing is cut off);
``tests/browser/test_decks.py`` names those slides. An explorer's image is drawn after that
layout: a slide it pushes past its page gets its explorer images scaled down to fit, and a slide
that still does not fit is named (and the command exits 1).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tools import build_slides

DEFAULT_OUT = build_slides.ROOT / "build" / "handouts"
PRINT_QUERY = "?print-pdf&pdfSeparateFragments=false"
LOAD_TIMEOUT_MS = 60_000  # a deck settles in 1-3 s here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
# reveal.js lays the print view out (one .pdf-page per slide, taller for a tall slide) and
# then fires pdf-ready; the page heights tell how many PDF pages each slide takes.
PRINT_LAYOUT_JS = """() => {
    const pages = Array.from(document.querySelectorAll('.reveal .pdf-page'));
    if (!pages.length || document.querySelector('.reveal.loading-scroll-mode')) return null;
    const pageHeight = Math.min(...pages.map(p => p.offsetHeight));
    return pages.map(p => Math.round(p.offsetHeight / pageHeight));
}"""


@dataclass
class Handout:
    deck: Path
    pdf: Path
    slides: int  # counted in the deck's HTML
    pages_per_slide: list[int]  # from reveal's print layout
    images_per_slide: list[int]  # shown on each printed slide, counted in its layout
    too_tall: list[int]  # 1-based slides that overflow their page even with images fitted
    seconds: float


# reveal.js sizes and centres each printed slide when it lays the print view out, but an
# explorer's image is drawn by the widget renderer later and can push the slide past its page:
# Chromium then leaves the whole widget off the PDF (lesson 06's explorer page printed blank).
# So, once the deck has settled, the explorer images of a slide that overflows its page are
# scaled down together to fit (to half their height at most), and the slide is centred again.
# Returns the 1-based numbers of slides that still do not fit.
FIT_LATE_IMAGES_JS = """() => {
    const margin = 8, tooTall = [];
    document.querySelectorAll('.reveal .pdf-page').forEach((page, index) => {
        const slide = page.querySelector(':scope > section');
        if (!slide) return;
        const room = page.clientHeight;
        const over = slide.offsetTop + slide.scrollHeight + margin - room;
        if (over <= 0) return;
        const images = Array.from(slide.querySelectorAll('.jupyter-widgets img'))
            .filter(img => img.offsetHeight > 0);
        const total = images.reduce((sum, img) => sum + img.offsetHeight, 0);
        if (total > 0) {
            const scale = Math.max(0.5, (total - over) / total);
            images.forEach(img => {
                img.style.maxHeight = Math.floor(img.offsetHeight * scale) + 'px';
            });
        }
        slide.style.top = Math.max(0, Math.floor((room - slide.scrollHeight) / 2)) + 'px';
        if (slide.offsetTop + slide.scrollHeight > room) tooTall.push(index + 1);
    });
    return tooTall;
}"""

# What the PDF must show: the images on each printed page, counted in the page's layout.
IMAGES_PER_PAGE_JS = """() => Array.from(document.querySelectorAll('.reveal .pdf-page')).map(
    page => Array.from(page.querySelectorAll('img')).filter(
        img => img.naturalWidth > 0 && img.offsetHeight > 0).length)"""

# A heading's hidden anchor (its pilcrow, shown on hover only) is a local link too: dropped,
# not unwrapped, or every heading prints with a "¶".
LOCAL_LINKS_TO_TEXT_JS = """() => document.querySelectorAll('a[href]').forEach(a => {
    if (a.protocol !== 'file:') return;
    if (getComputedStyle(a).display === 'none') a.remove();
    else a.replaceWith(...a.childNodes);
})"""


def find_chromium() -> str | None:
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def print_deck(page, deck: Path, pdf: Path) -> Handout:
    """Print one deck with an open Playwright ``page``; return what it printed."""
    start = time.perf_counter()
    for attempt in (1, 2):  # the widget renderer now and then never draws in print mode
        page.goto(deck.as_uri() + PRINT_QUERY, wait_until="domcontentloaded")
        page.wait_for_function("() => typeof window.deckSettled === 'function'",
                               timeout=LOAD_TIMEOUT_MS)  # fmt: skip
        page.wait_for_function(PRINT_LAYOUT_JS, timeout=LOAD_TIMEOUT_MS)
        pending = page.evaluate("() => window.deckSettled()")
        if not pending:
            break
        print(f"{deck.name}: still waiting for {', '.join(pending)} (try {attempt} of 2)",
              file=sys.stderr)  # fmt: skip
    too_tall = page.evaluate(FIT_LATE_IMAGES_JS)
    pages_per_slide = page.evaluate(PRINT_LAYOUT_JS)
    images_per_slide = page.evaluate(IMAGES_PER_PAGE_JS)
    # A PDF keeps links as absolute URLs: a link to the next deck would point at this
    # machine's disk. Keep the words, drop the link (web links stay).
    page.evaluate(LOCAL_LINKS_TO_TEXT_JS)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    return Handout(
        deck=deck,
        pdf=pdf,
        slides=build_slides.count_deck_slides(deck.read_text(encoding="utf-8")),
        pages_per_slide=pages_per_slide,
        images_per_slide=images_per_slide,
        too_tall=too_tall,
        seconds=time.perf_counter() - start,
    )


def print_decks(decks: list[Path], out: Path) -> list[Handout]:
    """Print ``decks`` (offline decks, built) into ``out/<lesson>.pdf`` with one browser."""
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("handouts need Chromium (/usr/bin/chromium): apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(
                viewport={"width": build_slides.SLIDE_WIDTH, "height": build_slides.SLIDE_HEIGHT}
            )
            return [
                print_deck(page, deck, out / deck.name.replace(".slides.html", ".pdf"))
                for deck in decks
            ]
        finally:
            browser.close()


def build(
    notebooks: list[Path],
    out: Path = DEFAULT_OUT,
    decks_dir: Path | None = None,
    link_assets: bool = False,
) -> list[Handout]:
    """Export ``notebooks`` as offline decks into ``decks_dir``, then print them into ``out``."""
    reports = build_slides.build(notebooks, decks_dir, offline=True, link_assets=link_assets)
    return print_decks([report.deck for report in reports], out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.build_handouts", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every lesson")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: build/handouts")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or build_slides.lesson_notebooks()
    missing = [str(notebook) for notebook in notebooks if not notebook.is_file()]
    if missing or not notebooks:
        print(f"no such notebook: {', '.join(missing) or 'no lessons'}", file=sys.stderr)
        return 2
    try:
        handouts = build(notebooks, args.out)
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for h in handouts:
        pages = sum(h.pages_per_slide)
        tall = [i for i, n in enumerate(h.pages_per_slide, start=1) if n > 1]
        note = f"; slide(s) {', '.join(map(str, tall))} take more than one page" if tall else ""
        print(f"{h.pdf}: {pages} pages for {h.slides} slides{note} ({h.seconds:.1f} s)")
        if h.too_tall:
            cut = ", ".join(map(str, h.too_tall))
            print(f"{h.pdf}: slide(s) {cut} run past their page: split them with a subslide")
    return 1 if any(h.too_tall for h in handouts) else 0


if __name__ == "__main__":
    raise SystemExit(main())
