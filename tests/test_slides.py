"""The lesson decks: every lesson exports, with a sensible number of slides, its
widgets, its speaker notes (outside fragments, so they show from a slide's first
step), links to the other decks, and nothing that should stay out (``skip``
cells, answers, ``remove-input`` code); offline decks load every script and
style sheet from local copies, online ones the same pinned versions from a CDN;
the two kinds never share a folder, and the index lists every deck built.

Every lesson is exported once per session (online mode, into a temp folder);
the offline check exports one lesson with the npm assets.
"""

from __future__ import annotations

import html
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tools/ is a folder of scripts, not an installed package
    sys.path.insert(0, str(ROOT))
from tools import build_slides  # noqa: E402

LESSONS = build_slides.lesson_notebooks()
MIN_SLIDES, MAX_SLIDES = 5, 60
REMOTE = re.compile(r"^(https?:)?//", re.IGNORECASE)


# --- helpers ---------------------------------------------------------------------


class _SlideText(HTMLParser):
    """The text inside ``<div class="slides">``, and separately inside speaker notes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.notes: list[str] = []
        self._depth = 0  # <div> depth inside the slides div (0 = outside)
        self._in_notes = 0

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "div" and (self._depth or "slides" in classes):
            self._depth += 1
        if tag == "aside" and "notes" in classes:
            self._in_notes += 1

    def handle_endtag(self, tag):
        if tag == "div" and self._depth:
            self._depth -= 1
        if tag == "aside" and self._in_notes:
            self._in_notes -= 1

    def handle_data(self, data):
        if self._depth:
            (self.notes if self._in_notes else self.parts).append(data)


class _NotesPlacement(HTMLParser):
    """For every ``<aside class="notes">``: was it inside a ``<div class="fragment">``?"""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_fragment: list[bool] = []
        self._divs: list[bool] = []  # open <div>s: True for a fragment

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "div":
            self._divs.append("fragment" in classes)
        if tag == "aside" and "notes" in classes:
            self.in_fragment.append(any(self._divs))

    def handle_endtag(self, tag):
        if tag == "div" and self._divs:
            self._divs.pop()


def notes_in_fragments(deck_html: str) -> int:
    """How many speaker notes sit inside a fragment (reveal.js shows those only at that step)."""
    parser = _NotesPlacement()
    parser.feed(deck_html)
    return sum(parser.in_fragment)


def _normalise(text: str) -> str:
    """Markdown or rendered text reduced to words, so the two can be compared."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [label](url) -> label
    text = re.sub(r"^\s*(#+|>|[-*+]|\d+\.)\s+", "", text)  # headings, quotes, list markers
    text = re.sub(r"\*\*|__|`", "", text)
    return " ".join(text.split())


def _cell_lines(cell: dict) -> set[str]:
    lines = set(cell.get("source", "").splitlines())
    for output in cell.get("outputs", []):
        text = output.get("text") or output.get("data", {}).get("text/plain", "")
        lines.update("".join(text).splitlines() if isinstance(text, list) else text.splitlines())
    return {_normalise(line) for line in lines}


def leaked_lines(deck_html: str, nb: nbformat.NotebookNode) -> list[str]:
    """Lines of left-out cells (``skip``, answers) that show up in the deck.

    Only distinctive lines are looked for: at least 20 characters and three
    words, and not found in any shown cell (so a shared import is not a leak).
    """
    prepared, _ = build_slides.prepare_for_slides(nb)
    hidden, shown = set(), set()
    for cell in prepared.cells:
        lines = _cell_lines(cell)
        if build_slides.slide_type(cell) == "skip":
            hidden |= lines
        else:
            shown |= lines
    parser = _SlideText()
    parser.feed(deck_html)
    deck_text = " ".join(" ".join(parser.parts + parser.notes).split())
    shown_text = "\n".join(shown)
    distinctive = {
        line
        for line in hidden
        if len(line) >= 20 and len(line.split()) >= 3 and line not in shown_text
    }
    return sorted(line for line in distinctive if line in deck_text)


def _local_references(deck_html: str) -> list[str]:
    """Every URL the deck loads: script and style sheet tags, require() modules, the widget
    renderer and MathJax."""
    urls = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", deck_html)
    urls += re.findall(r"<link[^>]*\bhref=\"([^\"]+)\"", deck_html)
    urls += re.findall(r"import\s+\w+\s+from\s+'([^']+)'", deck_html)
    require = re.search(r"require\(\s*\{.*?\},\s*\[(.*?)\]", deck_html, flags=re.S)
    assert require, "the deck's require([...]) of reveal.js was not found"
    urls += re.findall(r"\"([^\"]+)\"", require.group(1))
    urls += re.findall(r"var widgetRendererSrc = '([^']+)'", deck_html)
    return urls


