import json
import os

import numpy as np
import pytest
from PIL import Image

from fastnn import cli
from fastnn.data import CLASSES36
from fastnn_plugins.ocr import decode, glyph, orientation, segment, synth, task
from tests import reference as ref


def test_levenshtein_and_char_accuracy_hand_computed():
    assert decode.levenshtein("KITTEN", "SITTING") == 3
    assert decode.levenshtein("", "ABC") == 3
    assert decode.char_accuracy("TO D0", "TODO") == pytest.approx(0.75)
    assert decode.char_accuracy("1. MAKE", "1MAKE") == 1.0


def test_word_accuracy_hand_computed():
    # four words; M A KE: one word read as three (1 substituted, 2 inserted) -> 1 - 3/4
    assert decode.word_accuracy("1 M A KE\nA LIST", "1. MAKE A LIST") == pytest.approx(0.25)
    assert decode.word_accuracy("DONT STOP NOW", "DON'T STOP-NOW") == 1.0
    assert decode.word_accuracy("TO D0", "TO DO") == pytest.approx(0.5)
    assert decode.word_accuracy("TODO", "TO DO") == pytest.approx(0.0)  # one substitution, one deletion


def _probs(*rows):
    p = np.full((len(rows), 36), 1e-4)
    for i, row in enumerate(rows):
        for ch, v in row.items():
            p[i, CLASSES36.index(ch)] = v
    return p / p.sum(1, keepdims=True)


def test_word_context_fixes_letter_digit_confusions():
    # "T0" -> "TO": the O/0 box is ambiguous, its word is letters
    p = _probs({"T": 0.9}, {"0": 0.55, "O": 0.45})
    assert decode.decode_page(p, [[0, 1]], [[False, False]]) == ["TO"]
    assert decode.decode_page(p, [[0, 1]], [[False, False]], context=False) == ["T0"]
    # "2O26" -> "2026": digits dominate
    p = _probs({"2": 0.9}, {"O": 0.6, "0": 0.4}, {"2": 0.9}, {"6": 0.9})
    assert decode.decode_page(p, [[0, 1, 2, 3]], [[False] * 4]) == ["2026"]
    # a confident mixed word stays mixed; spaces split words
    p = _probs({"A": 0.99}, {"4": 0.99}, {"B": 0.99})
    assert decode.decode_page(p, [[0, 1, 2]], [[False, False, True]]) == ["A4 B"]


def test_wordlist_correction(tmp_path):
    (tmp_path / "words").write_text("HELLO\nWORLD\nhelp\ndon't\n")
    wl = decode.WordList(str(tmp_path / "words"))
    p = _probs({"H": 0.9}, {"E": 0.9}, {"L": 0.9}, {"I": 0.5, "L": 0.4}, {"O": 0.9})
    assert decode.decode_page(p, [list(range(5))], [[False] * 5], wordlist=wl) == ["HELLO"]
    p = _probs({"D": 0.9}, {"O": 0.6, "0": 0.4}, {"M": 0.55, "N": 0.45}, {"T": 0.9})
    assert decode.decode_page(p, [[0, 1, 2, 3]], [[False] * 4], wordlist=wl) == ["DONT"]
    p = _probs({"X": 0.99}, {"Y": 0.99}, {"Z": 0.99})
    assert decode.decode_page(p, [[0, 1, 2]], [[False] * 3], wordlist=wl) == ["XYZ"]


def test_wordlist_scores_are_likelihood_plus_prior(tmp_path):
    (tmp_path / "words").write_text("Oder\nover\nCAT\ncot\n")
    wl = decode.WordList(str(tmp_path / "words"))
    # ODER is a proper noun (weight 0.1), OVER a common word (weight 1): priors 0.85*0.1/1.1, 0.85/1.1
    p = _probs({"O": 0.9}, {"D": 0.6, "V": 0.3}, {"E": 0.9}, {"R": 0.9})
    labels, score = wl.decode(np.log(p))
    want = np.log(p[[0, 1, 2, 3], [14, 21, 4, 17]]).sum() + np.log(0.85 / 1.1)
    assert "".join(CLASSES36[k] for k in labels) == "OVER" and score == pytest.approx(want)
    # ...unless the ink says D much more clearly: log(0.9/0.05) = 2.9 nats > log 10 = 2.3 nats of prior
    p = _probs({"O": 0.9}, {"D": 0.9, "V": 0.05}, {"E": 0.9}, {"R": 0.9})
    assert "".join(CLASSES36[k] for k in wl.decode(np.log(p))[0]) == "ODER"
    # an off-list reading: one of 26**3 strings with 5 % of the mass; two 3-letter words share 85 %
    p = _probs({"X": 0.98}, {"Y": 0.98}, {"Z": 0.98})
    labels, score = wl.decode(np.log(p))
    rows = np.log(p[[0, 1, 2], [23, 24, 25]]).sum()
    assert "".join(CLASSES36[k] for k in labels) == "XYZ"
    assert score == pytest.approx(rows + np.log(0.05) - 3 * np.log(26))
    # digits: one of 10**n numbers with 8 % of the mass
    p = _probs({"3": 0.9}, {"6": 0.9}, {"5": 0.9})
    labels, score = wl.decode(np.log(p))
    assert "".join(CLASSES36[k] for k in labels) == "365"
    assert score == pytest.approx(np.log(p[[0, 1, 2], [29, 32, 31]]).sum() + np.log(0.08) - 3 * np.log(10))


def test_lone_characters_take_the_prior_of_a_lone_token():
    amb_o = {"O": 0.5, "0": 0.5}
    amb_i = {"I": 0.4, "1": 0.6}  # the prior of the word I outweighs the ink's slight lean to 1
    word = [{"J": 0.9}, {"A": 0.9}, {"M": 0.9}]
    p = _probs(*word, amb_o, *word)
    spaces = [[False, False, False, True, True, False, False]]
    # among words a lone O/0 is a number (O is not an English word), a lone I/1 is the word I
    assert decode.decode_page(p, [list(range(7))], spaces, wordlist=_wl()) == ["JAM 0 JAM"]
    p = _probs(*word, amb_i, *word)
    assert decode.decode_page(p, [list(range(7))], spaces, wordlist=_wl()) == ["JAM I JAM"]
    # in a line of lone characters they are a sequence: "N O P" stays letters
    p = _probs({"N": 0.9}, amb_o, {"P": 0.9})
    assert decode.decode_page(p, [[0, 1, 2]], [[False, True, True]], wordlist=_wl()) == ["N O P"]
    p = _probs({"7": 0.9}, amb_o, {"9": 0.9})
    assert decode.decode_page(p, [[0, 1, 2]], [[False, True, True]], wordlist=_wl()) == ["7 0 9"]


def _wl(words=("JAM",)):
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(words))
    try:
        return decode.WordList(fh.name)
    finally:
        os.unlink(fh.name)


def test_wordlist_joins_a_word_split_by_a_misread_space(tmp_path):
    (tmp_path / "words").write_text("REFRIGERATOR\nARE\nEASY\n")
    wl = decode.WordList(str(tmp_path / "words"))
    rows = [{c: 0.9} for c in "REFRIGERATOR"]
    rows[5], rows[9] = {"G": 0.2, "C": 0.8}, {"T": 0.2, "I": 0.8}
    p = _probs(*rows)
    line = [list(range(12))]
    assert decode.decode_page(p, line, [[False] * 12], wordlist=wl) == ["REFRIGERATOR"]
    spaces = [[False] * 5 + [True] + [False] * 6]
    assert decode.decode_page(p, line, spaces, wordlist=wl) == ["REFRIGERATOR"]
    assert decode.decode_page(p, line, spaces, context=False, wordlist=wl) == ["REFRI CERAIOR"]
    # two listed words whose join is off the list stay apart
    p = _probs(*[{c: 0.9} for c in "AREEASY"])
    assert decode.decode_page(p, [list(range(7))], [[False] * 3 + [True] + [False] * 3], wordlist=wl) == \
        ["ARE EASY"]


def test_the_wider_the_gap_the_surer_the_space():
    # REFRI CERAIOR (two off-list strings) joins into REFRIGERATOR with 42.2 nats to spare: across a gap
    # up to 1 + (42.2 - log 20) / log 50 = 11.0 space thresholds wide, and no wider
    wl = _wl(["REFRIGERATOR"])
    rows = [{c: 0.9} for c in "REFRIGERATOR"]
    rows[5], rows[9] = {"G": 0.2, "C": 0.8}, {"T": 0.2, "I": 0.8}
    p, line = _probs(*rows), [list(range(12))]
    for gap, text in [(1.0, "REFRIGERATOR"), (10.0, "REFRIGERATOR"), (12.0, "REFRI CERAIOR")]:
        assert decode.decode_page(p, line, [[0.0] * 5 + [gap] + [0.0] * 6], wordlist=wl) == [text]
    assert decode.space_evidence(1.0) == pytest.approx(np.log(20))
    assert decode.space_evidence(1.5) == pytest.approx(np.log(20) + 0.5 * np.log(50))


def test_letters_spaced_wide_are_joined_into_a_listed_word(tmp_path):
    # THE M A KE: spaces read between widely spaced letters; no two neighbours make a listed word (MA,
    # AKE), the three tokens together do; lone characters take the prior of a lone token
    words = tmp_path / "words.txt"
    words.write_text("THE\nMAKE\nNAP\n")
    wl = decode.WordList(str(words))
    p = _probs(*[{c: 0.9} for c in "THEMAKE"])
    lines = [list(range(7))]
    assert decode.decode_page(p, lines, [[0, 0, 0, 1.0, 1.0, 1.0, 0]], wordlist=wl) == ["THE MAKE"]
    # in a line of lone characters they stay a sequence: N A P is not the word NAP
    p = _probs(*[{c: 0.9} for c in "NAP"])
    assert decode.decode_page(p, [[0, 1, 2]], [[0, 1.0, 1.0]], wordlist=wl) == ["N A P"]
    # with a word beside them they are spaced-out letters of one: A NA P -> A NAP
    p = _probs(*[{c: 0.9} for c in "ANAP"])
    assert decode.decode_page(p, [[0, 1, 2, 3]], [[0, 1.0, 0, 1.0]], wordlist=wl) == ["A NAP"]


def test_a_join_must_make_a_listed_word():
    class Words:  # the joined reading scores far above the two tokens, listed or not
        def __init__(self, listed):
            self.is_listed = listed

        def decode(self, logp):
            return np.zeros(len(logp), int), 100.0

        def listed(self, labels):
            return self.is_listed

    words, readings = [[0, 1], [2, 3]], [(np.zeros(2, int), -5.0), (np.zeros(2, int), -5.0)]
    logp = np.zeros((4, 36))
    joined, _ = decode._join_split_words(list(words), list(readings), logp, Words(True), [1.2])
    assert joined == [[0, 1, 2, 3]]
    kept, _ = decode._join_split_words(list(words), list(readings), logp, Words(False), [1.2])
    assert kept == words


