"""Every slide of every deck fits the 1280 x 800 canvas, measured in headless Chromium.

The decks are built once (offline, so no CDN is needed) into a temp folder; one browser
opens each deck at the canvas size, waits for it to settle (``window.deckSettled()`` from
``tools/build_slides.py``: Reveal ready, MathJax idle, widgets and images drawn and fitted),
then visits every slide by ``location.hash`` and compares the present section's scroll size
with the canvas. Hidden fragments take their space too, so a slide that fits shows every
step. A slide that does not fit is named (deck, slide number and hash, title, measured size)
with the cell where a ``subslide`` would split it.

Also: a deck opened directly on a widget slide (a link to ``#/8``, or a reload) is laid out
like one reached by the arrow keys, its plot inside the canvas; and on a slide still too
tall, a fragment revealed below the fold is scrolled into view.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tools import build_slides  # noqa: E402

from .conftest import NOTEBOOK_DIR  # noqa: E402

LESSONS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
WIDTH, HEIGHT = build_slides.SLIDE_WIDTH, build_slides.SLIDE_HEIGHT
SETTLE_TIMEOUT_MS = 30_000  # a deck settles in 1-3 s here

# --- JavaScript run in the deck --------------------------------------------------------

SLIDES_JS = "() => Reveal.getSlides().map(s => Reveal.getIndices(s))"
AT_JS = "([h, v]) => { const i = Reveal.getIndices(); return i.h === h && (i.v || 0) === v; }"
MEASURE_JS = """() => {
    const slide = Reveal.getCurrentSlide();
    const heading = slide.querySelector('h1, h2, h3, h4');
    const top = slide.getBoundingClientRect().top, scale = Reveal.getScale();
    const cells = Array.from(slide.querySelectorAll('.jp-Cell')).map(cell => ({
        id: cell.id.replace('cell-id=', ''),
        bottom: Math.round((cell.getBoundingClientRect().bottom - top) / scale
                           + slide.scrollTop),
        text: (cell.querySelector('.jp-InputArea-editor, .jp-RenderedHTMLCommon, '
              + '.jp-OutputArea-output') || cell).textContent.trim().split('\\n')[0].slice(0, 50),
    }));
    return {
        height: slide.scrollHeight, width: slide.scrollWidth,
        title: heading ? heading.textContent.replace('\\u00b6', '').trim() : '',
        top: slide.style.top, cells: cells,
        widgets: slide.querySelectorAll('.widget-output img, .jupyter-widgets img').length,
    };
}"""
# Where the present slide's images sit on the canvas (CSS px of the 1280 x 800 slide).
IMAGE_BOXES_JS = """() => {
    const slides = document.querySelector('.reveal .slides').getBoundingClientRect();
    const scale = Reveal.getScale();
    return Array.from(Reveal.getCurrentSlide().querySelectorAll('img')).map(img => {
        const box = img.getBoundingClientRect();
        return {top: (box.top - slides.top) / scale, bottom: (box.bottom - slides.top) / scale};
    });
}"""


@dataclass
class Slide:
    deck: str
    number: int  # 1-based, as the deck's counter shows it
    h: int
    v: int
    title: str
    width: int
    height: int
    top: str  # the style.top Reveal centred it with
    widgets: int
    cells: list[dict] = field(default_factory=list)

    @property
    def hash(self) -> str:
        return f"#/{self.h}/{self.v}" if self.v else f"#/{self.h}"

    def fits(self) -> bool:
        return self.width <= WIDTH and self.height <= HEIGHT

    def advice(self) -> str:
        """What to split: the first cell that ends below the canvas."""
        below = [cell for cell in self.cells if cell["bottom"] > HEIGHT]
        if self.height <= HEIGHT or not below:
            return "too wide: wrap or shorten its widest line, table or figure"
        first = below[0]
        if self.cells.index(first) == 0:
            return f"its first cell {first['id']} alone is taller: shorten it"
        return (
            f"make cell {first['id']} ({first['text']!r}) a subslide"
            " (or trim the slide; tag a cell remove-input to show only its output)"
        )

    def describe(self) -> str:
        return (
            f"{self.deck} slide {self.number} ({self.hash}) {self.title!r}: "
            f"{self.width} x {self.height} px on the {WIDTH} x {HEIGHT} canvas; {self.advice()}"
        )


def settle(page) -> None:
    """Wait for the deck to be drawn; fail, naming what never finished, if it gives up."""
    pending = page.evaluate("() => window.deckSettled()")
    assert pending == [], f"{page.url}: the deck did not settle, still waiting for {pending}"


def open_deck(page, deck: Path, hash_: str = "") -> None:
    page.goto(deck.as_uri() + hash_, wait_until="domcontentloaded")
    page.wait_for_function("() => typeof window.deckSettled === 'function'",
                           timeout=SETTLE_TIMEOUT_MS)  # fmt: skip
    settle(page)


def measure_deck(page, deck: Path) -> list[Slide]:
    """Every slide of ``deck``, visited by ``location.hash``, with its measured size."""
    open_deck(page, deck)
    slides = []
    for number, indices in enumerate(page.evaluate(SLIDES_JS), start=1):
        h, v = indices["h"], indices.get("v") or 0
        page.evaluate(f"() => {{ location.hash = '#/{h}/{v}'; }}")
        page.wait_for_function(AT_JS, arg=[h, v], timeout=SETTLE_TIMEOUT_MS)
        settle(page)
        m = page.evaluate(MEASURE_JS)
        slides.append(
            Slide(deck.name.removesuffix(".slides.html"), number, h, v, m["title"], m["width"],
                  m["height"], m["top"], m["widgets"], m["cells"])
        )  # fmt: skip
    return slides


# --- fixtures ---------------------------------------------------------------------------


def _offline_decks_or_skip(notebooks: list[Path], out: Path) -> dict[str, Path]:
    node_modules = build_slides.ASSETS_PACKAGE_DIR / "node_modules"
    have = all((node_modules / src).exists() for src, _ in build_slides.OFFLINE_COPIES.values())
    if not have and shutil.which("npm") is None:
        pytest.skip("the decks need tools/slides_assets' npm packages (npm ci), and npm is missing")
    reports = build_slides.build(notebooks, out, offline=True, link_assets=True)
    return {report.notebook.stem: report.deck for report in reports}


@pytest.fixture(scope="module")
def decks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every lesson's deck, built offline (the scripts from local copies: no network here)."""
    return _offline_decks_or_skip(LESSONS, tmp_path_factory.mktemp("decks"))


