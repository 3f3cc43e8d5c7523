"""Underlines touching the letters are lifted off; the flat feet of touching letters are not underlines."""
import numpy as np
from PIL import Image, ImageDraw
from skimage import measure

from fastnn_plugins.ocr import segment, synth, underline
from tests.test_ocr import _text_page

H = 80  # letter height of the drawn words (px)


def _letters(d, x0, n, y=20, width=7):
    """n letters 'H' 50 px wide, 80 high, 40 px apart, from x0 (the feet at y + 80)."""
    for k in range(n):
        x = x0 + 90 * k
        d.line([x, y, x, y + H], fill=255, width=width)
        d.line([x + 50, y, x + 50, y + H], fill=255, width=width)
        d.line([x, y + 40, x + 50, y + 40], fill=255, width=width)


def _component(draw):
    im = Image.new("L", (1000, 160), 0)
    draw(ImageDraw.Draw(im))
    img = np.asarray(im) > 127
    props = measure.regionprops(measure.label(img, connectivity=2))
    return max(props, key=lambda p: p.area)


def test_an_underline_touching_some_letters_is_lifted_and_the_letters_keep_their_height():
    def draw(d):
        _letters(d, 60, 6)
        d.line([40, 104, 600, 98], fill=255, width=7)  # 2 px below the feet at the left, touching on the right
    p = _component(draw)
    band = underline.underline_band(p.image, H, stroke=7.0)
    assert band is not None
    rest = p.image & ~band
    letters = [q for q in measure.regionprops(measure.label(rest, connectivity=2)) if q.area > 50]
    assert len(letters) == 6
    assert all(q.bbox[2] - q.bbox[0] >= 0.9 * H for q in letters)  # at most a sliver of their feet lost
    # the line itself is gone: no ink is left under the feet
    rows = np.flatnonzero(rest.any(1)) + p.bbox[0]
    assert rows.max() <= 20 + H + 4


def test_a_line_drawn_across_the_letters_near_their_feet_leaves_them_whole():
    def draw(d):
        _letters(d, 60, 7)
        d.line([40, 86, 700, 90], fill=255, width=7)  # across the uprights, 6-10 px above their ends
    p = _component(draw)
    band = underline.underline_band(p.image, H, stroke=7.0)
    assert band is not None
    letters = [q for q in measure.regionprops(measure.label(p.image & ~band, connectivity=2)) if q.area > 50]
    assert len(letters) == 7
    # each H keeps its feet (the uprights run on through the line) and gains no stub of the line
    assert all(q.bbox[2] - q.bbox[0] == H + 1 for q in letters)
    assert all(q.bbox[3] - q.bbox[1] <= 50 + 7 + 1 for q in letters)


def test_a_line_drawn_through_every_letters_feet_is_an_underline_when_long():
    def draw(d, n):
        _letters(d, 60, n)
        d.line([40, 100, 60 + 90 * n, 100], fill=255, width=7)
    long_line = _component(lambda d: draw(d, 7))  # 7 letters: 6.8 heights, touching every upright
    assert underline.underline_band(long_line.image, H, stroke=7.0) is not None
    short = _component(lambda d: draw(d, 4))  # 4 letters: 4.3 heights; as the feet of fused letters
    assert underline.underline_band(short.image, H, stroke=7.0) is None


def test_a_short_underline_under_a_three_letter_word_is_lifted():
    def draw(d):
        _letters(d, 60, 3)  # 230 px: 2.9 heights
        d.line([45, 106, 275, 102], fill=255, width=7)  # below the first's feet, touching the others'
    p = _component(draw)
    assert p.bbox[3] - p.bbox[1] < underline.UNDERLINE_SHORT * H
    band = underline.underline_band(p.image, H, stroke=7.0)
    assert band is not None
    letters = [q for q in measure.regionprops(measure.label(p.image & ~band, connectivity=2)) if q.area > 50]
    assert len(letters) == 2 and all(q.bbox[2] - q.bbox[0] >= 0.9 * H for q in letters)


def test_a_short_fused_word_on_flat_bottoms_is_no_underline():
    # Z Z Z Z written touching at a 56 px pitch: one straight thin bottom 2.8 heights long, as a short
    # underline's, but letter ink stands over every column of it
    def draw(d):
        for k in range(4):
            x = 60 + 56 * k
            d.line([x, 20, x + 56, 20], fill=255, width=7)
            d.line([x + 56, 20, x, 100], fill=255, width=7)
            d.line([x, 100, x + 56, 100], fill=255, width=7)
    p = _component(draw)
    assert underline.UNDERLINE_MIN_SPAN * H < p.bbox[3] - p.bbox[1] < underline.UNDERLINE_SHORT * H
    assert underline.underline_band(p.image, H, stroke=7.0) is None


def test_the_flat_feet_of_touching_letters_are_no_underline():
    # E L L E L L written touching, 50 px wide at a 56 px pitch: one component whose bottom is one
    # straight stroke 4.2 heights long, but each letter's upright rises from it: 1 column in 8 is thick
    def draw(d):
        for k in range(6):
            x = 60 + 56 * k
            d.line([x, 20, x, 100], fill=255, width=7)  # upright
            d.line([x, 100, x + 56, 100], fill=255, width=7)  # foot, reaching the next letter
            if k % 3 == 0:  # an E
                d.line([x, 20, x + 50, 20], fill=255, width=7)
                d.line([x, 60, x + 40, 60], fill=255, width=7)
    p = _component(draw)
    assert p.bbox[3] - p.bbox[1] > 4 * H
    assert underline.underline_band(p.image, H, stroke=7.0) is None


def test_a_bare_line_is_lifted_whole():
    p = _component(lambda d: d.line([40, 100, 700, 108], fill=255, width=7))
    band = underline.underline_band(p.image, H, stroke=7.0)
    assert band is not None and (band == p.image).all()