def test_render_mask_canonical_layout():
    mask = np.zeros((100, 40), bool)
    mask[10:90, 18:22] = True  # a vertical bar, 80 px tall
    g = glyph.render_mask(mask)
    assert g.shape == (32, 32) and g.min() < 0.1 and g.max() == 1.0
    rows = np.flatnonzero((g < 0.5).any(1))
    cols = np.flatnonzero((g < 0.5).any(0))
    assert 21 <= rows[-1] - rows[0] + 1 <= 25  # long side scaled to ~24 px
    assert abs((rows[0] + rows[-1]) / 2 - 15.5) <= 1 and abs((cols[0] + cols[-1]) / 2 - 15.5) <= 1
    assert cols[-1] - cols[0] + 1 <= 4  # pen width, not the source stroke width
    assert glyph.render_mask(np.zeros((5, 5), bool)).min() == 1.0


def test_close3_is_a_binary_closing_with_a_3x3_square():
    from scipy import ndimage as ndi
    rng = np.random.default_rng(1)
    for _ in range(100):
        m = np.pad(rng.random((rng.integers(3, 60), rng.integers(3, 60))) < rng.uniform(0.2, 0.8), 2)
        assert (glyph._close3(m) == ndi.binary_closing(m, structure=np.ones((3, 3)))).all()


def test_render_crop_keeps_the_notch_between_bold_strokes():
    # a bold U at a page's scale: legs 8 px thick, 2 px apart, joined at the foot (the arms of an E, the V
    # of an M written with a marker come as narrow)
    mask = np.zeros((44, 22), bool)
    mask[2:42, 2:10] = mask[2:42, 12:20] = True
    mask[34:42, 2:20] = True

    def strokes_across(g, row):
        ink = np.r_[False, g[row] < 0.5, False]
        return int((np.diff(ink.astype(int)) == 1).sum())
    small, crop = glyph.render_mask(mask), glyph.render_crop(mask)
    # at 44 px closing fills the notch and the U thins to one bar; enlarged to CROP_SIDE first, both legs stay
    assert strokes_across(small, 12) == 1 and strokes_across(crop, 12) == 2
    # a mask as large as a training glyph's is rendered as before
    big = np.kron(mask, np.ones((3, 3), bool))
    assert max(big.shape) >= glyph.CROP_SIDE and (glyph.render_crop(big) == glyph.render_mask(big)).all()