@pytest.fixture(scope="module")
def page(chromium):
    page = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    page.close()


@pytest.fixture(scope="module")
def measured(decks, page) -> dict[str, list[Slide]]:
    return {stem: measure_deck(page, deck) for stem, deck in decks.items()}


# --- the tests --------------------------------------------------------------------------


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_slide_fits_the_canvas(measured, page, lesson):
    slides = measured[lesson.stem]
    assert slides, f"{lesson.stem}: the deck has no slides"
    assert page.errors == [], f"JavaScript errors in the decks: {page.errors}"
    too_big = [slide.describe() for slide in slides if not slide.fits()]
    assert not too_big, f"{len(too_big)} slide(s) do not fit:\n" + "\n".join(too_big)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_a_deck_opened_on_a_widget_slide_is_not_pushed_down(measured, decks, chromium, lesson):
    widget_slides = [slide for slide in measured[lesson.stem] if slide.widgets]
    if not widget_slides:
        pytest.skip(f"{lesson.stem} has no widget slide")
    fresh = chromium.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    try:
        for slide in widget_slides:
            open_deck(fresh, decks[lesson.stem], slide.hash)  # as a link or a reload would
            top = fresh.evaluate("() => Reveal.getCurrentSlide().style.top")
            assert top == slide.top, (
                f"{slide.describe()}: opened directly it sits at top {top}, "
                f"reached by navigation at {slide.top}"
            )
            for box in fresh.evaluate(IMAGE_BOXES_JS):
                assert box["top"] >= 0 and box["bottom"] <= HEIGHT + 1, (
                    f"{slide.deck} {slide.hash}: a plot spans {box['top']:.0f}-"
                    f"{box['bottom']:.0f} px, outside the {HEIGHT} px canvas"
                )
    finally:
        fresh.close()


def test_the_fit_check_names_a_slide_that_is_too_tall(tmp_path, page):
    """The fit test could not fail if this did not: one slide fits, one is 40 lines long."""
    code = "\n".join(f"x_{i} = {i}  # a line of code" for i in range(40))
    cells = [
        nbformat.v4.new_markdown_cell("# Fits\nOne line."),
        nbformat.v4.new_markdown_cell("## Too tall\nForty lines follow."),
        nbformat.v4.new_code_cell("y = 1"),
        nbformat.v4.new_code_cell(code),
    ]
    for cell, kind in zip(cells, ["slide", "slide", "-", "-"], strict=True):
        cell.metadata["slideshow"] = {"slide_type": kind}
    notebook = tmp_path / "00_toy.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), notebook)
    deck = _offline_decks_or_skip([notebook], tmp_path / "decks")["00_toy"]
    fits, tall = measure_deck(page, deck)
    assert fits.fits() and fits.title == "Fits"
    assert not tall.fits() and tall.title == "Too tall" and tall.height > HEIGHT
    message = tall.describe()
    assert message.startswith("00_toy slide 2 (#/1) 'Too tall': 1280 x ")
    assert f"make cell {cells[3].id} " in message


FRAGMENT_BOX_JS = """() => {
    const slide = Reveal.getCurrentSlide();
    const fragment = slide.querySelector('.fragment.visible:last-of-type')
        || slide.querySelector('.fragment.visible');
    const s = slide.getBoundingClientRect(), f = fragment.getBoundingClientRect();
    return {scrollTop: slide.scrollTop, top: f.top - s.top, bottom: f.bottom - s.top,
            visible: s.height};
}"""


def test_a_fragment_below_the_fold_is_scrolled_into_view(tmp_path, page):
    """Until a too-tall slide is split, its next step must still show something."""
    code = "\n".join(f"x_{i} = {i}" for i in range(45))
    cells = [
        nbformat.v4.new_markdown_cell("## Tall"),
        nbformat.v4.new_code_cell(code),
        nbformat.v4.new_markdown_cell("The step at the bottom."),
    ]
    for cell, kind in zip(cells, ["slide", "-", "fragment"], strict=True):
        cell.metadata["slideshow"] = {"slide_type": kind}
    notebook = tmp_path / "00_tall.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), notebook)
    deck = _offline_decks_or_skip([notebook], tmp_path / "decks")["00_tall"]
    open_deck(page, deck)
    page.evaluate("() => Reveal.next()")
    page.wait_for_function("() => Reveal.getIndices().f === 0")
    settle(page)
    box = page.evaluate(FRAGMENT_BOX_JS)
    assert box["scrollTop"] > 0, box
    assert box["bottom"] <= box["visible"] + 1, f"the revealed step is below the fold: {box}"
