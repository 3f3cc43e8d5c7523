"""Synthetic page photos with known text, for evaluating OCR on pages it has never seen.

Pages are composed from held-out (test-split, writer-disjoint) characters of the shared sets, with varied
spacing, slope, ink, paper, lighting, rotation, perspective, a dark desk, clutter (a pen, a fragment of
another sheet). The sample pages can also be "re-photographed" by the same transformations.
"""
import io
import json
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage as ndi

from fastnn.data import CLASSES36
from fastnn.data.handwriting import load_handwriting36

WORDS = ("THE QUICK BROWN FOX JUMPS OVER LAZY DOG HELLO WORLD NEURAL NETWORK DEEP LEARNING PAGE TEXT "
         "CAMERA PHOTO PAPER PENCIL MARKER LETTER DIGIT ROOM 42 7 2026 1984 365 BOX 12 ZEBRA QUIZ JAM "
         "VIXEN WALTZ GYM 3 5 8 0 9 6 KNOWLEDGE YELLOW PURPLE XRAY").split()


def _glyph_bank(root):
    test = load_handwriting36(root)["test"]
    return test.images, test.labels


FONT_SIZE = 96  # px em size characters are rendered at from a font, before _char_image scales them


def font_bank(path, rng, per_char=6):
    """A glyph bank like _glyph_bank's, written in one TrueType/OpenType font (a hand the classifier
    never saw): each character drawn per_char times, turned up to 4 degrees, slanted up to 0.12 and
    stretched 0.9-1.1 across, its strokes now and then a pixel thicker or thinner, as one writer draws a
    letter a little differently each time."""
    try:
        font = ImageFont.truetype(path, FONT_SIZE)
    except OSError as exc:
        raise ValueError(f"cannot read the font {path}: {exc}") from exc
    side = 2 * FONT_SIZE
    centre = np.array([side / 2, side / 2])
    images, labels = [], []
    for k, ch in enumerate(CLASSES36):
        canvas = Image.new("L", (side, side), 0)
        ImageDraw.Draw(canvas).text((side // 2, side // 2), ch, font=font, fill=255, anchor="mm")
        ink = np.asarray(canvas, np.float32) / 255.0
        if (ink > 0.5).sum() < 20:
            raise ValueError(f"the font {path} draws no glyph for {ch!r}")
        for _ in range(per_char):
            a, shear, stretch = np.deg2rad(rng.uniform(-4, 4)), rng.uniform(-0.12, 0.12), rng.uniform(0.9, 1.1)
            rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            m = rot @ np.array([[1.0, 0.0], [shear, 1.0]]) @ np.diag([1.0, 1.0 / stretch])  # (y, x) out -> in
            g = ndi.affine_transform(ink, m, offset=centre - m @ centre, order=1)
            r = rng.random()
            if r < 0.25:
                g = ndi.grey_dilation(g, size=(2, 2))
            elif r < 0.5:
                g = ndi.grey_erosion(g, size=(2, 2))
            images.append(1.0 - np.clip(g, 0, 1))
            labels.append(k)
    return np.stack(images), np.array(labels)


def read_words(path):
    """Words for synthetic pages from a text file: whitespace-separated, upper-cased, characters outside
    A-Z/0-9 dropped (repeat a word to make it likelier)."""
    try:
        with open(path, errors="replace") as fh:
            tokens = fh.read().split()
    except OSError as exc:
        raise ValueError(f"cannot read the word file {path}: {exc.strerror}") from exc
    words = ["".join(c for c in t.upper() if c in CLASSES36) for t in tokens]
    words = [w for w in words if w]
    if not words:
        raise ValueError(f"the word file {path} holds no word of A-Z/0-9 characters")
    return words


def _line_texts(rng, n_lines, vocabulary=WORDS, words_per_line=(1, 5)):
    lines = []
    for _ in range(n_lines):
        words = [vocabulary[i] for i in rng.integers(0, len(vocabulary), rng.integers(*words_per_line))]
        lines.append(" ".join(words))
    return lines


def _char_image(bank, ch, rng, height):
    images, labels = bank
    k = CLASSES36.index(ch)
    img = images[rng.choice(np.flatnonzero(labels == k))]
    ys, xs = np.nonzero(img < 0.6)
    img = img[ys.min():ys.max() + 1, xs.min():xs.max() + 1] if len(ys) else img
    scale = height / max(img.shape[0], 8)
    scale *= rng.uniform(0.85, 1.1)
    out = ndi.zoom(img, scale, order=1)
    return np.clip(out, 0, 1)


# Punctuation as pen strokes, in units of the line's height (top 0, baseline 1): ("line", points) or
# ("dot", centre). None of it is in the 36-class alphabet; a reader must leave it out of the text.
_MARKS = {
    ".": [("dot", (0.1, 0.93))],
    ",": [("dot", (0.12, 0.9)), ("line", [(0.14, 0.92), (0.1, 1.04), (0.03, 1.15)])],
    "'": [("line", [(0.1, 0.0), (0.06, 0.28)])],
    '"': [("line", [(0.1, 0.0), (0.07, 0.27)]), ("line", [(0.26, 0.0), (0.23, 0.27)])],
    "-": [("line", [(0.0, 0.52), (0.4, 0.5)])],
    "!": [("line", [(0.1, 0.0), (0.1, 0.72)]), ("dot", (0.1, 0.93))],
    "?": [("line", [(0.02, 0.22), (0.08, 0.06), (0.22, 0.0), (0.38, 0.06), (0.42, 0.2), (0.34, 0.34),
                    (0.22, 0.45), (0.22, 0.68)]), ("dot", (0.22, 0.93))],
    ":": [("dot", (0.1, 0.45)), ("dot", (0.1, 0.93))],
    ";": [("dot", (0.12, 0.45)), ("dot", (0.12, 0.9)), ("line", [(0.14, 0.92), (0.1, 1.04), (0.03, 1.15)])],
}
PUNCTUATION = "".join(_MARKS)


def _mark_image(ch, height, rng):
    """(ink coverage, top offset from the line's top) of a punctuation mark drawn with a pen about as wide
    as the glyphs' strokes (0.09-0.14 of their height), each point jittered by up to 3 % of the height."""
    s = 4.0  # drawn at 4x and reduced: smooth edges like the zoomed glyphs
    pen = height * rng.uniform(0.09, 0.14)
    parts = [(kind, np.atleast_2d(np.array(pts, float)) + rng.uniform(-0.03, 0.03, np.shape(np.atleast_2d(pts))))
             for kind, pts in _MARKS[ch]]
    if ch == "-":
        parts[0][1][1, 0] = rng.uniform(0.25, 0.5)  # dashes come in lengths
    pts = np.concatenate([p for _, p in parts])
    top = pts[:, 1].min() * height - pen
    w = int((pts[:, 0].max() + 0.05) * height + 2 * pen) + 2
    h = int((pts[:, 1].max() * height + pen) - top) + 2
    canvas = Image.new("L", (int(w * s), int(h * s)), 0)
    draw = ImageDraw.Draw(canvas)

    def at(p):
        return ((p[0] * height + pen) * s, (p[1] * height - top) * s)
    for kind, p in parts:
        if kind == "dot":
            cx, cy = at(p[0])
            r = pen * rng.uniform(0.6, 0.9) * s
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        else:
            draw.line([at(q) for q in p], fill=255, width=max(1, int(pen * s)), joint="curve")
            for q in (p[0], p[-1]):  # round pen ends
                cx, cy = at(q)
                r = pen * s / 2
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    ink = np.asarray(canvas.resize((w, h), Image.LANCZOS), np.float32) / 255.0
    return np.clip(ink, 0, 1), int(round(top))


def _punctuate(lines, rng):
    """Lines as people write them: list numbers with a period, commas, full stops, ! ? : ; after words,
    an apostrophe in a word (DON'T), a word in quotes, hyphenated pairs."""
    out = []
    for line in lines:
        words = line.split()
        if rng.random() < 0.2:
            words.insert(0, f"{rng.integers(1, 10)}.")
        text = ""
        for i, w in enumerate(words):
            r = rng.random()
            if w.isalpha() and len(w) >= 3 and r < 0.08:
                w = w[:-1] + "'" + w[-1]
            elif r < 0.14:
                w = f'"{w}"'
            if rng.random() < 0.25 and w[-1] not in PUNCTUATION:
                w += ",.!?:;"[rng.choice(6, p=[0.35, 0.3, 0.1, 0.1, 0.1, 0.05])]
            text += ("-" if text and text[-1] not in PUNCTUATION and rng.random() < 0.06 else " ") + w
        out.append(text.strip())
    return out


LETTER_GAP = (0.12, 0.35)  # gap between letters of a word, in character heights
TOUCHING_GAP = (-0.08, 0.08)  # cramped writing: about half the neighbours touch or overlap
HEIGHT = (45, 90)  # character height on the 1400 x 1900 sheet (px): a few lines of large writing
DENSE_HEIGHT = (22, 40)  # a full sheet of ordinary-sized writing: 1.2-2.1 % of the sheet's height


def compose_page(bank, rng, n_lines=None, size=(1400, 1900), ruled=False, letter_gap=LETTER_GAP, grid=False,
                 vocabulary=WORDS, dense=False, punctuation=False, underline=None, letters=None, sizes=None):
    """(RGB uint8 page image, list of text lines) with dark ink on paper, no surround yet; ruled=True
    draws notebook rules under the text lines, grid=True a squared paper's grid under everything;
    words are drawn from vocabulary; dense=True fills the sheet with many lines of smaller writing;
    punctuation=True writes punctuation marks too (PUNCTUATION); underline, a random Generator of its
    own (the page is otherwise the same), underlines the first line and some others (_underline);
    letters, a list, receives each kept line's letter boxes [(y1, x1, y2, x2), ...] in page pixels;
    sizes, a random Generator of its own, writes the lines in different sizes (_line_scale)."""
    H, W = size
    n_lines = n_lines or int(rng.integers(12, 25) if dense else rng.integers(3, 7))
    lines = _line_texts(rng, n_lines, vocabulary, (3, 8) if dense else (1, 5))
    if punctuation:
        lines = _punctuate(lines, rng)
    height = rng.uniform(*(DENSE_HEIGHT if dense else HEIGHT))
    ink = np.zeros((H, W), np.float32)  # ink coverage
    y = rng.uniform(0.08, 0.15) * H
    slope = 0.0 if ruled else rng.uniform(-0.03, 0.03)
    line_gap = rng.uniform(1.6, 2.3)
    rule_top, rule_gap = y + height + 4, height * line_gap
    kept, base = [], height
    for li, text in enumerate(lines):
        if sizes is not None:
            height = base * _line_scale(sizes, li)
        x = x0 = rng.uniform(0.05, 0.12) * W
        placed, boxes = "", []
        for ch in text:
            if ch == " ":
                x += height * rng.uniform(0.7, 1.1)
                placed += " "
                continue
            if ch in PUNCTUATION:
                g, top = _mark_image(ch, height, rng)
                h, w = g.shape
                yy = int(y + slope * x + top)
            else:
                g = 1.0 - _char_image(bank, ch, rng, height)
                h, w = g.shape
                yy = int(y + slope * x + (height - h) + rng.uniform(-3, 3))
            if x + w >= W * 0.95 or yy + h >= H * 0.95 or yy < 0:
                break
            ink[yy:yy + h, int(x):int(x) + w] = np.maximum(ink[yy:yy + h, int(x):int(x) + w], g)
            placed += ch
            boxes.append((yy, int(x), yy + h, int(x) + w))
            x += w + height * rng.uniform(*letter_gap)
        if placed.strip():
            kept.append(placed.strip())
            if letters is not None:
                letters.append(boxes)
            if underline is not None and (len(kept) == 1 or underline.random() < 0.25):
                _underline(ink, underline, x0, x, y + height, slope, height)
        y += height * (line_gap if ruled else rng.uniform(1.6, 2.3))
        if y + height > H * 0.92:
            break
    if ruled:  # notebook paper: thin rules under every line of text, and a margin
        rule = np.zeros((H, W), np.float32)
        for yy in np.arange(rule_top, H * 0.97, rule_gap):
            rule[int(yy):int(yy) + 2, :] = 0.55
        rule[:, int(W * 0.04):int(W * 0.04) + 2] = 0.55
        ink = np.maximum(ink, rule)
    paper = rng.uniform(165, 245) * (1 + rng.uniform(-0.04, 0.04, 3)).astype(np.float32)  # near-neutral tint
    ink_rgb = np.array([[30, 30, 35], [25, 40, 140], [70, 70, 75]][rng.integers(0, 3)], np.float32)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    light = 1.0 - rng.uniform(0, 0.25) * (xx / W if rng.random() < 0.5 else yy / H)  # shading gradient
    strength = rng.uniform(0.6, 1.0)
    cover = ink[..., None] * strength
    paper = np.broadcast_to(paper, (H, W, 3))
    if grid:
        paper = _grid(paper, rng)
    img = (paper * (1 - cover) + ink_rgb * cover) * light[..., None]
    img += rng.normal(0, 3, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), kept


HEADING_SCALE = (1.5, 2.0)  # --sizes: a heading this many times the page's writing over the first line
HEADING_SHARE = 0.6  # of the pages
LINE_SCALE = (0.7, 1.3)  # and every other line's own size, as writing grows and shrinks down a page


def _line_scale(rng, index):
    """How many times the page's character height line `index` is written (--sizes)."""
    if index == 0 and rng.random() < HEADING_SHARE:
        return rng.uniform(*HEADING_SCALE)
    return rng.uniform(*LINE_SCALE)


def _underline(ink, rng, x1, x2, base, slope, height):
    """Draw a pen line under a line of text written from x1 to x2 whose baseline is y = base + slope x:
    from just below the baseline (touching the letters' feet) to a fifth of a letter under it, tilted
    by up to 1.5 degrees against the text and bowed a little, as a hand draws it."""
    pen = height * rng.uniform(0.09, 0.14)
    x1, x2 = x1 - height * rng.uniform(0.0, 0.4), x2 + height * rng.uniform(-0.2, 0.4)
    offset = height * rng.uniform(0.0, 0.2) + pen / 2
    tilt, bow = np.tan(np.radians(rng.uniform(-1.5, 1.5))), height * rng.uniform(-0.08, 0.08)
    xs = np.linspace(x1, x2, 24)
    t = (xs - x1) / max(x2 - x1, 1.0)
    ys = base + slope * xs + offset + tilt * (xs - x1) + bow * 4 * t * (1 - t)
    s = 4  # drawn at 4x and reduced, like the marks
    top, left = int(ys.min() - 2 * pen), int(x1 - 2 * pen)
    h, w = int(ys.max() + 2 * pen) - top, int(x2 + 2 * pen) - left
    canvas = Image.new("L", (w * s, h * s), 0)
    ImageDraw.Draw(canvas).line([((x - left) * s, (y - top) * s) for x, y in zip(xs, ys)], fill=255,
                                width=max(1, int(pen * s)), joint="curve")
    g = np.asarray(canvas.resize((w, h), Image.LANCZOS), np.float32) / 255.0
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1_ = min(top + h, ink.shape[0]), min(left + w, ink.shape[1])
    if y1 > y0 and x1_ > x0:
        ink[y0:y1, x0:x1_] = np.maximum(ink[y0:y1, x0:x1_], g[y0 - top:y1 - top, x0 - left:x1_ - left])


GRID_COLOURS = np.array([[120, 160, 220], [150, 150, 150], [110, 170, 200]], np.float32)  # blue, grey, teal


def _grid(paper, rng):
    """Squared paper: lines 1-2 px wide every 30-50 px (a 5 mm grid under letters 7-14 mm tall), in a light
    colour at 35-70 % strength; they only darken the paper."""
    H, W = paper.shape[:2]
    step, width = rng.uniform(30, 50), int(rng.integers(1, 3))
    lines = np.zeros((H, W), np.float32)
    off = rng.uniform(0, step, 2)
    for y in np.arange(off[0], H, step):
        lines[int(y):int(y) + width] = 1
    for x in np.arange(off[1], W, step):
        lines[:, int(x):int(x) + width] = 1
    a = (lines * rng.uniform(0.35, 0.7))[..., None]
    colour = GRID_COLOURS[rng.integers(0, len(GRID_COLOURS))]
    return np.minimum(paper, paper * (1 - a) + colour * a)


def photograph(page, rng, angle=None, desk=True, clutter=True, perspective=True):
    """Place a page on a dark desk, rotated and in slight perspective, with a pen and a sheet fragment."""
    im = Image.fromarray(page)
    angle = rng.uniform(-15, 15) if angle is None else angle
    W, H = im.size
    if perspective:
        d = 0.04 * min(W, H)
        coeffs = _perspective_coeffs(W, H, rng.uniform(-d, d, 8))
        im = im.transform((W, H), Image.PERSPECTIVE, coeffs, Image.BILINEAR, fillcolor=(0, 0, 0))
    if not desk:
        return np.asarray(im.rotate(angle, Image.BILINEAR, expand=True, fillcolor=(255, 255, 255)))
    mask = Image.new("L", (W, H), 255)
    if perspective:
        mask = mask.transform((W, H), Image.PERSPECTIVE, coeffs, Image.NEAREST, fillcolor=0)
    im = im.rotate(angle, Image.BILINEAR, expand=True)
    mask = mask.rotate(angle, Image.NEAREST, expand=True)
    pad = int(0.12 * max(W, H))
    cw, ch = im.size[0] + 2 * pad, im.size[1] + 2 * pad
    base = np.array(rng.uniform(25, 90, 3), np.float32)
    desk_img = base + rng.normal(0, 6, (ch, cw, 3)).astype(np.float32)
    desk_img = ndi.gaussian_filter(desk_img, (3, 3, 0))
    canvas = Image.fromarray(np.clip(desk_img, 0, 255).astype(np.uint8))
    if clutter:  # a fragment of another sheet at the edge
        frag = Image.new("RGB", (int(cw * 0.25), int(ch * 0.5)), tuple(int(v) for v in rng.uniform(200, 240, 3)))
        canvas.paste(frag.rotate(rng.uniform(-20, 20), expand=True), (cw - int(cw * 0.12), int(ch * 0.2)))
    canvas.paste(im, (pad, pad), mask)
    if clutter:  # a pen lying across part of the page
        d = ImageDraw.Draw(canvas)
        x0, y0 = rng.uniform(0.3, 0.7) * cw, rng.uniform(0.75, 0.85) * ch
        length, a = rng.uniform(0.2, 0.3) * cw, rng.uniform(-0.4, 0.4)
        d.line([x0, y0, x0 + length * np.cos(a), y0 + length * np.sin(a)],
               fill=tuple(int(v) for v in rng.uniform(10, 60, 3)), width=int(0.012 * cw))
    canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return np.asarray(canvas)


CLOSEUP_MARGIN = 0.15  # the lines shot lie this many letter heights inside the frame at least


def closeup(page, lines, letters, rng, tries=50):
    """A phone held close to one or two lines of a composed page: (RGB photo, those lines). The frame is
    tilted up to 4 degrees and may cut the lines above and below (never showing more than half of a
    letter of theirs) or run off the sheet; the letters come out 50-140 px high; JPEG quality 85-92.
    `letters` is compose_page's per-line letter boxes. None when no such frame is found."""
    for _ in range(tries):
        n = 1 if len(lines) < 2 or rng.random() < 0.5 else 2
        first = int(rng.integers(0, len(lines) - n + 1))
        block = np.array([b for boxes in letters[first:first + n] for b in boxes], float)
        h = float(np.median(block[:, 2] - block[:, 0]))
        a = np.radians(rng.uniform(-4, 4))
        c, s_ = np.cos(a), np.sin(a)
        cy = (block[:, 0].min() + block[:, 2].max()) / 2 + rng.uniform(-0.2, 0.2) * h
        cx = (block[:, 1].min() + block[:, 3].max()) / 2 + rng.uniform(-0.5, 0.5) * h
        half_w = (block[:, 3].max() - block[:, 1].min()) / 2 + rng.uniform(0.8, 2.0) * h
        half_h = (block[:, 2].max() - block[:, 0].min()) / 2 + rng.uniform(0.4, 1.6) * h

        def seen(boxes):  # how much of each letter box the tilted frame shows: across, and up and down
            b = np.asarray(boxes, float).reshape(-1, 4)
            corners = [(b[:, 0], b[:, 1]), (b[:, 0], b[:, 3]), (b[:, 2], b[:, 1]), (b[:, 2], b[:, 3])]
            u = np.stack([(x - cx) * c + (y - cy) * s_ for y, x in corners])
            v = np.stack([-(x - cx) * s_ + (y - cy) * c for y, x in corners])
            return [(np.minimum(t.max(0), lim) - np.maximum(t.min(0), -lim)) / np.maximum(np.ptp(t, 0), 1e-9)
                    for t, lim in ((u, half_w), (v, half_h))]
        across, updown = seen(block + np.array([-1, -1, 1, 1]) * CLOSEUP_MARGIN * h)  # not touching the edge
        others = [b for k, boxes in enumerate(letters) if not first <= k < first + n for b in boxes]
        o_across, o_updown = seen(others)
        # the lines shot whole; of any other, no letter more than half shown (a reader would not read it)
        if (across >= 1).all() and (updown >= 1).all() and not ((o_across > 0) & (o_updown > 0.5)).any():
            break
    else:
        return None
    size = (int(2 * half_w), int(2 * half_h))
    affine = (c, -s_, cx - half_w * c + half_h * s_, s_, c, cy - half_w * s_ - half_h * c)
    desk = tuple(int(v) for v in rng.uniform(25, 90, 3))
    im = Image.fromarray(page).transform(size, Image.AFFINE, affine, Image.BILINEAR, fillcolor=desk)
    scale = rng.uniform(50, 140) / h
    im = im.resize((max(1, int(size[0] * scale)), max(1, int(size[1] * scale))), Image.BICUBIC)
    im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    return _jpeg(np.asarray(im), rng.integers(85, 93)), lines[first:first + n]


def _perspective_coeffs(W, H, jitter):
    src = np.array([[0, 0], [W, 0], [W, H], [0, H]], float)
    dst = src + jitter.reshape(4, 2)
    A, b = [], []
    for (x, y), (u, v) in zip(src, dst):
        A.append([u, v, 1, 0, 0, 0, -x * u, -x * v])
        A.append([0, 0, 0, u, v, 1, -y * u, -y * v])
        b += [x, y]
    return np.linalg.solve(np.array(A), np.array(b))


def _jpeg(img, quality):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(buf).convert("RGB"))


def low_resolution(img, rng):
    """The photo as a messenger app passes it on: 40-55 % of its size, JPEG quality 55-80."""
    f = rng.uniform(0.4, 0.55)
    small = Image.fromarray(img).resize((int(img.shape[1] * f), int(img.shape[0] * f)), Image.BILINEAR)
    return _jpeg(np.asarray(small), rng.integers(55, 81))


def shadow(img, rng):
    """A soft shadow (the phone's, a hand's) across the photo: 35-55 % darker beyond a straight edge at any
    angle, through a point 30-70 % across, with a penumbra 1-5 % of the frame wide; JPEG quality 85."""
    H, W = img.shape[:2]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    a, c = rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 0.7)
    d = (xx / W - c) * np.cos(a) + (yy / H - c) * np.sin(a)
    dark = rng.uniform(0.35, 0.55) / (1 + np.exp(-d / rng.uniform(0.01, 0.05)))
    return _jpeg(np.clip(img * (1 - dark)[..., None], 0, 255).astype(np.uint8), 85)