# --- the decks --------------------------------------------------------------------


@pytest.fixture(scope="session")
def decks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, build_slides.DeckReport]:
    """Every lesson exported once (the ``make slides`` code path)."""
    out = tmp_path_factory.mktemp("slides")
    reports = build_slides.build(LESSONS, out)
    return {report.notebook.name: report for report in reports}


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_exports_with_the_slides_its_metadata_asks_for(decks, lesson):
    report = decks[lesson.name]
    deck = report.deck.read_text(encoding="utf-8")
    prepared, _ = build_slides.prepare_for_slides(nbformat.read(lesson, as_version=4))
    assert report.slides == build_slides.expected_slide_count(prepared)
    assert MIN_SLIDES <= report.slides <= MAX_SLIDES
    assert (report.deck.parent / "index.html").read_text().count(report.deck.name) == 1
    assert "<title>" in deck and 'class="reveal"' in deck


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_no_skip_or_answer_content_leaks_into_a_deck(decks, lesson):
    deck = decks[lesson.name].deck.read_text(encoding="utf-8")
    assert leaked_lines(deck, nbformat.read(lesson, as_version=4)) == []


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_widgets_and_speaker_notes_reach_the_deck(decks, lesson):
    nb = nbformat.read(lesson, as_version=4)
    deck = decks[lesson.name].deck.read_text(encoding="utf-8")
    prepared, _ = build_slides.prepare_for_slides(nb)
    shown = [c for c in prepared.cells if build_slides.slide_type(c) != "skip"]
    views = sum(
        "application/vnd.jupyter.widget-view+json" in output.get("data", {})
        for cell in shown
        for output in cell.get("outputs", [])
    )
    assert deck.count('<script type="application/vnd.jupyter.widget-view+json">') == views
    if views:  # their stored state (sliders, the plot in the Output widget) is embedded
        assert 'type="application/vnd.jupyter.widget-state+json"' in deck
    notes = sum(build_slides.slide_type(c) == "notes" for c in prepared.cells)
    assert notes >= 1, f"{lesson.name} has no speaker notes (cells with slide_type 'notes')"
    assert deck.count('<aside class="notes tex2jax_ignore">') == notes


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_speaker_notes_show_from_the_first_step_of_their_slide(decks, lesson):
    deck = decks[lesson.name].deck.read_text(encoding="utf-8")
    assert '<aside class="notes' in deck
    assert notes_in_fragments(deck) == 0


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_links_between_lessons_point_at_the_decks(decks, lesson):
    deck = decks[lesson.name].deck.read_text(encoding="utf-8")
    assert not re.findall(r'href="[^"]*\.ipynb', deck)
    for target in re.findall(r'href="(\d\d_[^"#]+\.slides\.html)', deck):
        assert (decks[lesson.name].deck.parent / target).is_file(), f"{target} was not built"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_relative_link_of_a_deck_resolves_beside_it(decks, lesson):
    """Lesson 06's "lesson map in the README" pointed at ../README.md, which is not beside
    the decks (build/slides/): a dead link on the last slide."""
    deck = decks[lesson.name].deck
    targets = re.findall(r'href="(?![a-z][a-z0-9+.-]*:|#)([^"#?]+)', deck.read_text("utf-8"))
    dead = sorted({t for t in targets if not (deck.parent / html.unescape(t)).exists()})
    assert dead == [], f"{deck.name} links to {dead}"


def test_project_file_links_keep_their_words_and_lesson_links_their_target():
    markdown = "[the map](../README.md#the-lessons) and [Lesson 02](02_deep_mlp.ipynb)"
    assert build_slides.lesson_links_to_decks(markdown) == (
        "the map and [Lesson 02](02_deep_mlp.slides.html)"
    )


def test_the_index_lists_every_built_deck_not_only_the_last_export(tmp_path):
    out = tmp_path / "slides"
    build_slides.build(LESSONS, out)
    build_slides.build(LESSONS[:1], out)  # one lesson again, e.g. after editing it
    index = (out / "index.html").read_text(encoding="utf-8")
    for lesson in LESSONS:
        assert index.count(f'href="{lesson.stem}.slides.html"') == 1
    assert build_slides.deck_title(LESSONS[-1]) in html.unescape(index)


