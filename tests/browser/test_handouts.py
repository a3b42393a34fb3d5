"""``make handouts``: one PDF per lesson, one page per slide, fragments merged, no blank page.

The handouts are printed once (``tools.build_handouts``, Chromium under Playwright) into a
temp folder. The page count is checked against the slides counted in the deck's HTML (an
independent count): one page per slide, plus the extra pages reveal.js gives a slide taller
than the canvas (the fit test in ``test_decks.py`` names those). A page is blank when it
carries neither an image nor any text beyond the slide number.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

pypdf = pytest.importorskip("pypdf")

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tools import build_handouts, build_slides  # noqa: E402

from .conftest import NOTEBOOK_DIR  # noqa: E402

LESSONS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def _image_count(resources) -> int:
    """Images anywhere in a page's resources (Chromium nests them in form XObjects)."""
    xobjects = (resources or {}).get("/XObject") or {}
    count = 0
    for ref in xobjects.values():
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Image":
            count += 1
        elif xobject.get("/Subtype") == "/Form":
            count += _image_count(xobject.get("/Resources"))
    return count


def _has_image(resources) -> bool:
    return _image_count(resources) > 0


def images_per_page(pdf: Path) -> list[int]:
    return [_image_count(page.get("/Resources")) for page in pypdf.PdfReader(pdf).pages]


def blank_pages(pdf: Path) -> list[int]:
    """1-based numbers of the pages with no image and no text but a slide number."""
    blank = []
    for number, page in enumerate(pypdf.PdfReader(pdf).pages, start=1):
        text = re.sub(r"[\d/\s]", "", page.extract_text() or "")
        if not text and not _has_image(page.get("/Resources")):
            blank.append(number)
    return blank


@pytest.fixture(scope="module")
def handouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, build_handouts.Handout]:
    node_modules = build_slides.ASSETS_PACKAGE_DIR / "node_modules"
    have = all((node_modules / src).exists() for src, _ in build_slides.OFFLINE_COPIES.values())
    if not have and shutil.which("npm") is None:
        pytest.skip("handouts need tools/slides_assets' npm packages (npm ci), and npm is missing")
    base = tmp_path_factory.mktemp("handouts")
    printed = build_handouts.build(
        LESSONS, base / "pdf", decks_dir=base / "decks", link_assets=True
    )
    return {Path(h.deck.name.removesuffix(".slides.html")).name: h for h in printed}


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_one_page_per_slide_with_fragments_merged(handouts, lesson):
    handout = handouts[lesson.stem]
    pages = len(pypdf.PdfReader(handout.pdf).pages)
    assert len(handout.pages_per_slide) == handout.slides, "reveal printed another set of slides"
    tall = {i: n for i, n in enumerate(handout.pages_per_slide, start=1) if n > 1}
    assert pages == handout.slides + sum(n - 1 for n in tall.values()), (
        f"{handout.pdf.name}: {pages} pages for {handout.slides} slides "
        f"(slides taking more than one page: {tall or 'none'})"
    )


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_no_page_is_blank(handouts, lesson):
    assert blank_pages(handouts[lesson.stem].pdf) == []


def test_blank_page_check_finds_a_blank_page(tmp_path):
    """The test above could not fail if this did not hold."""
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=720, height=450)
    path = tmp_path / "blank.pdf"
    with path.open("wb") as file:
        writer.write(file)
    assert blank_pages(path) == [1]


def link_targets(pdf: Path) -> list[str]:
    """The URI of every link annotation in ``pdf``."""
    targets = []
    for page in pypdf.PdfReader(pdf).pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action is not None and "/URI" in action:
                targets.append(str(action["/URI"]))
    return targets


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_no_link_points_at_this_machine(handouts, lesson):
    """A handout travels: a file:// link to the next deck would be dead on any other disk."""
    local = [t for t in link_targets(handouts[lesson.stem].pdf) if t.startswith("file:")]
    assert local == [], f"{lesson.stem}.pdf links to files on this machine: {local[:3]}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_image_the_slides_show_is_printed(handouts, lesson):
    """An explorer drawn after reveal's print layout pushed lesson 06's slide past its page,
    and Chromium left the whole widget off the PDF while the page count stayed right."""
    handout = handouts[lesson.stem]
    assert handout.too_tall == [], f"slides past their page: {handout.too_tall}"
    printed = images_per_page(handout.pdf)
    if len(printed) == len(handout.images_per_slide):  # one page per slide: page by page
        missing = [
            f"page {n}: {want} image(s) on the slide, {got} in the PDF"
            for n, (want, got) in enumerate(
                zip(handout.images_per_slide, printed, strict=True), start=1
            )
            if got < want
        ]
        assert missing == [], f"{handout.pdf.name}: " + "; ".join(missing)
    assert sum(printed) >= sum(handout.images_per_slide)


def test_image_count_finds_no_image_on_a_blank_page(tmp_path):
    """The test above could not fail if a page without its image still counted one."""
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=720, height=450)
    path = tmp_path / "blank.pdf"
    with path.open("wb") as file:
        writer.write(file)
    assert images_per_page(path) == [0]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_headings_print_without_their_anchor(handouts, lesson):
    """A heading's anchor shows on hover in a browser; unwrapped into text it printed a "¶"."""
    text = "".join(
        page.extract_text() or "" for page in pypdf.PdfReader(handouts[lesson.stem].pdf).pages
    )
    assert "¶" not in text