def blur(img, rng):
    """A photo slightly out of focus or shaken: Gaussian blur of sigma 1.2-2.5 px, JPEG quality 85."""
    s = rng.uniform(1.2, 2.5)
    return _jpeg(np.clip(ndi.gaussian_filter(img.astype(np.float32), (s, s, 0)), 0, 255).astype(np.uint8), 85)


def dim(img, rng):
    """A photo taken in dim light: 35-55 % darker, grainy (colour noise of sigma 8-14 and luminance grain
    of sigma 6, on 0-255), JPEG quality 50-70."""
    a = img * rng.uniform(0.45, 0.65) + rng.normal(0, rng.uniform(8, 14), img.shape)
    a += rng.normal(0, 6, img.shape[:2] + (1,))
    return _jpeg(np.clip(a, 0, 255).astype(np.uint8), rng.integers(50, 71))


def crease(img, rng):
    """A sheet folded in three and opened again: two creases across the photo near a third and two thirds
    of its height, within 2 degrees of level, each a thin line 15-35 % darker with the paper on one side
    5-15 % darker (turned from the light); JPEG quality 90."""
    H, W = img.shape[:2]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    shade = np.ones((H, W), np.float32)
    for third in (1 / 3, 2 / 3):
        a = np.radians(rng.uniform(-2, 2))
        d = (yy - rng.uniform(third - 0.05, third + 0.05) * H) * np.cos(a) - (xx - W / 2) * np.sin(a)
        shade *= np.where(d > 0, 1.0, rng.uniform(0.85, 0.95)) * (1 - rng.uniform(0.15, 0.35) * np.exp(-d * d / 2.9))
    return _jpeg(np.clip(img * shade[..., None], 0, 255).astype(np.uint8), 90)