def _text_page(lines, size=(900, 1400), angle=0.0, scale=1.0, word=3):
    """Printed text stand-in: a clean page with block capitals drawn as strokes (no font needed): a 'V'
    80 px high per character (times scale), words of `word` characters."""
    from PIL import ImageDraw
    im = Image.new("L", (size[1], size[0]), 235)
    d = ImageDraw.Draw(im)
    for li, n in enumerate(lines):
        for k in range(n):
            x, y = 100 + scale * (k * 90 + (k // word) * 60), 120 + scale * li * 170
            d.line([x, y, x + 25 * scale, y + 80 * scale, x + 50 * scale, y], fill=30, width=round(7 * scale))
    return np.asarray(im.rotate(angle, fillcolor=235, expand=True))


@pytest.mark.parametrize("angle", [0.0, 12.0, -14.0])
def test_find_letters_counts_boxes_and_lines(angle):
    page = segment.find_letters(_text_page([6, 9, 4], angle=angle))
    assert len(page.boxes) == 19
    assert [len(line) for line in page.lines] == [6, 9, 4]
    assert abs(abs(page.info["skew_deg"]) - abs(angle)) < 1.5
    # words of three characters: spaces after every third one
    assert [bool(s) for s in page.spaces[1]] == [False, False, False, True, False, False, True, False, False]
    assert min(s for s in page.spaces[1] if s) > 1.0


def test_blank_page_has_no_boxes():
    assert len(segment.find_letters(np.full((600, 800), 0.9)).boxes) == 0
    noisy = np.clip(0.9 + np.random.default_rng(0).normal(0, 0.01, (600, 800)), 0, 1)
    assert len(segment.find_letters(noisy).boxes) == 0


def test_load_image_errors(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not an image")
    with pytest.raises(segment.PageError, match="not a readable image"):
        segment.load_image(str(bad))
    rgba = tmp_path / "a.png"
    Image.new("RGBA", (50, 40), (0, 0, 0, 0)).save(rgba)
    img = segment.load_image(str(rgba))
    assert img.shape == (40, 50, 3) and img.min() == 1.0  # transparent -> white paper


class _ConstantBackend:
    """Classifier stand-in for plumbing tests: every glyph is an 'A' (the real classifier has its own
    held-out evaluation)."""
    name = "constant"

    def read(self, glyphs):
        p = np.zeros((len(glyphs), 36))
        p[:, 0] = 1.0
        return p, np.ones(len(glyphs))

    def predict_proba(self, glyphs):
        return self.read(glyphs)[0]


def test_synthetic_desk_pages_segment(shared_data):
    rng = np.random.default_rng(3)
    bank = synth._glyph_bank(shared_data)
    for _ in range(2):
        page, lines = synth.compose_page(bank, rng)
        photo = synth.photograph(page, rng)
        found = segment.find_letters(photo)
        want = sum(len(ln.replace(" ", "")) for ln in lines)
        assert abs(len(found.boxes) - want) <= max(2, 0.08 * want)
        assert len(found.lines) == len(lines)
        assert found.info["surround_found"]


def test_ocr_task_outputs_and_bad_files(tmp_path, monkeypatch, shared_data):
    pages = synth.make_pages(shared_data, 1, seed=5)
    folder = synth.write_pages(pages, str(tmp_path / "pages"))
    (tmp_path / "pages" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    Image.new("RGB", (300, 200), (240, 240, 240)).save(tmp_path / "pages" / "blank.png")
    backend = _ConstantBackend()
    monkeypatch.setattr(task, "get_classifier", lambda *a, **k: (backend, {"model": "constant"}))
    names = [os.path.join(folder, n) for n in (pages[0][0], "broken.jpg", "blank.png")]
    out = tmp_path / "out"
    assert cli.main(["run", "ocr", *names, "--out", str(out), "--no-progress", "--wordlist", "none"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert {"pages", "mean_char_acc", "seconds_per_page", "model"} <= set(m)
    first = m["pages"][pages[0][0]]
    assert {"text", "detected", "expected", "char_acc"} <= set(first)
    truth = "".join(pages[0][2]).replace(" ", "")
    assert first["expected"] == len(truth)
    assert first["text"].replace("\n", "").replace(" ", "") == "A" * first["detected"]
    assert first["char_acc"] == pytest.approx(decode.char_accuracy("A" * first["detected"], truth))
    # every word (none of which is all A's) is wrong, and no more tokens are read than there are words
    truth_words = decode.words_of(" ".join(pages[0][2]))
    n_words = len(truth_words)
    assert not any(set(w) == {"A"} for w in truth_words)
    assert first["word_acc"] == pytest.approx(1 - max(len(first["text"].split()), n_words) / n_words)
    assert m["mean_word_acc"] == pytest.approx(first["word_acc"])
    assert abs(first["detected"] - len(truth)) <= max(2, 0.08 * len(truth))  # as the segmentation test
    assert "not a readable image" in m["pages"]["broken.jpg"]["error"]
    assert m["pages"]["blank.png"]["detected"] == 0
    stem = os.path.splitext(pages[0][0])[0]
    assert (out / f"{stem}.txt").read_text().strip() == first["text"]
    boxes = Image.open(out / f"{stem}_boxes.png")
    assert not boxes.getexif()


def test_remove_rules_only_on_ruled_pages():
    mask = np.zeros((400, 800), bool)
    for y in (100, 200, 300):
        mask[y:y + 2, 20:780] = True  # three rules across the page
    mask[170:230, 100:104] = True  # a letter stroke crossing the second rule
    cleaned = segment.remove_rules(mask, 60)
    assert not cleaned[100:102, 300:500].any() and not cleaned[300:302].any()
    assert cleaned[170:194, 100:104].all() and cleaned[208:230, 100:104].all()  # only the rule band goes
    single = np.zeros((400, 800), bool)
    single[200:210, 50:750] = True  # one long bar (a pen): not a ruling, left to the size filters
    assert segment.remove_rules(single, 60) is single


def test_remove_rules_takes_a_margin_line_tilted_by_perspective():
    mask = np.zeros((900, 800), bool)
    for y in range(100, 900, 100):
        mask[y:y + 2, 20:780] = True  # eight rules
    ys = np.arange(20, 890)
    xs = (60 + (ys - 20) * np.tan(np.deg2rad(2.5))).astype(int)  # a margin tilted by 2.5 degrees
    mask[ys, xs] = mask[ys, xs + 1] = True
    mask[130:190, 300:304] = True  # a letter stroke between two rules stays
    cleaned = segment.remove_rules(mask, 60)
    inner = (ys > 100) & (ys < 800)  # between the first and last rule; its ends may keep short stubs
    assert not cleaned[ys[inner], xs[inner]].any()
    assert cleaned[130:190, 300:304].all()


def test_long_runs_equals_morphological_opening(rng):
    from scipy import ndimage as ndi
    mask = rng.random((60, 90)) < 0.8
    for length in (1, 5, 17):
        want = ndi.binary_opening(mask, structure=np.ones((1, length), bool))
        np.testing.assert_array_equal(segment._long_runs(mask, length), want)


def test_remove_rules_finds_faint_rules_and_ignores_sheet_edges():
    mask = np.zeros((400, 800), bool)
    faint = np.zeros_like(mask)
    for y in (100, 200, 300):
        faint[y:y + 2, 20:780] = True  # rules too faint for the ink mask ...
        mask[y:y + 2, 200:260] = True  # ... except where a letter's stroke runs along one
    mask[150:202, 230:234] = True  # the letter's stem sits on the second rule
    cleaned = segment.remove_rules(mask, 60, faint)
    assert not cleaned[100:102].any() and not cleaned[200:202].any()
    assert cleaned[150:196, 230:234].all()
    sheet = np.zeros((400, 800), bool)
    sheet[10:12, 20:380] = sheet[10:12, 420:780] = sheet[390:392, 20:780] = True  # a sheet's top edge in
    sheet[10:392, 20:22] = True  # two pieces, its bottom and left edge: three spans but two rows
    assert segment.remove_rules(sheet, 60, sheet) is sheet


def test_stroke_width_and_foreign_strokes_dropped():
    from skimage import measure
    lab = np.zeros((200, 400), int)
    lab[10:90, 10:14] = 1  # an 80 x 4 stroke
    lab[10:90, 50:62] = 2  # 80 x 12: three times as wide
    props = measure.regionprops(lab)
    w = segment.stroke_width([[1], [2]], props)
    assert abs(w[0] - 4) < 0.6 and abs(w[1] - 12) < 1.5 and w[1] / w[0] > 2.5
    from PIL import ImageDraw
    im = Image.fromarray(_text_page([6, 5]))
    ImageDraw.Draw(im).line([200, 560, 420, 640], fill=20, width=26)  # a pen lying below the text
    found = segment.find_letters(np.asarray(im))
    assert [len(line) for line in found.lines] == [6, 5]


def test_wordlist_splits_words_written_without_a_visible_space(tmp_path):
    (tmp_path / "words").write_text("PAGE\nCAMERA\nJAM\n")
    wl = decode.WordList(str(tmp_path / "words"))
    rows = [{c: 0.9} for c in "PAGECAMERAAJAM"]
    rows[2] = {"Q": 0.6, "G": 0.4}  # PAQE: off the list on its own
    p = _probs(*rows)
    line = [list(range(14))]
    assert decode.decode_page(p, line, [[False] * 14], wordlist=wl) == ["PAGE CAMERA A JAM"]
    assert decode.decode_page(p, line, [[False] * 14], context=False) == ["PAQECAMERAAJAM"]
    # a confident off-list word with no listed pieces stays whole
    p = _probs(*[{c: 0.99} for c in "QXZVKW"])
    assert decode.decode_page(p, [list(range(6))], [[False] * 6], wordlist=wl) == ["QXZVKW"]


def test_word_decoder_chooses_how_to_cut_a_wide_box(tmp_path):
    (tmp_path / "words").write_text("NEURAL\nDOG\n")
    wl = decode.WordList(str(tmp_path / "words"))
    # N [EU touching, read whole as a doubtful D] R A L
    p = _probs({"N": 0.9}, {"D": 0.6, "O": 0.3}, {"R": 0.9}, {"A": 0.9}, {"L": 0.9})
    pieces = _probs({"E": 0.8}, {"U": 0.8})
    cuts = {(1,): [(np.log(0.3), p[1][None]), (np.log(0.9 * 0.9 / 1.5), pieces)]}
    assert decode.decode_page(p, [list(range(5))], [[False] * 5], wordlist=wl) == ["NDRAL"]
    chosen = {}
    assert decode.decode_page(p, [list(range(5))], [[False] * 5], wordlist=wl, cuts=cuts, chosen=chosen) == \
        ["NEURAL"]
    assert chosen == {(1,): 1}
    # without a word list the boxes stay as the splitter left them
    assert decode.decode_page(p, [list(range(5))], [[False] * 5], cuts=cuts) == ["NDRAL"]
    # D [O, sure as one character] G: its cut into C + I explains the word worse
    p = _probs({"D": 0.9}, {"O": 0.9}, {"G": 0.9})
    cuts = {(1,): [(np.log(0.95), p[1][None]), (np.log(0.9 * 0.9 / 1.5), _probs({"C": 0.7}, {"I": 0.9}))]}
    assert decode.decode_page(p, [[0, 1, 2]], [[False] * 3], wordlist=wl, cuts=cuts) == ["DOG"]
    # a group the splitter cut (boxes 1 and 2) may also be read whole, as one character
    p = _probs({"D": 0.9}, {"C": 0.5, "O": 0.4}, {"I": 0.5, "L": 0.4}, {"G": 0.9})
    cuts = {(1, 2): [(np.log(0.2), _probs({"O": 0.9})), (np.log(0.5 * 0.5 / 1.5), p[[1, 2]])]}
    assert decode.decode_page(p, [[0, 1, 2, 3]], [[False] * 4], wordlist=wl, cuts=cuts) == ["DOG"]


def test_cut_choice_does_not_favour_fewer_pieces(tmp_path):
    # B [O X touching, read whole as a Y with P(one) 0.2]: whole, the listed word BY; cut into a doubtful
    # O and X (0.5 each, P(one) 0.6 a piece), the listed word BOX. Hand-computed log scores (prior log .85
    # for each, the only listed word of its length; _probs normalises, so about):
    #   BY:  log .2 + log .99 + log .9 + log .85                    = -1.89
    #   BOX: 2 log .6 - log 1.5 + log .99 + 2 log .5 + log .85       = -2.99
    # BY scores higher, but BOX reads one character more: + CUT_LETTER_BONUS (2) makes it the choice.
    (tmp_path / "words").write_text("BY\nBOX\n")
    wl = decode.WordList(str(tmp_path / "words"))
    p = _probs({"B": 0.99}, {"Y": 0.9, "V": 0.1})
    pieces = _probs({"O": 0.5, "0": 0.5}, {"X": 0.5, "K": 0.5})
    cuts = {(1,): [(np.log(0.2), p[1][None]), (2 * np.log(0.6) - np.log(1.5), pieces)]}
    chosen = {}
    assert decode.decode_page(p, [[0, 1]], [[False] * 2], wordlist=wl, cuts=cuts, chosen=chosen) == ["BOX"]
    assert chosen == {(1,): 1}
    rows, labels, score, _ = decode._cut_word([0, 1], np.log(p), wl, None, {
        g: [(seg, np.log(q)) for seg, q in opts] for g, opts in cuts.items()})
    b, o, x = (CLASSES36.index(c) for c in "BOX")
    assert score == pytest.approx(2 * np.log(0.6) - np.log(1.5) + np.log(p[0, b] * pieces[0, o] * pieces[1, x])
                                  + np.log(0.85), abs=1e-6)  # the bonus is not in the score
    # at half the bonus the whole box still wins
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(decode, "CUT_LETTER_BONUS", 1.0)
        assert decode.decode_page(p, [[0, 1]], [[False] * 2], wordlist=wl, cuts=cuts) == ["BY"]


def test_apply_cuts_redraws_the_boxes_the_decoder_cut():
    boxes = np.array([[0, 0, 10, 8], [0, 10, 10, 30], [0, 40, 10, 48]])
    page = segment.Page(None, None, boxes.copy(), None, [[1], [2], [3]], [[0, 1], [2]], [[False, False], [False]],
                        {"cut_boxes": {(1,): [boxes[[1]], np.array([[0, 10, 10, 19], [1, 21, 10, 30]])]}})
    task.apply_cuts(page, {(1,): 0})  # the whole box: nothing changes
    assert page.lines == [[0, 1], [2]] and len(page.boxes) == 3
    task.apply_cuts(page, {(1,): 1})
    assert page.lines == [[0, 3, 4], [2]] and page.spaces == [[False, False, False], [False]]
    assert page.boxes[3].tolist() == [0, 10, 10, 19] and page.boxes[4].tolist() == [1, 21, 10, 30]
    assert page.comp_ids[3] == page.comp_ids[4] == [2]


def test_word_frequencies_weight_the_prior(tmp_path):
    (tmp_path / "words").write_text("MARKER\nHARKEN\nBANJO\n")
    freqs = {"marker": 7.4e-6, "harken": 1.5e-7, "email": 2e-5, "zzyzx": 1e-7, "banjo": 1e-6}
    wl = decode.WordList(str(tmp_path / "words"), frequencies=freqs)
    # weights (f + 1e-8) ** 0.5 among the listed 6-letter words; "email" only joins with add_common
    w_marker, w_harken = (7.4e-6 + 1e-8) ** 0.5, (1.5e-7 + 1e-8) ** 0.5
    p = _probs({"M": 0.4, "H": 0.6}, *[{c: 0.9} for c in "ARKE"], {"R": 0.45, "N": 0.55})
    labels, score = wl.decode(np.log(p))
    assert "".join(CLASSES36[k] for k in labels) == "MARKER"
    want = np.log(p[range(6), [CLASSES36.index(c) for c in "MARKER"]]).sum() + \
        np.log(0.85 * w_marker / (w_marker + w_harken))
    assert score == pytest.approx(want)
    # uniform weights read the same ink as the rarer word
    labels, _ = decode.WordList(str(tmp_path / "words")).decode(np.log(p))
    assert "".join(CLASSES36[k] for k in labels) == "HARKEN"
    # ink that clearly says HARKEN still reads HARKEN: the prior ratio is only sqrt(7.4e-6 / 1.6e-7) = 6.8
    p = _probs({"H": 0.95, "M": 0.04}, *[{c: 0.9} for c in "ARKE"], {"N": 0.95, "R": 0.04})
    assert "".join(CLASSES36[k] for k in wl.decode(np.log(p))[0]) == "HARKEN"
    assert 5 not in wl.by_len or "EMAIL" not in wl.by_len[5]
    common = decode.WordList(str(tmp_path / "words"), frequencies=freqs, add_common=True)
    assert "EMAIL" in common.by_len[5] and "ZZYZX" not in common.by_len[5]  # 1e-7 < COMMON_FREQ
    only_common = decode.WordList(None, frequencies=freqs, add_common=True)
    assert set(only_common.by_len[5]) == {"EMAIL", "BANJO"} and set(only_common.by_len[6]) == {"MARKER"}


def test_load_wordlist_choices(tmp_path, monkeypatch):
    monkeypatch.setattr(decode, "english_frequencies", lambda: {"hello": 1e-4, "world": 1e-4, "qi": 1e-6})
    (tmp_path / "mine").write_text("Zebra\nhello\n")
    assert decode.load_wordlist("none") == (None, "none")
    wl, desc = decode.load_wordlist(str(tmp_path / "mine"))
    assert set(wl.by_len[5]) == {"ZEBRA", "HELLO"} and "wordfreq" in desc  # the file's words only
    wl, desc = decode.load_wordlist(str(tmp_path / "mine"), frequencies=False)
    assert "wordfreq" not in desc and np.ptp(wl.log_prior[5]) == pytest.approx(np.log(10))  # proper noun 0.1
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        decode.load_wordlist(str(tmp_path / "missing.txt"))
    monkeypatch.setattr(decode, "default_wordlist", lambda: None)
    wl, desc = decode.load_wordlist("auto")
    assert set(wl.by_len[5]) == {"HELLO", "WORLD"} and set(wl.by_len[2]) == {"QI"}
    assert decode.load_wordlist("auto", frequencies=False)[0] is None


def _v_page(paper, ink):
    """A 1400x900 grey page with lines of 6, 9 and 4 'V' strokes 5 px wide (words of three)."""
    from PIL import ImageDraw
    im = Image.new("L", (1400, 900), paper)
    d = ImageDraw.Draw(im)
    for li, n in enumerate([6, 9, 4]):
        for k in range(n):
            x, y = 100 + k * 90 + (k // 3) * 60, 120 + li * 170
            d.line([x, y, x + 25, y + 80, x + 50, y], fill=ink, width=5)
    return im


def test_faint_writing_beside_dark_rotation_wedges_is_found():
    # pencil-grey strokes on grey paper, rotated inside the frame with BLACK fill: the wedges are far
    # darker than the writing and must not set the ink level
    im = _v_page(paper=175, ink=120)
    page = np.asarray(im.rotate(1, fillcolor=0, expand=False))  # thin wedges: no desk found
    found = segment.find_letters(page)
    assert len(found.boxes) == 19
    assert [len(line) for line in found.lines] == [6, 9, 4]


def test_faint_writing_beside_a_dark_pen_on_the_page_is_found():
    # pale strokes plus a long near-black bar (a pen lying on the sheet) with about as many dark pixels as
    # all the writing: the bar must not set the ink level (it is then dropped as a long object)
    from PIL import ImageDraw
    im = _v_page(paper=200, ink=150)
    # thinner than the "solid" opening, so only its length and shape can tell it from writing
    ImageDraw.Draw(im).line([300, 720, 1300, 640], fill=20, width=14)
    found = segment.find_letters(np.asarray(im))
    assert len(found.boxes) == 19
    assert [len(line) for line in found.lines] == [6, 9, 4]


def test_text_score_ignores_readings_of_texture():
    # three lines, one a lone mark: 5 characters count; the same boxes a few pixels high are texture
    lines = [[0, 1, 2], [3, 4], [5]]
    page = segment.Page(None, None, np.zeros((6, 4), int), None, [], lines, [], {"char_height": 40.0})
    assert segment._text_score(page) == 5
    page.info["char_height"] = 5.0
    assert segment._text_score(page) == 0


@pytest.mark.parametrize("ruled", [False, True])
def test_the_tip_of_a_dark_wedge_between_two_sheets_is_no_character(ruled):
    from PIL import ImageDraw
    frame = Image.new("L", (1700, 1200), 40)  # a dark desk
    sheet = _v_page(paper=200, ink=60)
    if ruled:  # rules under each line of writing cross the wedge and, removed, cut it into pieces
        for y in range(35, 900, 170):
            ImageDraw.Draw(sheet).line([0, y, 1400, y], fill=150, width=3)
    frame.paste(sheet, (100, 150))
    d = ImageDraw.Draw(frame)
    d.polygon([(1420, 0), (1700, 0), (1700, 1200), (1560, 1200)], fill=230)  # another sheet overlapping it
    # its shadow, a black wedge: where it is thin the sheet mask takes it in, and its tip looked like an I
    d.polygon([(1470, 560), (1561, 1200), (1440, 1200)], fill=0)
    found = segment.find_letters(np.asarray(frame))
    ruling_seen = found.info.get("ruling_lines", 0) >= 3 or found.info.get("rules_removed", False)
    assert found.info["surround_found"] and ruling_seen == ruled
    assert len(found.boxes) == 19
    assert [len(line) for line in found.lines] == [6, 9, 4]


def test_letters_running_off_the_sheet_edge_are_kept():
    # the top line is cut by the sheet's edge, so its strokes join the desk beyond it, but each across
    # no more than its own width: unlike a wedge's tip, they are writing
    frame = Image.new("L", (1600, 1200), 40)
    frame.paste(_v_page(paper=200, ink=60).crop((0, 125, 1400, 900)), (100, 200))
    found = segment.find_letters(np.asarray(frame))
    assert found.info["surround_found"]
    assert [len(line) for line in found.lines] == [6, 9, 4]


@pytest.mark.parametrize("angle", [12.0, -8.0])
def test_skew_of_cramped_writing_on_ruled_paper(angle):
    # letters touching each other and their rule make one component: too few character-sized marks to
    # take the angle from, so it comes from the ink itself (rules and lines run parallel)
    from PIL import ImageDraw
    im = Image.new("L", (1400, 900), 0)
    d = ImageDraw.Draw(im)
    for li, y in enumerate(range(200, 900, 170)):
        d.line([0, y, 1400, y], fill=255, width=3)
        for k in range(8 if li < 3 else 0):
            x = 100 + k * 45
            d.line([x, y - 80, x + 25, y, x + 50, y - 80], fill=255, width=5)
    mask = np.asarray(im.rotate(angle, expand=True)) > 127
    assert abs(abs(segment.estimate_skew(mask)) - abs(angle)) < 1.0


def test_space_threshold_parts_letter_gaps_from_spaces_at_the_largest_ratio():
    # a line with one wide space: the largest step (1.46 -> 2.63) lies among the spaces, the largest
    # ratio (0.54 -> 1.46) between letters and spaces (gaps in letter widths, from a punctuated page)
    gaps = np.array([0.19, 0.2, 0.2, 0.22, 0.24, 0.26, 0.28, 0.37, 0.39, 0.43, 0.44, 0.44, 0.54, 1.46, 2.63, 2.85])
    assert segment._gap_threshold(gaps) == pytest.approx((0.54 + 1.46) / 2)
    # ratios of small gaps count from a quarter letter: 0.02 -> 0.35 is no jump to a space
    assert segment._gap_threshold(np.array([0.02, 0.35, 0.4, 1.2, 1.3])) == pytest.approx(0.8)
    # one mode only: no threshold
    assert segment._gap_threshold(np.array([0.2, 0.25, 0.3, 0.35, 0.4])) is None
    # overlapping letters (a gap below zero) are no mode of their own: N E U R A L stays one word
    assert segment._gap_threshold(np.array([0.21, 0.29, 0.36, -0.14, 0.27, 0.43])) is None
    # spaced digits (1 2 3 ... 0), the first set further apart: a lower "mode" a letter wide is spaces too
    assert segment._gap_threshold(np.array([2.41, 1.5, 1.5, 1.07, 1.36, 0.98, 1.57, 0.69, 0.93])) is None
    # a page's one wide gap is no mode: two spaces above the step at least
    assert segment._gap_threshold(np.array([0.8, 0.9, 1.0, 1.1, 1.2, 2.4]), min_spaces=2) is None
    # nor is one overlapping pair in a long line a mode of letter gaps (0.13 -> 0.45 is a step of 0.32 and a
    # ratio of 1.8, more than 1.3 -> 2.3): the letter gaps are a tenth of the gaps at least
    line = np.array([0.13, 0.45, 0.53, 0.53, 0.61, 0.61, 0.67, 0.67, 0.83, 0.85, 0.88, 0.93, 0.96, 1.01,
                     1.04, 1.04, 1.3, 2.3, 2.35, 3.2, 3.2])
    assert segment._gap_threshold(line) == pytest.approx((1.3 + 2.3) / 2)


def test_page_threshold_splits_overlapping_letter_gaps_and_spaces_in_log_space():
    # a writer who spaces letters wide: letter gaps about half a letter (up to 1.2) and spaces of 1.5-3,
    # no clear step anywhere in the pooled gaps; two classes of log gap, split where their between-class
    # variance peaks
    rng = np.random.default_rng(0)
    letters = np.concatenate([np.clip(rng.normal(0.5, 0.25, 80), -0.1, 1.0), [1.1, 1.2]])
    spaces = rng.uniform(1.35, 3.0, 25)
    gaps = np.concatenate([letters, spaces])
    assert segment._gap_threshold(gaps, min_spaces=2) is None
    thr = segment._page_gap_threshold(gaps)
    x = np.sort(np.log(np.maximum(gaps, 0.25)))  # ratios of small gaps count from a quarter letter
    best = max(range(1, len(x)), key=lambda k: k * (len(x) - k) * (x[:k].mean() - x[k:].mean()) ** 2)
    assert thr == pytest.approx(np.exp((x[best - 1] + x[best]) / 2))
    # the classes overlap at their edge: a gap or two near the split may fall on the wrong side (the word
    # list then decides, the space's evidence being weak there)
    assert (letters < thr).mean() >= 0.95 and (spaces > thr).all()
    # a page of lone letters, all gaps alike (A B C D): one mode, no page threshold
    assert segment._page_gap_threshold(rng.uniform(0.8, 1.6, 30)) is None


def test_word_spaces_in_cramped_writing_where_boxes_hold_several_letters():
    # height-40 boxes; letters gaps 0-2 px, word gaps 24 px (0.6 heights); most boxes are fused words
    # two to three heights wide, so their median width is no letter width
    h, widths, gaps = 40, [100, 30, 110, 90, 28, 120], [1, 24, 2, 24, 0]
    boxes, x = [], 10
    for w, g in zip(widths, gaps + [0]):
        boxes.append([10, x, 10 + h, x + w])
        x += w + g
    boxes = np.array(boxes)
    # gaps in letter widths (the median width, clipped to one height): 0.025, 0.6, 0.05, 0.6, 0; the
    # threshold halves the one jump, (0.05 + 0.6) / 2, and a space is given in its units
    margin = 0.6 / 0.325
    assert segment.find_spaces(boxes, list(range(6)), h) == pytest.approx([0, 0, margin, 0, margin, 0])
    # ordinary writing, letters 0.7 heights wide: gaps of a fifth of a letter are no spaces
    boxes = np.array([[10, 10 + 34 * k, 50, 38 + 34 * k] for k in range(6)])
    assert segment.find_spaces(boxes, list(range(6)), h) == [0.0] * 6


def test_writing_in_a_shadow_across_the_sheet_is_read():
    # four lines of nine 'V's; a soft shadow (the phone's) halves the paper's brightness over the right
    # of lines 2-4: as dark as a desk, a quarter of the frame, with 12 of the 36 characters inside
    from PIL import ImageDraw
    from scipy import ndimage as ndi
    im = Image.new("L", (1400, 1300), 215)
    d = ImageDraw.Draw(im)
    for li in range(4):
        for k in range(9):
            x, y = 100 + k * 90 + (k // 3) * 60, 120 + li * 170
            d.line([x, y, x + 25, y + 80, x + 50, y], fill=50, width=5)
    d.line([100, 800, 125, 880, 150, 800], fill=50, width=5)  # a fifth line: one character
    d.line([1250, 1150, 1250, 1220], fill=50, width=6)  # and far below the writing, a lone stray bar
    yy, xx = np.mgrid[0:1300, 0:1400]
    shade = ndi.gaussian_filter(((xx > 500) & (yy > 250) & (yy < 750)).astype(np.float32), 12)
    found = segment.find_letters(np.asarray(im, np.float32) * (1 - 0.5 * shade))
    assert found.info.get("surround_rejected") and found.info["lone_marks_dropped"] == 1
    assert [len(line) for line in found.lines] == [9, 9, 9, 9, 1]
    assert [bool(s) for s in found.spaces[3]] == [False, False, False, True, False, False, True, False, False]
    assert sorted(k for line in found.lines for k in line) == list(range(len(found.boxes)))
    bar = found.bw[int(1150 * found.info["scale"]):int(1220 * found.info["scale"]),
                   int(1240 * found.info["scale"]):int(1260 * found.info["scale"])]
    assert bar.size and bar.min() == 1.0  # the bar is gone from the black-on-white image too


def _glare(page, centre, sigma, strength):
    """A flash's glare: light added toward white, strongest at centre (y, x)."""
    yy, xx = np.mgrid[0:page.shape[0], 0:page.shape[1]]
    g = strength * np.exp(-((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / (2 * sigma ** 2))
    return page * (1 - g) + 255 * g


def test_writing_under_a_glare_is_read(monkeypatch):
    # grey paper (140) and pencil-dark ink (60); a glare over the middle line's right half (60 % of the
    # way to white at its centre) leaves its letters a quarter of their contrast: under the one ink
    # threshold of the page, two of them vanish
    page = _glare(np.asarray(_v_page(paper=140, ink=60), np.float32), (330, 700), 160, 0.6)
    found = segment.find_letters(page)
    assert [len(line) for line in found.lines] == [6, 9, 4]
    monkeypatch.setattr(segment, "restore_glare", lambda norm, *a: norm)
    assert [len(line) for line in segment.find_letters(page).lines] == [6, 7, 4]


def test_restore_glare_gives_back_the_contrast_a_glare_took():
    # paper p = 0.6, ink q = 0.3: darkness (p - q) / p = 0.5 wherever the light falls. Under a glare of
    # share g the paper reads p + g (1 - p), the ink q + g (1 - q): divided by the paper, 0.5 (1 - g) p /
    # (p + g (1 - p)); restored, 0.5 again
    H, W = 600, 900
    grey = np.full((H, W), 0.6, np.float32)
    for x in range(60, 860, 40):  # strokes 4 px wide, 120 px long, on three lines
        for y in (100, 250, 400):
            grey[y:y + 120, x:x + 4] = 0.3
    yy, xx = np.mgrid[0:H, 0:W]
    share = 0.6 * np.exp(-((yy - 300) ** 2 + (xx - 700) ** 2) / (2 * 150.0 ** 2))
    glared = (grey * (1 - share) + share).astype(np.float32)
    paper = np.ones((H, W), bool)
    plain = 1 - segment.flatten(grey, paper)
    restored = 1 - segment.flatten(glared, paper)
    stroke = np.zeros((H, W), bool)
    stroke[250:370, 700:704] = True  # under the glare's centre
    assert np.median(plain[stroke]) == pytest.approx(0.5, abs=0.03)
    assert np.median(restored[stroke]) == pytest.approx(0.5, abs=0.06)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(segment, "restore_glare", lambda norm, *a: norm)
    assert np.median(1 - segment.flatten(glared, paper)[stroke]) < 0.3  # not restored: 0.5 * 0.43
    monkeypatch.undo()
    # brighter light alone (a shading gradient, the ink's contrast kept) is left as it is
    lit = (grey * (0.7 + 0.5 * xx / W)).astype(np.float32)
    norm = segment.flatten(lit, paper)
    bg = np.full((H // 3, W // 3), 0.6, np.float32) * (0.7 + 0.5 * np.arange(W // 3) * 3 / W)
    assert segment.restore_glare(norm, paper, bg, 3) is norm
    # and so are faint marks (print showing through) on evenly lit paper
    faint = np.where(grey < 0.5, np.float32(0.55), grey)
    norm = 1 - 0.1 * (faint < 0.6).astype(np.float32)
    assert segment.restore_glare(norm, paper, np.full((H // 3, W // 3), 0.6, np.float32), 3) is norm


def test_a_close_up_drops_the_letters_its_edges_cut_after_deskewing():
    # a close-up of one line of a page, written 3 degrees off level: the photo's top and bottom edges cut
    # the lines above and below in half. Deskewing grows the frame, so those halves no longer touch its
    # edge; they are still cut by the photo's own edge, and dropped like any mark the frame cuts
    from PIL import ImageDraw
    im = Image.new("L", (1400, 900), 200)
    d = ImageDraw.Draw(im)
    for y in (120, 290, 460):
        for k in range(8):
            x = 150 + k * 120 + (k // 4) * 60
            d.line([x, y, x + 25, y + 80, x + 50, y], fill=40, width=6)
    page = np.asarray(im.rotate(3, fillcolor=200), np.float32)[165:495, 100:1300]
    found = segment.find_letters(page)
    assert abs(found.info["skew_deg"]) > 0.2 and [len(line) for line in found.lines] == [8]


def test_a_bright_corner_of_a_close_up_is_no_sheet():
    # grey paper filling the frame but for a small white corner (2 % of it: a bright table beyond the
    # page's edge): the largest bright region is far too small to be the sheet being read
    grey = np.full((600, 900), 0.45, np.float32)
    grey[:60, :180] = 0.97
    paper, found = segment.find_paper(grey)
    assert not found and paper.all()
    grey[:300, :450] = 0.97  # a quarter of the frame: a sheet on a darker surface
    paper, found = segment.find_paper(grey)
    assert found and paper[20:280, 20:430].all() and not paper[320:].any()


def test_flat_ink_on_flat_paper():
    # drawn, not photographed: every stroke pixel equally dark (no spread for Otsu), half of it in shade
    from scipy import ndimage as ndi
    page = np.asarray(_v_page(paper=215, ink=50), np.float32)
    yy, xx = np.mgrid[0:page.shape[0], 0:page.shape[1]]
    shade = ndi.gaussian_filter((yy + 0.8 * xx > 700).astype(np.float32), 12)
    found = segment.find_letters(page * (1 - 0.5 * shade))
    assert [len(line) for line in found.lines] == [6, 9, 4]


@pytest.mark.parametrize("shrink", [0.5, 0.3])
def test_a_small_photo_is_enlarged_so_its_glyphs_look_like_the_full_size_ones(shrink, monkeypatch):
    # a page photographed at a third or half the resolution: read at its own size, its 2-3 px strokes
    # binarise blocky and the redrawn glyphs drift from those of the full-size page
    im = _v_page(paper=215, ink=50)
    full = task.crops(segment.find_letters(np.asarray(im, np.float32)))
    small = np.asarray(im.resize((int(1400 * shrink), int(900 * shrink)), Image.BILINEAR), np.float32)
    page = segment.find_letters(small)
    assert page.info["scale"] == segment.MAX_UPSCALE and len(page.boxes) == 19
    enlarged, upscale = np.abs(task.crops(page) - full).mean(), segment.MAX_UPSCALE
    monkeypatch.setattr(segment, "MAX_UPSCALE", 1.0)
    own_size = np.abs(task.crops(segment.find_letters(small)) - full).mean()
    assert enlarged < own_size
    # the crops are enlarged to the training glyphs' scale before thinning anyway (glyph.CROP_SIDE), which
    # takes part of the gap; without that, the page's enlargement alone closes a fifth of it at least
    monkeypatch.setattr(glyph, "CROP_SIDE", 0)
    own_size = np.abs(task.crops(segment.find_letters(small)) - full).mean()
    monkeypatch.setattr(segment, "MAX_UPSCALE", upscale)
    enlarged = np.abs(task.crops(segment.find_letters(small)) - full).mean()
    assert enlarged < 0.8 * own_size


def test_photo_degradations_for_the_robustness_sets():
    rng = np.random.default_rng(3)
    img = np.full((400, 600, 3), 200, np.uint8)
    small = synth.low_resolution(img, rng)
    assert 0.39 <= small.shape[0] / 400 <= 0.56 and abs(small.shape[1] / 600 - small.shape[0] / 400) < 0.01
    shaded = synth.shadow(img, rng).astype(float).mean(2)
    lo, hi = np.percentile(shaded, [2, 98])
    assert abs(hi - 200) <= 3 and 0.43 * 200 <= lo <= 0.67 * 200  # paper as it was; 35-55 % darker
    edge = np.zeros((100, 100, 3), np.uint8)
    edge[:, 50:] = 255
    soft = synth.blur(edge, rng).astype(float).mean(2)[50]
    assert 60 < soft[49] < 135 and soft[40] < 12 and soft[60] > 243  # sigma 1.2-2.5 px: a soft edge
    grainy = synth.dim(img, rng).astype(float)
    assert 0.43 * 200 <= np.median(grainy) <= 0.67 * 200 and 4 < grainy.std() < 25  # JPEG smooths some grain
    folded = synth.crease(img, rng).astype(float)[:, 300].mean(1)  # down the middle: two thin dark creases
    thin_dark = (folded < 0.87 * np.minimum(np.roll(folded, 4), np.roll(folded, -4)))
    rows = np.flatnonzero(thin_dark)
    assert len(rows) >= 2 and rows.max() - rows.min() > 0.2 * 400
    assert 0.28 * 400 <= rows.min() and rows.max() <= 0.72 * 400 and np.ptp(rows[rows < 200]) <= 3
    assert folded[:100].mean() != folded[-100:].mean()  # and the paper turned from the light is darker
    glared = synth.glare(img, rng).astype(float).mean(2)
    assert 0.5 * 55 - 3 <= glared.max() - 200 <= 0.75 * 55 + 3  # 50-75 % of the way to white at its centre
    assert 0.3 * 400 - 60 <= np.unravel_index(glared.argmax(), glared.shape)[0] <= 0.7 * 400 + 60
    assert glared[0, 0] - 200 < 0.5 * (glared.max() - 200)  # a spot: the corners lifted far less
    marked = np.zeros((40, 60, 3), np.uint8)
    marked[0, 0] = 255  # top left
    corners = set()
    for _ in range(30):
        out = synth.turned(marked, rng)
        corners.add((out.shape, tuple(np.argwhere(out[..., 0])[0])))
    assert corners == {((60, 40, 3), (59, 0)), ((40, 60, 3), (39, 59)), ((60, 40, 3), (0, 39))}  # 3 turns
    with pytest.raises(ValueError, match="unknown degradation"):
        synth.make_pages(None, 1, degrade="fog")


def test_closeup_shoots_whole_lines_and_no_more_than_half_of_the_others(shared_data):
    rng = np.random.default_rng(4)
    bank = synth._glyph_bank(shared_data)
    for _ in range(3):
        letters = []
        page, lines = synth.compose_page(bank, rng, n_lines=5, letters=letters)
        assert [len(b) for b in letters] == [len(ln.replace(" ", "")) for ln in lines]
        photo, shot = synth.closeup(page, lines, letters, rng)
        first = lines.index(shot[0])
        assert shot == lines[first:first + len(shot)] and 1 <= len(shot) <= 2
        found = segment.find_letters(photo)
        want = sum(len(ln.replace(" ", "")) for ln in shot)
        assert abs(len(found.boxes) - want) <= max(1, 0.08 * want)  # the neighbours' cut letters are not read
        assert len(found.lines) == len(shot)
        assert 40 <= found.info["char_height"] / found.info["scale"] <= 160  # letters 50-140 px high


def test_make_pages_writes_words_from_a_file(tmp_path, shared_data):
    (tmp_path / "words.txt").write_text("don't stop, 2026!\nDON'T\n")
    assert synth.read_words(str(tmp_path / "words.txt")) == ["DONT", "STOP", "2026", "DONT"]
    assert cli.main(["data", "make-pages", "--data", shared_data, "--out", str(tmp_path / "p"), "--n", "2",
                     "--words", str(tmp_path / "words.txt")]) == 0
    truth = json.loads((tmp_path / "p" / "ground_truth.json").read_text())
    words = {w for k, v in truth.items() if k != "_note" for line in v["lines"] for w in line.split()}
    # a line running off the page is cut there, so the last word may be a prefix
    assert {"DONT", "STOP", "2026"} & words and all(any(v.startswith(w) for v in ("DONT", "STOP", "2026"))
                                                    for w in words)
    (tmp_path / "empty.txt").write_text("... !!\n")
    for bad in ("empty.txt", "absent.txt"):
        assert cli.main(["data", "make-pages", "--data", shared_data, "--out", str(tmp_path / "q"),
                         "--words", str(tmp_path / bad)]) == 1
    assert not (tmp_path / "q").exists()


def _a_font(tmp_path):
    """Pillow's built-in scalable font (Aileron), written out as a font file."""
    from PIL import ImageFont
    path = tmp_path / "aileron.ttf"
    path.write_bytes(ImageFont.load_default(size=20).font_bytes)
    return str(path)


def test_font_bank_draws_every_character_a_little_differently_each_time(tmp_path):
    images, labels = synth.font_bank(_a_font(tmp_path), np.random.default_rng(0), per_char=3)
    assert images.shape[0] == 36 * 3 and (np.bincount(labels) == 3).all()
    assert images.min() == 0.0 and images.max() == 1.0  # dark ink on white paper, as the shared sets
    ink = images < 0.5
    assert (ink.sum((1, 2)) > 100).all()
    o, one = CLASSES36.index("O"), CLASSES36.index("1")
    # three drawings of one character differ (turned, slanted, stretched) but overlap mostly
    a, b = ink[labels == o][:2]
    assert (a != b).any() and (a & b).sum() > 0.3 * a.sum()
    # and a 1 is narrower than an O
    width = [np.ptp(np.nonzero(ink[labels == k][0])[1]) for k in (o, one)]
    assert width[1] < 0.6 * width[0]
    (tmp_path / "not_a_font.ttf").write_bytes(b"hello")
    with pytest.raises(ValueError, match="not_a_font.ttf"):
        synth.font_bank(str(tmp_path / "not_a_font.ttf"), np.random.default_rng(0))


def test_make_pages_in_fonts_writes_the_same_pages_in_another_hand(tmp_path, shared_data):
    font = _a_font(tmp_path)
    hand = synth.make_pages(shared_data, 2, seed=3, fonts=[font])
    held_out = synth.make_pages(shared_data, 2, seed=3)
    for (name, img, lines), (name0, img0, lines0) in zip(hand, held_out):
        assert lines == lines0 and name == name0.replace(".png", "_aileron.png")
        assert img.shape == img0.shape and (img != img0).any()
    found = segment.find_letters(hand[0][1])
    want = sum(len(ln.replace(" ", "")) for ln in hand[0][2])
    assert abs(len(found.boxes) - want) <= max(2, 0.08 * want)
    assert cli.main(["data", "make-pages", "--data", shared_data, "--out", str(tmp_path / "p"), "--n", "1",
                     "--fonts", str(tmp_path / "absent.ttf")]) == 1


def test_not_desk_keeps_the_shadowed_sheet_and_leaves_out_a_dark_desk():
    grey = np.full((600, 900), 0.12, np.float32)  # a dark desk
    grey[100:500, 150:750] = 0.85  # the sheet...
    grey[300:500, 150:750] = 0.42  # ...its lower half in shadow, half as bright
    grey[120:160, 200:205] = 0.1  # and a stroke of ink on it
    paper = np.zeros(grey.shape, bool)
    paper[105:295, 155:745] = True  # the bright part is what find_paper takes for the sheet
    lit = segment.not_desk(grey, paper)
    assert lit[320:480, 170:730].all() and lit[120:160, 200:205].all()  # shadowed sheet and ink: in
    assert not lit[:80].any() and not lit[:, :130].any() and not lit[520:].any()  # the desk: out


def _grid_page(angle=0.0, grid_level=150, cell=40):
    """A squared-paper stand-in: faint grid lines every `cell` px under dark 'V' letters (_text_page)."""
    page = _text_page([6, 9, 4]).astype(np.float32)
    grid = np.zeros(page.shape, bool)
    grid[::cell, :] = grid[1::cell, :] = True
    grid[:, ::cell] = grid[:, 1::cell] = True
    page = np.where(grid, np.minimum(page, grid_level), page)  # the ink stays on top of the grid
    return np.asarray(Image.fromarray(page.astype(np.uint8)).rotate(angle, fillcolor=235, expand=True))


def test_subtract_ruling_lifts_a_grid_and_keeps_strokes_across_it():
    page = _grid_page()
    norm = page.astype(np.float32) / 235.0
    paper = np.ones(norm.shape, bool)
    lifted, lines = segment.subtract_ruling(norm, paper, 0.003)
    assert lines >= 3 + 3  # rows and columns of the grid
    d = 1 - lifted
    assert d[0:900:40, 10:30].max() < 0.06 and d[50:110, 0:1400:40].max() < 0.06  # grid gone between letters
    stroke = page < 100  # the letters' own pixels, including where they cross a grid line
    assert np.median(d[stroke]) > 0.5 and d[stroke].min() > 0.2
    # a page with no ruling is returned as it was
    plain = _text_page([6, 9, 4]).astype(np.float32) / 235.0
    assert segment.subtract_ruling(plain, paper, 0.003)[0] is plain


@pytest.mark.parametrize("cell", [28, 32])
def test_subtract_ruling_finds_a_fine_grid(cell):
    """Lines 28-32 px apart are 7-8 px apart in the quarter-size first look: on a grainy photo the
    darkness averaged along one grid line there must not smear its cross lines into a dark field."""
    norm = _grid_page(cell=cell).astype(np.float32) / 235.0
    lifted, lines = segment.subtract_ruling(norm, np.ones(norm.shape, bool), 0.01)  # grainy: averaged
    assert lines >= 6 and (1 - lifted[0:900:cell, 10:30]).max() < 0.06


def test_subtract_ruling_ignores_a_dark_corner_and_sheet_edges():
    norm = np.ones((900, 1400), np.float32)
    norm[:300, :200] = 0.1  # a black corner of the frame
    norm[600:602, 100:1300] = 0.85  # one faint line (a sheet's edge): no ruling
    paper = np.ones(norm.shape, bool)
    assert segment.subtract_ruling(norm, paper, 0.003)[0] is norm


@pytest.mark.parametrize("angle", [0.0, 5.0])
def test_find_letters_on_squared_paper(angle):
    # before subtract_ruling the grid joined every letter into one mark and its removal (a band of the
    # ink mask round each line) cut the letters apart: a grid page read as 0-170 'characters'
    page = segment.find_letters(_grid_page(angle))
    assert page.info.get("ruling_lines", 0) >= 6
    assert [len(line) for line in page.lines] == [6, 9, 4]
    assert abs(abs(page.info["skew_deg"]) - abs(angle)) < 1.0


def test_lone_marks_off_the_text_keep_a_list_of_single_digits():
    # one line of text, then a list of single digits one below the other (each line ~2.4 heights below
    # the last), and a pen tip far below: only the pen tip is off the text
    boxes = [[100, 100 + 60 * i, 150, 140 + 60 * i] for i in range(3)]
    boxes += [[100 + 120 * j, 100, 150 + 120 * j, 140] for j in range(1, 5)]
    boxes += [[1200, 600, 1250, 640]]
    n = len(boxes)
    labels = np.zeros((1400, 800), int)
    for k, (y1, x1, y2, x2) in enumerate(boxes):
        labels[y1:y2, x1:x2] = k + 1
    lines = [[0, 1, 2]] + [[k] for k in range(3, n)]
    page = segment.Page(np.ones((1400, 800)), np.where(labels > 0, 0.0, 1.0), np.array(boxes), labels,
                        [[k + 1] for k in range(n)], lines, [[False] * len(line) for line in lines],
                        {"char_height": 50.0})
    out = segment._drop_lone_marks_off_the_text(page)
    assert out.info["lone_marks_dropped"] == 1
    assert [len(line) for line in out.lines] == [3, 1, 1, 1, 1]
    assert out.boxes[-1].tolist() == boxes[-2] and out.bw[1200:1250, 600:640].min() == 1.0


def test_squared_paper_pages_for_the_robustness_sets():
    images = np.ones((36, 40, 30), np.float32)
    images[:, 4:36, 13:17] = 0.0  # every class a bar: enough for a page's layout
    bank = (images, np.arange(36))
    page, lines = synth.compose_page(bank, np.random.default_rng(1), n_lines=3, grid=True)
    assert lines
    grey = page.astype(float).mean(2)
    H, W = grey.shape
    margin = grey[int(0.93 * H):, :]  # below the last line of text: paper and grid only
    columns = margin.mean(0)
    dark = np.flatnonzero(columns < np.median(columns) - 8)
    starts = dark[np.r_[True, np.diff(dark) > 1]]
    steps = np.diff(starts)
    assert len(starts) > W / 60 and 29 <= np.median(steps) <= 51  # vertical grid lines every 30-50 px
    plain, _ = synth.compose_page(bank, np.random.default_rng(1), n_lines=3)
    plain_margin = plain.astype(float).mean(2)[int(0.93 * H):, :].mean(0)
    assert np.count_nonzero(plain_margin < np.median(plain_margin) - 8) == 0  # and none without grid=True


def test_a_word_whose_letters_all_touch_is_kept_and_a_long_thin_object_is_not():
    # lines of 'V's, then a word of eight V's written in one stroke (a zigzag 4.6 heights wide) and,
    # below, a pen line of the same stroke width as long and at a low slope: both are one long component
    from PIL import ImageDraw
    im = Image.fromarray(_text_page([6, 9]))
    d = ImageDraw.Draw(im)
    x0, y = 100, 460
    d.line([(x0 + 25 * k, y + 80 * (k % 2)) for k in range(17)], fill=30, width=7)
    d.line([150, 640, 900, 700], fill=30, width=7)
    found = segment.find_letters(np.asarray(im))
    assert [len(line) for line in found.lines] == [6, 9, 1]
    word = found.boxes[found.lines[2][0]] / found.info["scale"]
    assert abs(word[1] - x0) < 15 and abs(word[3] - (x0 + 400)) < 15 and abs(word[0] - y) < 15


def test_fused_word_shape_against_a_straight_run():
    from skimage import measure
    lab = np.zeros((120, 600), int)
    for k in range(16):  # a zigzag 80 px high: columns cross it top to bottom over about 30 px each
        rr = np.linspace(10 + 80 * (k % 2), 10 + 80 * ((k + 1) % 2), 60).astype(int)
        cc = np.linspace(20 + 30 * k, 20 + 30 * (k + 1), 60).astype(int)
        for r, c in zip(rr, cc):
            lab[r - 3:r + 4, c - 3:c + 4] = 1
    zigzag = measure.regionprops(lab)[0]
    assert segment._fused_word(zigzag, h_med=80)
    assert not segment._fused_word(zigzag, h_med=40)  # twice its line's height: no word
    lab[:] = 0
    rr = np.linspace(20, 100, 500).astype(int)
    for r, c in zip(rr, range(50, 550)):  # a straight stroke across as much
        lab[r - 3:r + 4, c - 3:c + 4] = 1
    assert not segment._fused_word(measure.regionprops(lab)[0], h_med=80)


def test_small_writing_is_read_from_a_larger_working_image():
    # a 3000 px photo of 4 lines of 'V's 30 px high (28 px and the pen): 20 px at the 2000 px working
    # size, so the page is read again at 36 / 20 of that size: 3600 px, 1.2x the photo
    im = Image.fromarray(_text_page([12] * 4, size=(2200, 3000), scale=0.35, word=4))
    found = segment.find_letters(np.asarray(im, np.float32) / 255)
    assert found.info.get("enlarged_for_small_writing")
    assert found.info["scale"] == pytest.approx(1.2, rel=0.03)
    assert [len(line) for line in found.lines] == [12] * 4
    assert found.info["char_height"] == pytest.approx(36, abs=2)
    # writing of an ordinary size is read once, at the working size
    big = segment.find_letters(_text_page([6, 9]))
    assert "enlarged_for_small_writing" not in big.info
    # a photo decoded at half size is read again from its full-size decoding, when one is offered
    full = np.asarray(im, np.float32) / 255
    calls = []
    half = np.asarray(im.resize((1500, 1100)), np.float32) / 255
    again = segment.find_letters(half, larger=lambda: calls.append(1) or full)
    assert calls == [1] and again.info.get("enlarged_for_small_writing")
    assert again.info["scale"] == pytest.approx(1.2, rel=0.03) and [len(x) for x in again.lines] == [12] * 4


def test_load_image_decodes_a_large_jpeg_at_a_reduced_scale(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4400, 1000), (200, 200, 200)).save(path)
    assert segment.load_image(str(path)).shape[:2] == (500, 2200)  # 1/2: the first scale >= 2000 px
    assert segment.load_image(str(path), max_side=segment.MAX_WORK_SIDE).shape[:2] == (1000, 4400)


def test_a_margin_line_chopped_by_the_rules_is_no_column_of_i():
    h = 30
    letters = np.array([[100 + 50 * li, 300 + 40 * k, 100 + 50 * li + h, 325 + 40 * k]
                        for li in range(6) for k in range(5)])
    # a margin 5 degrees off the vertical, cut by a rule every 50 px: a piece of 42 px on each line
    margin = np.array([[92 + 50 * li, 200 + 4 * li, 134 + 50 * li, 206 + 4 * li] for li in range(6)])
    boxes = np.concatenate([letters, margin])
    groups = [[k] for k in range(len(boxes))]
    kept, kept_groups = segment._drop_chopped_line(boxes, groups, h)
    assert len(kept) == len(letters) and (kept == letters).all() and len(kept_groups) == len(letters)
    # a column of 1's, one per line of text, as tall as the letters: writing
    ones = np.array([[100 + 50 * li, 200, 100 + 50 * li + h, 206] for li in range(6)])
    boxes = np.concatenate([letters, ones])
    assert len(segment._drop_chopped_line(boxes, [[k] for k in range(len(boxes))], h)[0]) == len(boxes)
    # tall strokes far apart (a tall 1 on every third line) do not cover their span: writing
    sparse = np.array([[92 + 150 * li, 200, 134 + 150 * li, 206] for li in range(5)])
    boxes = np.concatenate([letters, sparse])
    assert len(segment._drop_chopped_line(boxes, [[k] for k in range(len(boxes))], h)[0]) == len(boxes)


def test_dense_pages_for_the_robustness_sets(shared_data):
    rng = np.random.default_rng(3)
    bank = synth._glyph_bank(shared_data)
    page, lines = synth.compose_page(bank, rng, dense=True)
    assert len(lines) >= 10
    sparse_page, sparse_lines = synth.compose_page(bank, np.random.default_rng(3))
    assert len(sparse_lines) <= 6


@pytest.mark.parametrize("seed", range(6))
def test_group_lines_equals_the_pairwise_reference(seed):
    """Sloped lines of letters among specks, with repeated gaps (ties) and pieces of odd heights."""
    rng = np.random.default_rng(seed)
    boxes = []
    for row in range(int(rng.integers(2, 8))):
        x, slope = int(rng.integers(0, 40)), rng.uniform(-0.05, 0.05)
        for _ in range(int(rng.integers(1, 15))):
            h, w = int(rng.integers(20, 45)), int(rng.integers(8, 35))
            y = int(100 + 80 * row + slope * x + rng.integers(-6, 7))
            boxes.append([y, x, y + h, x + w])
            x += w + int(rng.choice([4, 4, 10, 30, 90, 200]))
    for _ in range(int(rng.integers(0, 60))):  # specks and stray pieces anywhere
        y, x = rng.integers(0, 700, 2)
        boxes.append([y, x, y + int(rng.integers(2, 40)), x + int(rng.integers(2, 40))])
    boxes = np.array(boxes)[rng.permutation(len(boxes))]
    assert segment.group_lines(boxes, 36.0) == ref.group_lines(boxes.tolist(), 36.0)


def test_group_lines_of_thousands_of_specks_is_quick():
    """A grainy photo can leave thousands of boxes; grouping them is vectorised (took minutes in pairs).
    No timing is asserted: a quadratic Python loop here would run for tens of minutes."""
    rng = np.random.default_rng(0)
    yx = rng.integers(0, 3000, (4000, 2))
    boxes = np.concatenate([yx, yx + rng.integers(3, 12, (4000, 2))], 1)
    lines = segment.group_lines(boxes, 30.0)
    assert sorted(k for line in lines for k in line) == list(range(4000))


def test_faint_rules_are_found_under_the_grain_of_a_dim_photo():
    """Rules 0.16 dark under grain of 0.03 (a phone photo in dim light, the grain a pixel or two across):
    the darkness along a rule is averaged a little before its straight run is measured, else the grain
    dips below the level and the rules stay on the page, chopped into specks that pass for characters."""
    from scipy import ndimage as ndi
    rng = np.random.default_rng(0)
    norm = _text_page([6, 9, 4]).astype(np.float32) / 235.0
    rules = np.zeros(norm.shape, bool)
    for y in range(60, norm.shape[0], 85):
        rules[y:y + 2] = True
    norm = np.where(rules, np.minimum(norm, 0.84), norm)
    grain = ndi.gaussian_filter(rng.normal(0, 1, norm.shape), 1.0)
    norm = np.clip(norm + 0.03 * grain / grain.std(), 0, 1).astype(np.float32)
    lifted, lines = segment.subtract_ruling(norm, np.ones(norm.shape, bool), 0.03)
    assert lines >= 8  # of the 10 rules (the code before the averaging found none)
    margin = rules.copy()
    margin[:, 60:] = False  # the left margin, clear of letters
    assert (1 - lifted[margin]).mean() < 0.06 < 0.12 < (1 - norm[margin]).mean()


def test_character_height_ignores_the_grain_of_a_dim_photo():
    """Hundreds of 1-3 px specks (grain past the ink threshold) must not pass for the characters."""
    mask = np.zeros((600, 1600), bool)
    for k in range(30):  # letters 60 px high: a ring each
        y, x = 100 + 150 * (k // 10), 60 + 150 * (k % 10)
        mask[y:y + 60, x:x + 40] = True
        mask[y + 6:y + 54, x + 6:x + 34] = False
    rng = np.random.default_rng(0)
    for y, x in zip(rng.integers(0, 600, 120), rng.integers(0, 1600, 120)):
        mask[y, x:x + rng.integers(1, 3)] = True  # 90-odd specks of 1-2 px, more than the letters
    props = segment._components(mask)[1]
    assert abs(segment._median_char_height(props) - 60) <= 1


class _VReader:
    """Classifier stand-in that knows which way up a V is: sure of a 'V' when its ink spreads far wider
    across the glyph's top rows than across its bottom ones, doubtful of anything else."""

    def read(self, glyphs):
        probs = np.full((len(glyphs), 36), 0.7 / 35)
        for k, g in enumerate(glyphs):
            ink = g < 0.5
            top, bottom = [np.ptp(np.flatnonzero(rows.any(0))) if rows.any() else 0 for rows in (ink[:8], ink[-8:])]
            probs[k, CLASSES36.index("V")] = 0.95 if top > 2 * bottom + 3 else 0.3
        return probs / probs.sum(1, keepdims=True), np.ones(len(glyphs))


def _v_glyphs():
    page = segment.find_letters(np.asarray(_v_page(paper=215, ink=50), np.float32))
    return task.crops(page)


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_the_glyphs_vote_for_the_turn_that_sets_them_upright(k):
    reader = _VReader()
    glyphs = np.ascontiguousarray(np.rot90(_v_glyphs(), k, axes=(1, 2)))
    probs, one = reader.read(glyphs)
    assert orientation.decided(orientation.tally(reader, glyphs, probs.max(1) * one)[0]) == (4 - k) % 4


def test_an_orientation_needs_votes_enough_and_twice_any_other():
    reader = _VReader()
    up = _v_glyphs()[:6]
    down = np.ascontiguousarray(up[:, ::-1, ::-1])
    for glyphs, want in [(np.concatenate([up[:2], down[:4]]), 2),  # 4 votes against 2: turn
                         (np.concatenate([up[:3], down[:5]]), None),  # 5 against 3: not twice
                         (down[:2], None),  # 2 votes: too few
                         (up[:3], 0)]:
        probs, one = reader.read(glyphs)
        assert orientation.decided(orientation.tally(reader, glyphs, probs.max(1) * one)[0]) == want
    ring = np.ones((5, 32, 32), np.float32)  # reads alike every way up, doubtfully: no votes
    yy, xx = np.mgrid[:32, :32]
    ring[:, np.abs(np.hypot(yy - 15.5, xx - 15.5) - 12) < 2] = 0.0
    votes, sure = orientation.tally(reader, ring, np.full(5, 0.3))
    assert list(votes) == [0, 0, 0, 0] and list(sure) == [0, 0, 0, 0]


def test_a_glyph_read_alike_two_ways_up_does_not_vote():
    # three glyphs read 0.9 as found; turned a half turn 0.8, 0.5 and 0.95, a quarter either way 0.1:
    # only the second reads 1.2x surer one way than any other (an O or an 8 reads alike upside down)
    turned = np.array([[0.1, 0.1, 0.1], [0.8, 0.5, 0.95], [0.1, 0.1, 0.1]]).ravel()  # turns 1, 2, 3

    class Fixed:
        def read(self, glyphs):
            assert len(glyphs) == 9
            probs = np.tile(((1 - turned) / 35)[:, None], (1, 36))
            probs[:, 0] = turned
            return probs, np.ones(9)
    votes, sure = orientation.tally(Fixed(), np.ones((3, 32, 32), np.float32), np.full(3, 0.9))
    assert list(votes) == [1, 0, 0, 0] and list(sure) == [3, 0, 3, 0]  # sure: read at 0.5 or more


@pytest.mark.parametrize("k", [1, 2, 3])
def test_a_page_photographed_turned_round_is_read_upright(k):
    upright = np.asarray(_v_page(paper=215, ink=50), np.float32)
    page, lines, probs = task.read_page(np.rot90(upright, k), _VReader(), context=False)
    assert page.info["quarter_turns"] == (4 - k) % 4
    assert lines == ["VVV VVV", "VVV VVV VVV", "VVV V"] and (probs.argmax(1) == CLASSES36.index("V")).all()
    page, lines, _ = task.read_page(upright, _VReader(), context=False)
    assert "quarter_turns" not in page.info and lines == ["VVV VVV", "VVV VVV VVV", "VVV V"]


def _read_turned_v_page(monkeypatch, quarter_turns, looks):
    """Read the V page turned quarter_turns times with orientation.tally answering each look in turn from
    looks [(votes, sure glyphs) per turn]; every look given must be taken. Returns (page, lines)."""
    tallies = iter([(np.array(v), np.array(n)) for v, n in looks])
    monkeypatch.setattr(orientation, "tally", lambda *a: next(tallies))
    upright = np.asarray(_v_page(paper=215, ink=50), np.float32)
    page, lines, _ = task.read_page(np.rot90(upright, quarter_turns), _VReader(), context=False)
    assert next(tallies, None) is None, "a look was not taken"
    return page, lines


def test_a_page_the_glyphs_leave_in_doubt_is_looked_at_again_a_quarter_turn_round(monkeypatch):
    # the page as found leaves its glyphs' votes tied (as a page on its side and tilted does: deskewed
    # wrongly, its glyphs read badly every way up); found again a quarter turn round, it is upside down
    real, calls = orientation.tally, []

    def first_tied(*args):
        calls.append(len(calls))
        return (np.array([2, 2, 2, 2]), np.array([4, 4, 4, 4])) if len(calls) == 1 else real(*args)
    monkeypatch.setattr(orientation, "tally", first_tied)
    upright = np.asarray(_v_page(paper=215, ink=50), np.float32)
    page, lines, _ = task.read_page(np.rot90(upright, 1), _VReader(), context=False)
    assert page.info["quarter_turns"] == 3 and lines == ["VVV VVV", "VVV VVV VVV", "VVV V"]
    assert len(calls) == 3  # as found, a quarter turn round, then the three quarters it settled on
    calls.clear()
    page, lines, _ = task.read_page(upright, _VReader(), context=False)
    assert "quarter_turns" not in page.info and len(calls) == 2  # settled by the second look: upright
    # cramped letters: the votes as found settle nothing; on their side, a few sure pieces settle on a
    # turn, but read fewer glyphs surely than the first look did: that is no reason to turn
    page, lines = _read_turned_v_page(monkeypatch, 0, [([2, 2, 3, 3], [10, 8, 10, 8]),  # votes, sure glyphs
                                                       ([4, 0, 0, 0], [5, 1, 3, 1])])
    assert "quarter_turns" not in page.info and lines == ["VVV VVV", "VVV VVV VVV", "VVV V"]


def test_when_neither_look_settles_the_turn_their_votes_are_pooled(monkeypatch):
    # a short page on its side: as found its glyphs vote 3 upright, 5 for a quarter turn (not 2x: no
    # decision); found again a quarter turn round they vote 5 upright, 4 upside down (none either). Pooled
    # in the second look's frame, 5 + 5 for that quarter turn against 4 + 0 and 3 + 1: turned
    page, _ = _read_turned_v_page(monkeypatch, 3, [([3, 5, 0, 0], [9, 12, 6, 10]), ([5, 0, 4, 1], [16, 7, 14, 6])])
    assert page.info["quarter_turns"] == 1
    # pooled votes settling on a turn the second look reads fewer glyphs surely at than the first did
    # (cramped pieces) still leave the page as found
    page, _ = _read_turned_v_page(monkeypatch, 0, [([3, 5, 0, 0], [9, 12, 6, 10]), ([5, 0, 4, 1], [11, 7, 14, 6])])
    assert "quarter_turns" not in page.info


def test_a_turn_whose_own_look_votes_to_turn_on_is_followed(monkeypatch):
    # a page on its side and tilted, deskewed wrongly at the first look: its glyphs vote 10 to 5 for the
    # opposite side (three quarter turns). Found that way round, they vote 18 to 6 to turn it upside down
    # again, and read more glyphs surely that way (38 against 29): the page is read a quarter turn round
    # three looks: as found, the turn voted for, the one it pointed to
    page, lines = _read_turned_v_page(monkeypatch, 3, [([5, 5, 3, 10], [12, 23, 11, 23]),
                                                       ([6, 2, 18, 1], [29, 15, 38, 14]),
                                                       ([16, 1, 5, 2], [36, 19, 29, 15])])
    assert page.info["quarter_turns"] == 1 and lines == ["VVV VVV", "VVV VVV VVV", "VVV V"]
    # a look that votes to turn on but reads fewer glyphs surely that way than as it is stays as it is
    page, lines = _read_turned_v_page(monkeypatch, 1, [([5, 5, 3, 10], [12, 23, 11, 23]),
                                                       ([1, 2, 6, 0], [20, 5, 15, 3])])
    assert page.info["quarter_turns"] == 3 and lines == ["VVV VVV", "VVV VVV VVV", "VVV V"]


def test_a_turn_its_own_look_leaves_in_doubt_is_weighed_against_the_other_two(monkeypatch):
    # a ruled page on its side and tilted, its heading twice the writing (set SZT, read 0.138 upside
    # down): as found its glyphs vote 6 to 3 for a half turn; found that way round they tie 5 to 5. The
    # look a quarter further round reads 26 glyphs surely as found and 42 turned upside down: the page
    # is read that way, a quarter turn from the start (where 42 read surely again)
    # four looks: as found, the half turn, three quarters, a quarter
    page, lines = _read_turned_v_page(monkeypatch, 3, [([1, 3, 6, 2], [10, 13, 15, 10]),
                                                       ([5, 2, 5, 2], [12, 9, 10, 12]),
                                                       ([3, 0, 22, 3], [26, 14, 42, 17]),
                                                       ([18, 1, 3, 2], [42, 16, 26, 17])])
    assert page.info["quarter_turns"] == 1 and lines == ["VVV VVV", "VVV VVV VVV", "VVV V"]
    # where the turn voted for reads the most glyphs surely, it stays: three looks, no fourth
    page, lines = _read_turned_v_page(monkeypatch, 2, [([1, 3, 6, 2], [10, 13, 15, 10]),
                                                       ([5, 2, 5, 2], [40, 9, 10, 12]),
                                                       ([3, 0, 22, 3], [26, 14, 30, 17])])
    assert page.info["quarter_turns"] == 2 and lines == ["VVV VVV", "VVV VVV VVV", "VVV V"]


def test_a_heading_written_larger_keeps_its_words_whole():
    # two lines of 40 px writing (letters 28 wide, 8 apart, words 30 apart) under a heading of 80 px
    # letters 56 wide, 28 apart: a third of its letter width, no space. Measured in the page's letter
    # widths (at most one page height, 40) those gaps (0.7) looked like the body's spaces (1.07).
    def line(y, h, w, gaps):
        boxes, x = [], 20
        for g in gaps + [0]:
            boxes.append([y, x, y + h, x + w])
            x += w + g
        return boxes
    heading = line(20, 80, 56, [28] * 4)
    body = line(150, 40, 28, [8, 8, 30, 8, 8, 8, 30, 8]) + line(220, 40, 28, [8, 30, 8, 8, 30, 8, 8])
    boxes = np.array(heading + body)
    lines = [list(range(5)), list(range(5, 14)), list(range(14, 22))]
    spaces = segment.find_all_spaces(boxes, lines, 40.0)
    assert not any(spaces[0])
    assert [k for k, s in enumerate(spaces[1]) if s] == [3, 7] and [k for k, s in enumerate(spaces[2]) if s] == [2, 5]
    assert segment.line_height(boxes, lines[0], 40.0) == 80 and segment.line_height(boxes, lines[1], 40.0) == 40


def test_make_pages_sizes_writes_the_same_lines_each_in_its_own_size():
    images = np.ones((36, 40, 30), np.float32)
    images[:, 4:36, 13:17] = 0.0  # every class a bar
    bank = (images, np.arange(36))
    plain_boxes, sized_boxes = [], []
    _, lines = synth.compose_page(bank, np.random.default_rng(5), n_lines=4, letters=plain_boxes)
    _, lines2 = synth.compose_page(bank, np.random.default_rng(5), n_lines=4, letters=sized_boxes,
                                   sizes=np.random.default_rng(6))
    expect = np.random.default_rng(6)
    scales = [synth._line_scale(expect, k) for k in range(len(lines2))]
    assert lines2 == lines[:len(lines2)] and len(lines2) >= 2  # the same text (a larger line may not fit)
    for k, scale in enumerate(scales):
        got = np.median([b[2] - b[0] for b in sized_boxes[k]]) / np.median([b[2] - b[0] for b in plain_boxes[k]])
        assert got == pytest.approx(scale, rel=0.08)
    assert all(0.7 <= s <= 2.0 for s in scales)


def test_a_heading_in_a_thicker_pen_is_writing_but_a_thick_bar_among_the_letters_is_not():
    # three lines of nine 80 px 'V's in a 5 px pen under a heading of five 150 px 'V's in a 14 px marker
    # (2.8 times as thick: more than the 2.4 a mark of the writing's own size may be), and in the last
    # line a short, thick bar (a pen's sliver) as tall as the letters
    from PIL import ImageDraw
    im = Image.new("L", (1400, 1000), 215)
    d = ImageDraw.Draw(im)
    for k in range(5):
        x = 100 + k * 150
        d.line([x, 100, x + 45, 250, x + 90, 100], fill=40, width=14)
    for li in range(3):
        for k in range(9):
            x, y = 100 + k * 90 + (k // 3) * 60, 380 + li * 170
            d.line([x, y, x + 25, y + 80, x + 50, y], fill=50, width=5)
    d.rectangle([1150, 720, 1172, 800], fill=40)
    page = segment.find_letters(np.asarray(im, np.float32))
    assert [len(line) for line in page.lines] == [5, 9, 9, 9]


def test_the_character_height_of_a_page_of_crumbs_is_its_letters():
    # a ruled page with a few words: 5 letters 50 px high, and 8 crumbs 5 px high (the rules' ends at
    # the margins). The plain median (5) would make every crumb a character-sized mark. Boxes sorted by
    # height, their area (12,360 px, the letters' 9,960) passes half at the 49 px letter: 2,400 + 1,920 +
    # 1,960 = 6,280 >= 6,180
    hs, ws = np.array([50, 48, 52, 50, 49] + [5] * 8), np.array([40] * 5 + [60] * 8)
    assert segment._box_height(hs, ws) == 49
    # an ordinary page keeps its plain median (the weighted one leans to the wider letters)
    hs, ws = np.array([40, 44, 46, 50, 52, 38]), np.array([30, 32, 34, 60, 62, 20])
    assert segment._box_height(hs, ws) == np.median(hs) == 45
