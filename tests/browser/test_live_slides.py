"""Live slides in JupyterLab (the sliveshow extension): the deck a lecturer presents from.

Lesson 03 is opened in Lab and run, then presented with sliveshow's ``slideshow:start-first``
(menu *Sliveshow → Start from first cell*). The deck must follow the cells' slideshow metadata
(one section per slide and subslide, fragments, notes hidden in ``aside.notes``, skipped cells
absent); the presenter steps through it with the arrow key to the explorer's slide, drags a
slider with the mouse there, and the plot must redraw on the slide: the kernel is live. The
browser console must stay clean.

jupyterlab-rise also defines ``slideshow:*`` commands; conftest's Lab config turns it off
(``LAB_DISABLED_EXTENSIONS``), as the README tells instructors to.
"""

from __future__ import annotations

from collections import Counter

import nbformat
import pytest

from . import test_lab
from .conftest import NOTEBOOK_DIR, LabServer
from .test_lab import (
    OPEN_TIMEOUT_MS,
    PLOT_CHANGED_JS,
    PLOT_SRC_JS,
    cell_problems,
    drag_slider,
    open_and_run,
    unexpected_console_errors,
)

# The same fixtures as the lesson tests: a fresh browser page per test, its console errors.
page = test_lab.page
console_errors = test_lab.console_errors

LESSON = "03_gradient_comparison.ipynb"
MAX_STEPS = 80  # ArrowRight presses to reach the explorer; lesson 03 needs ~20

PRESENT = ".reveal section.present"
EXPLORER = f"{PRESENT} .widget-vbox:has(> .widget-image)"
SLIDERS = ":scope > :not(.widget-image) .widget-slider"

DECK_JS = """() => {
    const slides = document.querySelector('.reveal .slides');
    const top = Array.from(slides.querySelectorAll(':scope > section'));
    return {
        sections: top.reduce(
            (n, s) => n + Math.max(1, s.querySelectorAll(':scope > section').length), 0),
        fragments: slides.querySelectorAll('.fragment').length,
        notes: slides.querySelectorAll('aside.notes').length,
        text: slides.innerText,
    };
}"""

# Where the presenter is: the present section(s) and how many fragments are shown. One press of
# the arrow key changes it; the test waits for that instead of a fixed pause per press.
POSITION_JS = """() => {
    const sections = Array.from(document.querySelectorAll('.reveal .slides section'));
    const present = sections.flatMap((s, i) => s.classList.contains('present') ? [i] : []);
    return present.join(',') + '|' + document.querySelectorAll('.reveal .fragment.visible').length;
}"""
STEP_TIMEOUT_MS = 10_000


def expected_deck(path) -> dict:
    """What the notebook's slideshow metadata asks for."""
    nb = nbformat.read(path, as_version=4)
    types = Counter(cell.metadata.get("slideshow", {}).get("slide_type", "-") for cell in nb.cells)
    skipped = [
        cell.source.splitlines()[0]
        for cell in nb.cells
        if cell.metadata.get("slideshow", {}).get("slide_type") == "skip" and cell.source
    ]
    return {
        "sections": types["slide"] + types["subslide"],  # the first cell opens a slide
        "fragments": types["fragment"],
        "notes": types["notes"],
        "skipped_first_lines": skipped,
    }


def test_live_slides_follow_the_metadata_and_their_sliders_redraw(
    page, lab: LabServer, console_errors: list[str]
):
    # One test, one run of the lesson (~15 s in Lab): the suite has a time budget.
    assert not cell_problems(open_and_run(page, lab, LESSON))
    commands = page.evaluate(
        "() => window.jupyterapp.commands.listCommands().filter(c => c.startsWith('slideshow:'))"
    )
    assert "slideshow:start-first" in commands, (
        f"sliveshow's commands are missing ({commands}): is the extension installed and enabled?"
    )
    page.evaluate("() => window.jupyterapp.commands.execute('slideshow:start-first')")
    page.wait_for_selector(".reveal.ready", timeout=OPEN_TIMEOUT_MS)

    deck = page.evaluate(DECK_JS)
    expected = expected_deck(NOTEBOOK_DIR / LESSON)
    assert (deck["sections"], deck["fragments"], deck["notes"]) == (
        expected["sections"],
        expected["fragments"],
        expected["notes"],
    )
    assert expected["skipped_first_lines"]  # lesson 03 has set-up cells to leave out
    for line in expected["skipped_first_lines"]:
        assert line not in deck["text"], f"a skipped cell is on the slides: {line!r}"

    for _step in range(MAX_STEPS):
        if page.locator(EXPLORER).count():
            break
        position = page.evaluate(POSITION_JS)
        page.keyboard.press("ArrowRight")
        try:
            page.wait_for_function(
                f"(before) => ({POSITION_JS})() !== before", arg=position, timeout=STEP_TIMEOUT_MS
            )
        except Exception as error:  # playwright's TimeoutError: the last slide, or a stuck deck
            pytest.fail(f"the arrow key did not move the deck on (at {position}): {error}")
    else:
        pytest.fail(f"no explorer on any slide within {MAX_STEPS} steps of the arrow key")
    box = page.locator(EXPLORER).first
    page.wait_for_function(f"() => !!document.querySelector('{EXPLORER} img')")
    before = box.evaluate(PLOT_SRC_JS)
    old, new, _released = drag_slider(page, box.locator(SLIDERS).first)
    assert old != new, f"dragging the handle on the slide did not move it ({old})"
    page.wait_for_function(PLOT_CHANGED_JS, arg=[box.element_handle(), before], timeout=10_000)
    assert page.locator(EXPLORER).count(), "the slide changed while the slider was dragged"
    page.evaluate("() => window.jupyterapp.commands.execute('slideshow:exit')")
    errors = unexpected_console_errors(console_errors)
    assert not errors, "the browser console logged errors:\n" + "\n".join(errors)