def glare(img, rng):
    """A flash's or a lamp's glare: a soft round spot (radius 12-22 % of the longer side, its centre in the
    middle 40 % of the frame) that lifts paper and ink alike 50-75 % of the way to white at its centre;
    JPEG quality 90."""
    H, W = img.shape[:2]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    cy, cx = rng.uniform(0.3, 0.7) * H, rng.uniform(0.3, 0.7) * W
    r = rng.uniform(0.12, 0.22) * max(H, W)
    g = rng.uniform(0.5, 0.75) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
    return _jpeg(np.clip(img * (1 - g) + 255 * g, 0, 255).astype(np.uint8), 90)


def turned(img, rng):
    """The photo a quarter, half or three quarters turn round with no EXIF tag to set it upright (a scan,
    a screenshot, a messenger that dropped the tag): each turn equally likely."""
    return np.ascontiguousarray(np.rot90(img, int(rng.integers(1, 4))))


DEGRADATIONS = {"low-res": low_resolution, "shadow": shadow, "blur": blur, "dim": dim, "crease": crease,
                "glare": glare, "turned": turned}


def make_pages(root, n, seed=0, rephotograph_from=None, touching=False, degrade=None, grid=False, vocabulary=WORDS,
               dense=False, punctuation=False, underline=False, closeups=False, fonts=None, sizes=False):
    """[(name, RGB array, ground-truth lines)]: n synthetic photos, plus re-photographed sample pages;
    touching=True writes cramped words whose letters often touch; degrade: a DEGRADATIONS name applied
    to every photo; grid=True writes every page on squared paper; vocabulary: the words to write;
    dense=True fills each sheet with 12-24 lines of ordinary-sized writing; punctuation=True adds
    punctuation marks to the text (left out of the ground truth's stripped lines); underline=True
    underlines each page's first line and some others; closeups=True photographs one or two of each
    page's lines close up (closeup) instead of the whole page; fonts, a list of font files, writes each
    page in one of them in turn (font_bank: the same pages in hands the classifier never saw), its
    name ending in the font's; sizes=True writes each page's lines in sizes of their own (a heading 1.5-2
    times the page's writing on 6 pages in 10, the other lines 0.7-1.3 times each)."""
    if degrade is not None and degrade not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {degrade!r}; choose from {', '.join(DEGRADATIONS)}")
    rng = np.random.default_rng(seed)
    urng = np.random.default_rng([seed, 2]) if underline else None  # the same pages, underlined
    srng = np.random.default_rng([seed, 4]) if sizes else None  # the same pages, lines resized
    if fonts:  # generators of their own: the same seed gives the same pages as without
        banks = [font_bank(f, np.random.default_rng([seed, 3, k])) for k, f in enumerate(fonts)]
        hands = [os.path.splitext(os.path.basename(f))[0] for f in fonts]
    else:
        banks, hands = [_glyph_bank(root)], [None]
    out = []
    for i in range(n):
        kind = ["desk", "desk", "flat", "flat-rotated", "ruled-desk"][i % 5]
        bank, hand = banks[i % len(banks)], hands[i % len(hands)]
        letters = []
        page, lines = compose_page(bank, rng, ruled=kind == "ruled-desk",
                                   letter_gap=TOUCHING_GAP if touching else LETTER_GAP, grid=grid,
                                   vocabulary=vocabulary, dense=dense, punctuation=punctuation,
                                   underline=urng, letters=letters, sizes=srng)
        shot = closeup(page, lines, letters, rng) if closeups else None
        if shot is not None:
            img, lines = shot
            kind = "closeup"
        elif kind in ("desk", "ruled-desk"):
            img = photograph(page, rng)
        elif kind == "flat-rotated":
            img = photograph(page, rng, angle=rng.uniform(-12, 12), desk=False, clutter=False)
        else:
            img = page
        out.append((f"synth_{i:03d}_{kind}{'_' + hand if hand else ''}.png", img, lines))
    for path, truth in rephotograph_from or []:
        page = np.asarray(Image.open(path).convert("RGB"))
        scale = 1600 / max(page.shape[:2])
        if scale < 1:
            page = np.asarray(Image.fromarray(page).resize((int(page.shape[1] * scale), int(page.shape[0] * scale))))
        img = photograph(page, rng, clutter=False)
        stem = os.path.splitext(os.path.basename(path))[0]
        out.append((f"rephoto_{stem}.png", img, truth["lines"]))
    if degrade is not None:  # a generator of its own: the same seed gives the same pages as without
        drng = np.random.default_rng([seed, 1])
        out = [(name, DEGRADATIONS[degrade](img, drng), lines) for name, img, lines in out]
    return out


def write_pages(pages, out):
    """Write images and a ground_truth.json in the sample pages' schema."""
    os.makedirs(out, exist_ok=True)
    truth = {"_note": "synthetic pages made by `fastnn data make-pages` from held-out characters or fonts"}
    for name, img, lines in pages:
        Image.fromarray(img).save(os.path.join(out, name))
        truth[name] = {"lines": lines, "stripped": ["".join(c for c in ln if c.isalnum()) for ln in lines]}
    with open(os.path.join(out, "ground_truth.json"), "w") as fh:
        json.dump(truth, fh, indent=1)
    return out


def make_pages_command(root, out, n, seed, rephotograph, touching=False, degrade=None, grid=False, words=None,
                       dense=False, punctuation=False, underline=False, closeups=False, fonts=None, sizes=False):
    from fastnn.data.formats import load_pages
    vocabulary = read_words(words) if words else WORDS
    samples = load_pages(root) if rephotograph else []
    pages = make_pages(root, n, seed, [(p, t) for p, t in samples if t], touching, degrade, grid, vocabulary,
                       dense, punctuation, underline, closeups, fonts, sizes)
    write_pages(pages, out)
    print(f"wrote {len(pages)} pages with ground_truth.json to {out}")
