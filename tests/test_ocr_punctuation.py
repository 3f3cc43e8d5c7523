"""Punctuation is left out of the text: hand-built boxes, a drawn page, the decoder's list labels."""
import numpy as np
from PIL import Image, ImageDraw

from fastnn.data import CLASSES36
from fastnn_plugins.ocr import decode, punctuation, segment, synth
from tests.test_ocr import _probs


def _line_of_marks():
    """A line of characters 40 px high (y 100-140) with a mark of each family among them:
    {box index: kind} of the marks, boxes, component groups and the components' boxes."""
    boxes, groups, pieces, marks = [], [], {}, {}

    def add(box, parts=None, kind=None):
        labels = []
        for part in parts or [box]:
            labels.append(len(pieces) + 1)
            pieces[labels[-1]] = part
        if kind:
            marks[len(boxes)] = kind
        boxes.append(box)
        groups.append(labels)
    for x in (0, 40):
        add([100, x, 140, x + 25])
    add([100, 70, 112, 75], kind="'")  # an apostrophe hangs from the top
    add([101, 80, 140, 105])
    add([128, 110, 147, 117], kind=",")  # a comma sits low
    add([100, 140, 140, 165])
    add([118, 175, 123, 190], kind="-")  # a dash lies flat at mid-height
    add([100, 200, 140, 225])
    add([116, 232, 140, 238], [[116, 232, 122, 238], [134, 232, 140, 238]], ":")  # two dots
    add([100, 260, 140, 285])
    add([100, 292, 140, 298], [[100, 292, 127, 298], [134, 292, 140, 298]], "!")  # stroke over a dot
    add([100, 310, 140, 335], [[100, 310, 105, 335], [105, 320, 140, 325]])  # a T in two strokes
    add([100, 345, 127, 351], kind="!")  # a ! whose dot was dropped as a speck (given in dots)
    add([100, 360, 140, 366])  # an I: narrow, but it spans the band
    add([100, 380, 140, 405])
    add([100, 415, 106, 440])  # a T's bar and an L's foot left apart from their strokes: flat, not marks
    add([134, 450, 140, 475])
    add([100, 480, 140, 505])
    return marks, np.array(boxes), groups, pieces


def test_each_family_of_marks_is_found_and_no_character_is():
    marks, boxes, groups, pieces = _line_of_marks()
    dots = np.array([[134, 345, 140, 351]])
    assert punctuation.find_punctuation(boxes, groups, [list(range(len(boxes)))], pieces, dots, 40.0) == marks
    # without its dot the short stroke is a character (a 1 written small), not a !
    found = punctuation.find_punctuation(boxes, groups, [list(range(len(boxes)))], pieces, np.zeros((0, 4)), 40.0)
    assert 12 not in found and len(found) == len(marks) - 1


def test_the_band_follows_a_sloping_line():
    # characters climbing 10 px per box; a comma near the high end sits low in its own stretch of the line
    # (band 45-85 from its four nearest characters), though not in the line's overall band (65-105)
    boxes = np.array([[100 - 10 * k, 30 * k, 140 - 10 * k, 30 * k + 25] for k in range(8)] + [[70, 200, 85, 206]])
    lines = [[0, 1, 2, 3, 4, 5, 6, 8, 7]]
    assert tuple(punctuation.line_bands(boxes, lines, 40.0)[8]) == (45, 85)
    groups = [[k + 1] for k in range(9)]
    pieces = {k + 1: list(b) for k, b in enumerate(boxes)}
    assert punctuation.find_punctuation(boxes, groups, lines, pieces, np.zeros((0, 4)), 40.0) == {8: ","}


def test_the_gap_a_mark_leaves():
    # DON'T: an apostrophe between close letters leaves no space; WORLD, PAGE keeps its space; X-RAY is two
    # words; a quote opening a line leaves nothing, one closing a word keeps the space after it
    lines = [[0, 1, 2, 3, 4], [5, 6, 7], [8, 9, 10], [11, 12, 13, 14]]
    spaces = [[0.0] * 5, [0.0, 0.0, 1.4], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.2]]
    marks = {3: "'", 6: ",", 9: "-", 11: "'", 13: "'"}
    new_lines, new_spaces = punctuation.drop_marks(lines, spaces, marks)
    assert new_lines == [[0, 1, 2, 4], [5, 7], [8, 10], [12, 14]]
    assert new_spaces == [[0.0] * 4, [0.0, 1.4], [0.0, 1.0], [0.0, 1.2]]


