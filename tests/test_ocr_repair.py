import numpy as np
import pytest
from skimage import measure

from fastnn.data import CLASSES36
from fastnn_plugins.ocr import decode, repair, segment


class AspectReader:
    """A stand-in classifier: sure of one 'I' when the glyph's ink is narrow; a wide glyph is an 'M' at
    best, and may well not be one character."""

    def __init__(self, sure_of_everything=False, narrow_prob=0.9, wide_one=0.05):
        self.sure_of_everything, self.narrow_prob, self.wide_one = sure_of_everything, narrow_prob, wide_one

    def read(self, glyphs):
        probs, one = np.full((len(glyphs), 36), 0.1 / 35), np.ones(len(glyphs))
        for k, g in enumerate(glyphs):
            ys, xs = np.nonzero(g < 0.5)
            aspect = (np.ptp(xs) + 1) / (np.ptp(ys) + 1)
            narrow = aspect < 0.6  # one bar with stubs of bridges: <= 0.5; two: 0.67+
            # the more stub beside the bar, the less sure (a half bar with a bridge is as wide as a bar with one)
            probs[k, CLASSES36.index("I" if narrow else "M")] = self.narrow_prob - 0.02 * aspect if narrow else 0.9
            if not (narrow or self.sure_of_everything):
                one[k] = self.wide_one
        return probs, one


