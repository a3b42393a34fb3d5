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


def _has_image(resources) -> bool:
    """An image anywhere in a page's resources (Chromium nests them in form XObjects)."""
    xobjects = (resources or {}).get("/XObject") or {}
    for ref in xobjects.values():
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Image":
            return True
        if xobject.get("/Subtype") == "/Form" and _has_image(xobject.get("/Resources")):
            return True
    return False


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