# --- versions and folders -------------------------------------------------------------


def test_online_and_offline_decks_load_the_same_pinned_versions():
    versions = build_slides.pinned_versions()
    online, offline = build_slides.asset_urls(False), build_slides.asset_urls(True)
    assert online.keys() == offline.keys() == build_slides.OFFLINE_COPIES.keys()
    for name, (src, _) in build_slides.OFFLINE_COPIES.items():
        package, _ = build_slides._split_package(src)
        assert online[name].startswith(f"{build_slides.CDN}/{package}@{versions[package]}")
        assert not REMOTE.match(offline[name])
    assert online["reveal.js"].endswith("reveal.js@" + versions["reveal.js"])
    assert re.fullmatch(r"[45]\.\d+\.\d+", versions["reveal.js"])  # 6 renders blank
    assert "@*" not in online["widget renderer"]


def test_online_deck_loads_exactly_the_pinned_urls(decks):
    deck = decks[LESSONS[0].name].deck.read_text(encoding="utf-8")
    urls = set(_local_references(deck))
    pinned = build_slides.asset_urls(False)
    assert pinned["reveal.js"] + "/dist/reveal.js" in urls
    assert {pinned["require.js"], pinned["jQuery"], pinned["widget renderer"]} <= urls
    assert pinned["MathJax"] in urls
    assert not [url for url in urls if REMOTE.match(url) and not url.startswith(build_slides.CDN)]


def test_online_and_offline_decks_refuse_to_share_a_folder(tmp_path):
    path = tmp_path / "00_toy.ipynb"
    nbformat.write(_toy_notebook(), path)
    build_slides.build([path], tmp_path / "out")
    with pytest.raises(ValueError, match="holds online decks"):
        build_slides.claim_folder(tmp_path / "out", offline=True)
    assert build_slides.DEFAULT_OUT != build_slides.DEFAULT_OFFLINE_OUT


# --- offline ----------------------------------------------------------------------


def test_offline_decks_load_everything_from_local_copies(tmp_path):
    node_modules = build_slides.ASSETS_PACKAGE_DIR / "node_modules"
    have_assets = all(
        (node_modules / src).exists() for src, _ in build_slides.OFFLINE_COPIES.values()
    )
    if not have_assets and shutil.which("npm") is None:
        pytest.skip(
            "offline decks need the npm packages of tools/slides_assets/package.json, "
            "and npm is not installed"
        )
    lesson = LESSONS[0] if LESSONS else None
    if lesson is None:
        pytest.skip("no lessons yet")
    (report,) = build_slides.build([lesson], tmp_path, offline=True)
    deck = report.deck.read_text(encoding="utf-8")
    urls = _local_references(deck)
    assert {"require.js", "jquery.min.js", "reveal.js/dist/reveal.js"} <= {
        url.removeprefix("assets/") for url in urls
    }
    for url in urls:
        assert not REMOTE.match(url), f"the offline deck loads {url} from the network"
        path = url.split("?")[0]
        assert (report.deck.parent / path).is_file(), f"{path} is missing next to the deck"
    # reveal.js 4 or 5 (6 renders blank with nbconvert's template)
    reveal = (tmp_path / "assets" / "reveal.js" / "dist" / "reveal.js").read_text()
    assert re.search(r"reveal\.js [45]\.\d+\.\d+", reveal)
    # The theme's own @import of its fonts is local too.
    theme = (tmp_path / "assets" / "reveal.js" / "dist" / "theme" / "white.css").read_text()
    assert not re.findall(r"@import url\((?:https?:)?//", theme)


# --- the rules behind the decks ---------------------------------------------------------


def _cell(kind: str, source: str, slide_type: str = "-", **metadata) -> dict:
    make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
    cell = make(source)
    cell.metadata["slideshow"] = {"slide_type": slide_type}
    cell.metadata.update(metadata)
    return cell


def _toy_notebook() -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(
        cells=[
            _cell("md", "# Toy lesson", "slide"),
            _cell("code", "print('setup boilerplate that stays out of the deck')", "skip"),
            _cell("md", "## Idea one\nShortcut connections keep the gradient alive.", "slide"),
            _cell("md", "Speaker: mention the identity path here.", "notes"),
            _cell("md", "## Check your understanding\n1. Why do gradients vanish?", "subslide"),
            _cell(
                "md",
                "### Answers\n1. Because every layer multiplies them by a factor below one.",
                jupyter={"source_hidden": True},
            ),
        ]
    )