def _bars(n, top=10, left=10, height=40, width=12, gap=6):
    """n upright bars joined by thin bridges half-way up: letters written so close that they touch."""
    mask = np.zeros((top + height + 10, left + n * (width + gap) + 10), bool)
    for k in range(n):
        x = left + k * (width + gap)
        mask[top:top + height, x:x + width] = True
        if k < n - 1:
            mask[top + height // 2:top + height // 2 + 2, x + width:x + width + gap] = True
    return mask


def _page(mask):
    lab = measure.label(mask, connectivity=2)
    props = sorted(measure.regionprops(lab), key=lambda p: p.bbox[1])
    boxes = np.array([p.bbox for p in props]).reshape(-1, 4)
    n = len(props)
    return segment.Page(None, None, boxes, lab, [[p.label] for p in props], [list(range(n))],
                        [[False] * n], {"char_height": 40.0})


def _read(page, reader):
    probs, one = reader.read(np.stack([repair.glyph.render_mask(np.isin(
        page.labels[y1:y2, x1:x2], ids)) for (y1, x1, y2, x2), ids in zip(page.boxes, page.comp_ids)]))
    return repair.split_touching_characters(page, reader, probs, one)


def test_three_touching_letters_are_split_at_their_bridges():
    page = _page(_bars(3))
    probs = _read(page, AspectReader())
    assert page.lines == [[0, 1, 2]] and page.spaces == [[False, False, False]]
    x1s = page.boxes[page.lines[0], 1]
    x2s = page.boxes[page.lines[0], 3]
    # each piece holds one bar, give or take the stub of a bridge
    for k, bar_left in enumerate((10, 28, 46)):
        assert abs(x1s[k] - bar_left) <= 6 and abs(x2s[k] - (bar_left + 12)) <= 6
    assert (x2s[:-1] <= x1s[1:]).all()  # side by side, no overlap
    assert probs.shape == (3, 36) and (probs.argmax(1) == CLASSES36.index("I")).all()


def test_a_confident_wide_reading_is_not_split():
    page = _page(_bars(3))
    before = page.boxes.copy()
    _read(page, AspectReader(sure_of_everything=True))
    assert page.lines == [[0]] and (page.boxes == before).all()


def test_a_box_too_wide_for_one_character_is_split_even_into_doubtful_pieces():
    # pieces that read at 0.5 fail SPLIT_PIECE_CONF: three touching bars (1.2 heights) stay whole
    page = _page(_bars(3))
    _read(page, AspectReader(narrow_prob=0.5))
    assert page.lines == [[0]]
    # five (2.1 heights, past SPLIT_FORCE_WIDTH) cannot be one character: one piece per bar
    page = _page(_bars(5))
    assert (page.boxes[0, 3] - page.boxes[0, 1]) / 40 >= repair.SPLIT_FORCE_WIDTH
    probs = _read(page, AspectReader(narrow_prob=0.5))
    assert page.lines == [[0, 1, 2, 3, 4]] and page.spaces == [[False] * 5]
    assert (probs.argmax(1) == CLASSES36.index("I")).all()
    x1s, x2s = page.boxes[page.lines[0], 1], page.boxes[page.lines[0], 3]
    assert all(abs(x1s[k] - (10 + 18 * k)) <= 6 for k in range(5)) and (x2s[:-1] <= x1s[1:]).all()


def test_narrow_boxes_and_other_lines_are_left_alone():
    one, two = _bars(1), _bars(2, gap=20)
    mask = np.zeros((one.shape[0] + two.shape[0], two.shape[1]), bool)
    mask[:one.shape[0], :one.shape[1]] = one  # a lone bar above two touching ones
    mask[one.shape[0]:] = two
    page = _page(mask)
    page.lines, page.spaces = [[0], [1]], [[False], [False]]
    _read(page, AspectReader())
    assert page.lines == [[0], [1, 2]] and page.spaces == [[False], [False, False]]
    assert len(page.boxes) == 3


def test_piece_ink_keeps_whole_components_on_their_side():
    # component 1: a bar with a foot reaching past the cut; component 2: a bar right of the cut
    sub = np.zeros((50, 40), int)
    sub[5:45, 2:14] = 1
    sub[40:45, 14:20] = 1
    sub[5:45, 22:34] = 2
    left = repair.piece_ink(sub, [1, 2], 0, 17)
    right = repair.piece_ink(sub, [1, 2], 17, 40)
    assert (left == (sub == 1)).all() and (right == (sub == 2)).all()
    # one component cut through the middle: each side keeps its own columns, crumbs dropped
    bar = np.zeros((50, 40), int)
    bar[20:24, 0:40] = 3
    bar[0:50, 30:32] = 3  # a tall stroke on the right: left of column 10 only the bar's stub remains
    left = repair.piece_ink(bar, [3], 0, 10)
    assert left.sum() == 4 * 10 and not left[:, 10:].any()


def test_merge_joins_a_broken_stroke_but_not_two_letters():
    broken = np.zeros((60, 60), bool)
    broken[10:50, 10:16] = True  # one bar drawn as two thin strokes a pixel apart
    broken[10:50, 17:23] = True
    page = _page(broken)
    probs, one = AspectReader().read(np.stack([repair.glyph.render_mask(page.labels == i) for i in (1, 2)]))
    repair.merge_split_characters(page, AspectReader(), probs, one)
    assert page.lines == [[0]] and list(page.boxes[0]) == [10, 10, 50, 23]
    two = np.zeros((60, 60), bool)
    two[10:50, 8:26] = True  # two bars 3 px apart: together they read as a wide, doubtful glyph
    two[10:50, 29:47] = True
    page = _page(two)
    probs, one = AspectReader().read(np.stack([repair.glyph.render_mask(page.labels == i) for i in (1, 2)]))
    repair.merge_split_characters(page, AspectReader(), probs, one)
    assert page.lines == [[0, 1]]


class FixedReader:
    """A stand-in classifier: narrow ink reads as an 'I' with probability `piece`, wider ink as a 'P'
    with probability `whole`; every glyph is surely one character."""

    def __init__(self, piece, whole):
        self.piece, self.whole = piece, whole

    def read(self, glyphs):
        probs = np.zeros((len(glyphs), 36))
        for k, g in enumerate(glyphs):
            ys, xs = np.nonzero(g < 0.5)
            narrow = (np.ptp(xs) + 1) / (np.ptp(ys) + 1) < 0.25
            p = self.piece if narrow else self.whole
            probs[k, CLASSES36.index("I" if narrow else "P")] = p
            probs[k, CLASSES36.index("O")] = 1 - p
        return probs, np.ones(len(glyphs))


def test_merge_prefers_one_character_unless_two_read_piece_margin_times_better():
    for piece, merged in ((0.8, True), (0.9, False)):  # pieces 0.64 or 0.81 against one P at 0.5
        bars = np.zeros((60, 40), bool)
        bars[10:50, 10:16] = bars[10:50, 19:25] = True  # two strokes 3 px apart
        page = _page(bars)
        reader = FixedReader(piece, 0.5)
        probs, one = reader.read(np.stack([repair.glyph.render_mask(page.labels == i) for i in (1, 2)]))
        repair.merge_split_characters(page, reader, probs, one)
        # 0.5 * PIECE_MARGIN = 0.75 beats 0.64 but not 0.81
        assert page.lines == ([[0]] if merged else [[0, 1]])


def test_a_wide_box_keeps_its_other_cuts_for_the_word_decoder():
    # three touching bars that the reader doubts (P(one) 0.3) are one M: too sure to split, but its cuts
    # are kept
    page = _page(_bars(3))
    _read(page, AspectReader(wide_one=0.3))
    assert page.lines == [[0]]
    options = page.info["cut_alternatives"][(0,)]
    assert len(options) > 1 and options[0][0] == pytest.approx(np.log(0.3))  # the whole box first
    # every cut: log of the product of its pieces' P(one) (1 for a bar, 0.3 for a wider piece) less log
    # PIECE_MARGIN per extra piece
    for seg, p in options[1:]:
        one = np.where(p.argmax(1) == CLASSES36.index("I"), 1.0, 0.3)
        assert p.shape[1] == 36 and seg == pytest.approx(np.log(one).sum() - (len(p) - 1) * np.log(repair.PIECE_MARGIN))
    assert any(len(p) == 3 and (p.argmax(1) == CLASSES36.index("I")).all() for _, p in options[1:])
    # a box the splitter did cut lists its pieces as the group; one the reader is sure of keeps none
    page = _page(_bars(3))
    _read(page, AspectReader())
    assert list(page.info["cut_alternatives"]) == [(0, 1, 2)]
    page = _page(_bars(3))
    _read(page, AspectReader(wide_one=repair.LATTICE_MAX_ONE))
    assert page.info["cut_alternatives"] == {} and page.lines == [[0]]
    # five bars (past SPLIT_FORCE_WIDTH) hold no one character: every option is a cut, boxes alongside;
    # too sure (0.3) for the splitter to cut, it is left to the decoder
    page = _page(_bars(5))
    _read(page, AspectReader(wide_one=0.3))
    (group, options), = page.info["cut_alternatives"].items()
    assert group == (0,) and len(options) > 1 and all(len(p) >= 2 for _, p in options)
    assert [len(b) for b in page.info["cut_boxes"][group]] == [len(p) for _, p in options]


def test_a_rejected_box_under_the_split_width_offers_dearer_cuts_to_the_word_decoder():
    # two bars 0.85 heights wide: narrower than LATTICE_MIN_WIDTH, so never split by the splitter
    page = _page(_bars(2, gap=10))
    width = (page.boxes[0, 3] - page.boxes[0, 1]) / 40
    assert repair.LATTICE_NARROW_WIDTH <= width < repair.LATTICE_MIN_WIDTH
    _read(page, AspectReader(wide_one=0.05))  # rejected: P(one) under SPLIT_ONLY_REJECTED
    assert page.lines == [[0]]
    options = page.info["cut_alternatives"][(0,)]
    assert options[0][0] == pytest.approx(np.log(0.05))  # the whole box first
    # a wide box's cut pays only the first; the bonus the word decoder gives each character read is paid back
    cost = np.log(repair.PIECE_MARGIN) + np.log(repair.NARROW_CUT_COST) + decode.CUT_LETTER_BONUS
    for seg, p in options[1:]:
        one = np.where(p.argmax(1) == CLASSES36.index("I"), 1.0, 0.05)
        assert seg == pytest.approx(np.log(one).sum() - (len(p) - 1) * cost)
    assert any(len(p) == 2 and (p.argmax(1) == CLASSES36.index("I")).all() for _, p in options[1:])
    # merely doubted (P(one) 0.3, cut if 1.1 heights wide), or under LATTICE_NARROW_WIDTH: no cuts
    page = _page(_bars(2, gap=10))
    _read(page, AspectReader(wide_one=0.3))
    assert page.info["cut_alternatives"] == {}
    page = _page(_bars(2, gap=4, width=12))  # 28 px, 0.7 heights
    assert (page.boxes[0, 3] - page.boxes[0, 1]) / 40 < repair.LATTICE_NARROW_WIDTH
    _read(page, AspectReader(wide_one=0.05))
    assert page.info["cut_alternatives"] == {}


def test_piece_paths_ranks_cuts_by_confidence_hand_computed():
    # bounds 0 | 1 | 2 | 3: spans (0,1) (1,2) (2,3) (0,2) (1,3); (0,3) is the whole box
    probs = {s: np.eye(36)[0] for s in [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)]}
    one = {(0, 1): 0.9, (1, 2): 0.8, (2, 3): 0.9, (0, 2): 0.2, (1, 3): 0.6}
    paths = repair.piece_paths((4, dict.fromkeys(probs), probs, one), k=6)
    m = np.log(repair.PIECE_MARGIN)
    want = sorted([(np.log(0.9 * 0.8 * 0.9) - 2 * m, [(0, 1), (1, 2), (2, 3)]),
                   (np.log(0.9 * 0.6) - m, [(0, 1), (1, 3)]),
                   (np.log(0.2 * 0.9) - m, [(0, 2), (2, 3)])], key=lambda o: -o[0])
    assert [s for _, s in paths] == [s for _, s in want]
    assert [seg for seg, _ in paths] == pytest.approx([seg for seg, _ in want])
    assert [s for _, s in repair.piece_paths((4, dict.fromkeys(probs), probs, one), k=1)] == [want[0][1]]


def test_a_broken_letter_of_a_heading_is_measured_by_its_own_line():
    # a heading written twice the page's character height (40): a letter broken in two pieces, 60 px
    # wide together. By the page's height it would be too wide (1.3 x 40 = 52) to be one character
    # and was never offered to the classifier; by its line's (80) it is, and reads best as one
    mask = np.zeros((100, 90), bool)
    mask[10:90, 10:38] = True
    mask[10:90, 41:70] = True
    page = _page(mask)
    reader = FixedReader(0.9, 0.9)  # each piece and the whole read as a P with 0.9
    probs, one = reader.read(np.stack([repair.glyph.render_mask(page.labels == i) for i in (1, 2)]))
    repair.merge_split_characters(page, reader, probs, one)
    assert page.lines == [[0]] and list(page.boxes[0]) == [10, 10, 90, 70]