def test_find_letters_reads_an_underlined_heading():
    # lines of V's, the first underlined by a pen line touching the feet of its V's
    im = Image.fromarray(_text_page([6, 9, 4]))
    ImageDraw.Draw(im).line([80, 203, 680, 199], fill=30, width=7)
    page = segment.find_letters(np.asarray(im))
    assert [len(line) for line in page.lines] == [6, 9, 4]
    assert page.info["underlines_lifted"] == 1
    assert "underlines_lifted" not in segment.find_letters(_text_page([6, 9, 4])).info


def test_make_pages_underlines_the_first_line():
    images = np.ones((36, 40, 30), np.float32)
    images[:, 4:36, 13:17] = 0.0  # every class a bar
    bank = (images, np.arange(36))
    plain, lines = synth.compose_page(bank, np.random.default_rng(3), n_lines=3)
    marked, lines2 = synth.compose_page(bank, np.random.default_rng(3), n_lines=3,
                                        underline=np.random.default_rng(4))
    assert lines == lines2  # the same page, underlined
    diff = np.abs(marked.astype(float) - plain.astype(float)).mean(2) > 40
    strokes = [p for p in measure.regionprops(measure.label(diff)) if p.area > 50]
    assert strokes  # the first line's underline, perhaps others: long, flat lines
    assert all(p.bbox[3] - p.bbox[1] > 200 and p.bbox[2] - p.bbox[0] < 60 for p in strokes)


def _crease_component(tilt_px):
    """Two words of H's with a straight line (a crease) running across them from their tops on the left
    to their feet on the right, tilt_px lower at x=980 than at x=0, and on past them."""
    im = Image.new("L", (1000, 200), 0)
    d = ImageDraw.Draw(im)
    _letters(d, 60, 3, y=60)
    _letters(d, 430, 4, y=60)
    d.line([0, 70, 980, 70 + tilt_px], fill=255, width=4)
    for x in range(5, 980, 37):  # its ragged edge: ticks a few px long hanging off it
        y = 72 + tilt_px * x / 980
        d.line([x, y, x + 2, y + 9], fill=255, width=2)
    img = np.asarray(im) > 127
    props = measure.regionprops(measure.label(img, connectivity=2))
    return max(props, key=lambda p: p.area)


def test_a_crease_across_the_writing_is_lifted_and_the_letters_stay_whole():
    p = _crease_component(tilt_px=60)  # 3.5 degrees across the text
    band = underline.through_band(p.image, H, stroke=7.0)
    assert band is not None
    rest = p.image & ~band
    letters = [q for q in measure.regionprops(measure.label(rest, connectivity=2)) if q.area > 50]
    assert len(letters) == 7
    # uprights crossed by the line keep it there: every H is its full height, with no long stub of the line
    assert all(q.bbox[2] - q.bbox[0] >= H - 1 for q in letters)
    assert all(q.bbox[3] - q.bbox[1] <= 50 + 7 + 8 for q in letters)
    # and no ink is left between the words or beyond them
    cols = np.flatnonzero(rest.any(0)) + p.bbox[1]
    assert cols.min() >= 55 and cols.max() <= 430 + 3 * 90 + 50 + 8
    assert not rest[:, 300 - p.bbox[1]:380 - p.bbox[1]].any()
    # the ticks go with the line: left, they would pass for specks and drag the character height down
    assert all(max(q.bbox[2] - q.bbox[0], q.bbox[3] - q.bbox[1]) >= 0.35 * H
               for q in measure.regionprops(measure.label(rest, connectivity=2)))


def test_lift_underlines_keeps_the_letters_a_crease_crossed():
    p = _crease_component(tilt_px=30)
    mask = np.zeros((240, 1040), bool)
    mask[20:20 + p.image.shape[0], 20:20 + p.image.shape[1]] = p.image
    props = measure.regionprops(measure.label(mask, connectivity=2))
    lifted, n = underline.lift_underlines(mask, props, H, 7.0)
    assert n == 1
    letters = [q for q in measure.regionprops(measure.label(lifted, connectivity=2)) if q.area > 50]
    assert len(letters) == 7


def test_a_fused_word_is_no_crease():
    """A cramped word fused along its bars holds ink above or below its flat parts in every column."""
    def draw(d):
        for k in range(9):  # E's touching: uprights and three bars each, the bars running on into the next
            x = 40 + 58 * k
            d.line([x, 20, x, 20 + H], fill=255, width=7)
            for y in (20, 60, 20 + H):
                d.line([x, y, x + 60, y], fill=255, width=7)
    p = _component(draw)
    assert underline.through_band(p.image, H, stroke=7.0) is None


def test_creases_running_into_a_dark_sheet_edge_are_lifted():
    """A thick dark edge round the sheet joins two creases, and every letter they cross, into one
    component; its strongest straight lines are the edge's: the creases are found among the next."""
    im = Image.new("L", (1100, 420), 0)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, 1099, 419], outline=255, width=14)  # the sheet's dark edge
    _letters(d, 80, 4, y=60)
    _letters(d, 520, 5, y=250)
    d.line([0, 80, 1099, 140], fill=255, width=4)  # through the first word's upper half
    d.line([0, 250, 1099, 320], fill=255, width=4)  # through the second word's lower part
    img = np.asarray(im) > 127
    band = underline.through_band(img, H, stroke=7.0)
    assert band is not None
    letters = [q for q in measure.regionprops(measure.label(img & ~band, connectivity=2))
               if q.area > 50 and q.bbox[2] - q.bbox[0] < 2 * H]
    assert len(letters) == 9 and all(q.bbox[2] - q.bbox[0] >= H - 1 for q in letters)