def test_answer_cells_are_found_by_heading_collapse_or_tag():
    assert build_slides.is_answer_cell(_cell("md", "### Answers\n1. x"))
    assert build_slides.is_answer_cell(_cell("md", "\n## Solution", tags=["x"]))
    assert build_slides.is_answer_cell(_cell("md", "text", jupyter={"source_hidden": True}))
    assert build_slides.is_answer_cell(_cell("md", "text", tags=["answers"]))
    assert not build_slides.is_answer_cell(_cell("md", "## Answer the questions below? no: Q"))
    assert not build_slides.is_answer_cell(_cell("code", "# Answers"))
    assert not build_slides.is_answer_cell(_cell("md", "## Check your understanding"))


def test_answers_are_left_out_or_moved_to_final_slides(tmp_path):
    nb = _toy_notebook()
    prepared, found = build_slides.prepare_for_slides(nb)
    assert found == 1
    assert build_slides.slide_type(prepared.cells[-1]) == "skip"
    assert build_slides.expected_slide_count(prepared) == 3
    assert build_slides.slide_type(nb.cells[-1]) == "-"  # the lesson itself is not changed

    with_answers, _ = build_slides.prepare_for_slides(nb, with_answers=True)
    assert build_slides.expected_slide_count(with_answers) == 4
    assert with_answers.cells[-1].source.startswith("### Answers")


def test_leak_check_finds_left_out_text_when_it_is_there(tmp_path):
    """The leak test above could not fail if this did not hold."""
    path = tmp_path / "00_toy.ipynb"
    nbformat.write(_toy_notebook(), path)
    (clean,) = build_slides.build([path], tmp_path / "clean")
    (answers,) = build_slides.build([path], tmp_path / "answers", with_answers=True)
    assert clean.slides == 3 and answers.slides == 4
    nb = nbformat.read(path, as_version=4)
    assert leaked_lines(clean.deck.read_text(), nb) == []
    assert leaked_lines(answers.deck.read_text(), nb) == [
        "Because every layer multiplies them by a factor below one."
    ]
    code_line = "print(&#x27;setup boilerplate that stays out of the deck&#x27;)"
    leaky = clean.deck.read_text().replace("Idea one", f"Idea one {code_line}")
    assert leaked_lines(leaky, nb) == ["print('setup boilerplate that stays out of the deck')"]


def test_notes_move_to_the_start_of_their_slide_and_remove_input_hides_code(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            _cell("md", "# Title", "slide"),
            _cell("md", "## Steps", "slide"),
            _cell("md", "First step", "fragment"),
            _cell("code", "print('the code a lecturer hides')", "-", tags=["remove-input"]),
            _cell("md", "Notes: $x^2$ is the square.", "notes"),
            _cell("md", "## Next", "slide"),
            _cell("md", "See [lesson 2](02_deep_mlp_and_shortcuts.ipynb#part).", "-"),
        ]
    )
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="the output stays\n")]
    prepared, _ = build_slides.prepare_for_slides(nb)
    kinds = [build_slides.slide_type(c) for c in prepared.cells]
    assert kinds == ["slide", "slide", "notes", "fragment", "-", "slide", "-"]
    assert "(02_deep_mlp_and_shortcuts.slides.html)" in prepared.cells[-1].source
    path = tmp_path / "00_toy.ipynb"
    nbformat.write(nb, path)
    (report,) = build_slides.build([path], tmp_path / "out")
    deck = report.deck.read_text(encoding="utf-8")
    assert notes_in_fragments(deck) == 0
    assert "the output stays" in deck
    assert "the code a lecturer hides" not in deck
    # Without the move, the notes would be inside the fragment (nbconvert's own rule).
    raw, _ = build_slides.make_exporter(False).from_notebook_node(nb)
    assert notes_in_fragments(raw) == 1


def test_count_deck_slides_counts_innermost_sections():
    html = "<section><section>a</section><section>b</section></section><section>c</section>"
    assert build_slides.count_deck_slides(html) == 3


def test_nbval_markers_stay_out_of_the_slides():
    marked = "# NBVAL_IGNORE_OUTPUT\n# (why: widget repr and live plot)\ngelu_explorer()"
    assert build_slides.strip_test_markers(marked) == "gelu_explorer()"
    inline = "# NBVAL_IGNORE_OUTPUT: versions differ\nprint(torch.__version__)"
    assert build_slides.strip_test_markers(inline) == "print(torch.__version__)"
    plain = "# a comment\nx = 1"
    assert build_slides.strip_test_markers(plain) == plain