def test_a_list_label_is_a_token_of_one_or_two_boxes_before_a_period():
    word = [[100, 50 + 30 * k, 140, 75 + 30 * k] for k in range(4)]
    boxes = np.array([[100, 0, 140, 12]] + word)
    period = np.array([[134, 18, 140, 24]])
    spaces = [[0.0, 1.5, 0.0, 0.0, 0.0]]
    assert punctuation.list_labels(boxes, [list(range(5))], spaces, period, 40.0) == [True]
    assert punctuation.list_labels(boxes, [list(range(5))], spaces, np.zeros((0, 4)), 40.0) == [False]
    high = np.array([[100, 18, 106, 24]])  # a mark up high is no period
    assert punctuation.list_labels(boxes, [list(range(5))], spaces, high, 40.0) == [False]
    # a period after a word of four boxes ends a sentence: no label
    boxes = np.array(word + [[100, 200, 140, 225]])
    after = np.array([[134, 140, 140, 146]])
    assert punctuation.list_labels(boxes, [list(range(5))], [[0.0, 0.0, 0.0, 0.0, 1.5]], after, 40.0) == [False]


def test_a_list_label_is_read_as_a_number(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("MAKE\n")
    wordlist = decode.WordList(str(words))
    p = _probs({"I": 0.5, "1": 0.4}, {"M": 0.9}, {"A": 0.9}, {"K": 0.9}, {"E": 0.9})
    lines, spaces = [list(range(5))], [[0.0, 1.5, 0.0, 0.0, 0.0]]
    for wl in (wordlist, None):
        assert decode.decode_page(p, lines, spaces, wordlist=wl) == ["I MAKE"]
        assert decode.decode_page(p, lines, spaces, wordlist=wl, numbered=[True]) == ["1 MAKE"]
    # a letter the classifier is sure of stays a letter: an "A." list
    p[0] = _probs({"A": 0.9, "4": 0.1})[0]
    assert decode.decode_page(p, lines, spaces, wordlist=wordlist, numbered=[True]) == ["A MAKE"]


def _v(d, x, y, s=1.0):
    d.line([x, y, x + 25 * s, y + 80 * s, x + 50 * s, y], fill=30, width=7)


def test_a_page_with_punctuation_is_read_without_it():
    """V'V V, V-V V! V: V (a drawn page): every V boxed, no mark, spaces where words part."""
    im = Image.new("L", (1100, 400), 235)
    d = ImageDraw.Draw(im)
    y, x = 120, 60
    for token in ["V", "'", "V", " ", "V", ",", " ", "V", "-", "V", " ", "V", "!", " ", "V", ":", " ", "V"]:
        if token == " ":
            x += 60
        elif token == "V":
            _v(d, x, y)
            x += 75
        elif token == "'":
            d.line([x + 4, y, x, y + 22], fill=30, width=7)
            x += 22
        elif token == ",":
            d.ellipse([x, y + 68, x + 10, y + 78], fill=30)
            d.line([x + 8, y + 74, x, y + 94], fill=30, width=6)
            x += 20
        elif token == "-":
            d.line([x + 8, y + 42, x + 38, y + 40], fill=30, width=7)
            x += 50
        elif token == "!":
            d.line([x + 5, y, x + 5, y + 56], fill=30, width=7)
            d.ellipse([x, y + 70, x + 10, y + 80], fill=30)
            x += 22
        elif token == ":":
            d.ellipse([x, y + 30, x + 10, y + 40], fill=30)
            d.ellipse([x, y + 70, x + 10, y + 80], fill=30)
            x += 22
    page = segment.find_letters(np.asarray(im))
    assert len(page.boxes) == 8 and len(page.lines) == 1
    assert page.info["punctuation_dropped"] >= 2  # the dash and the ! (the rest are specks for their line)
    # no space inside V'V; a dash parts two words
    assert [bool(s) for s in page.spaces[0]] == [False, False, True, True, True, True, True, True]


def test_pages_with_punctuation_for_the_robustness_sets(shared_data):
    bank = synth._glyph_bank(shared_data)
    page, lines = synth.compose_page(bank, np.random.default_rng(5), n_lines=6, punctuation=True)
    text = " ".join(lines)
    assert sum(c in synth.PUNCTUATION for c in text) >= 2
    # stripped of its marks every token is a word of the vocabulary or a list number
    tokens = "".join(" " if c in "-" else c for c in text).split()
    assert all("".join(c for c in t if c in CLASSES36) in set(synth.WORDS) | set("123456789")
               for t in tokens)
    ink = synth._mark_image("!", 60, np.random.default_rng(0))[0] > 0.5
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    assert np.ptp(rows) > 0.9 * 60 and np.ptp(cols) < 0.25 * 60  # a stroke over a dot, a line high
    assert not ink[rows.min():rows.max()].any(1).all()  # a gap between them
