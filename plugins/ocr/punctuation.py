"""Punctuation in a line of writing: marks outside the 36 characters that must not be read as them.

They are told by where they sit in the line's band (the local top and baseline of its characters) and by
their pieces, not by their look: an apostrophe or a quote hangs from the top, a comma or a period sits
low, a dash lies flat at mid-height, ! and ? end above the baseline over a dot, : and ; are dots. No
capital or digit does any of these: each spans its line's band.
"""
import numpy as np

NEIGHBOURS = 4  # the band at a mark: its line's nearest characters (slope and perspective bend lines)
CHAR = 0.7  # characters are at least this fraction of their line's median height
SHORT = 0.6  # a mark hanging from the top or sitting low is under this fraction of the band
HIGH = 0.55  # hanging from the top: its bottom is above this fraction of the band (from the top)
LOW = 0.55  # sitting low: its top is below it
FLAT = 0.3  # a dash is under this fraction of the band high and 1.5 times as wide as high
DOT = 0.3  # a dot's longer side is under this fraction of the band
ABOVE_DOT = 0.12  # the stroke of ! or ? ends this fraction of the band above the baseline, or more


def line_bands(boxes, lines, h_med):
    """(top, bottom) per box: medians over its line's NEIGHBOURS nearest characters (itself excluded),
    NaN where its line has fewer than two characters."""
    bands = np.full((len(boxes), 2), np.nan)
    for line in lines:
        line = np.asarray(line)
        hs = boxes[line, 2] - boxes[line, 0]
        tall = hs[hs >= 0.5 * h_med]
        chars = line[hs >= CHAR * (np.median(tall) if len(tall) else h_med)]
        if len(chars) < 2:
            continue
        cx = (boxes[chars, 1] + boxes[chars, 3]) / 2
        for i in line:
            others = chars[chars != i]
            near = others[np.argsort(np.abs((cx[chars != i]) - (boxes[i, 1] + boxes[i, 3]) / 2))[:NEIGHBOURS]]
            bands[i] = np.median(boxes[near, 0]), np.median(boxes[near, 2])
    return bands


def _kind(box, pieces, top, bottom, dots):
    """What punctuation the box is (a one-character name), or None for a character."""
    y1, x1, y2, x2 = box
    hb = bottom - top
    h, w = y2 - y1, x2 - x1
    upright = w < 1.5 * h  # a flat mark up high or low is a letter's bar left apart (T, 7, Z, L), not punctuation
    if upright and h < SHORT * hb and y2 <= top + HIGH * hb:
        return "'"
    if upright and h < SHORT * hb and y1 >= top + LOW * hb:
        return ","
    if h < FLAT * hb and w >= 1.5 * h and top + 0.25 * hb <= (y1 + y2) / 2 <= top + 0.8 * hb:
        return "-"
    sides = [max(p[2] - p[0], p[3] - p[1]) for p in pieces]
    if len(pieces) >= 2 and max(sides) < DOT * hb and h < 0.75 * hb:
        return ":"
    if len(pieces) >= 2:  # a dot at the bottom, below everything else, which ends above the baseline
        low = int(np.argmax([p[0] for p in pieces]))
        rest = [p for k, p in enumerate(pieces) if k != low]
        if sides[low] < DOT * hb and pieces[low][0] > top + 0.6 * hb and \
                max(p[2] for p in rest) < min(pieces[low][0], bottom - ABOVE_DOT * hb):
            return "!"
    if y2 < bottom - ABOVE_DOT * hb and y1 < top + 0.25 * hb:  # the same with the dot left apart
        for d in dots:
            if x1 - 0.1 * hb <= (d[1] + d[3]) / 2 <= x2 + 0.1 * hb and d[0] >= y2 and d[2] <= bottom + 0.2 * hb:
                return "!"
    return None


def find_punctuation(boxes, groups, lines, piece_boxes, dots, h_med):
    """{box index: kind} of the boxes that are punctuation (kind: ' , - : ! for the mark's family).
    groups: each box's component labels; piece_boxes: label -> that component's [y1, x1, y2, x2]; dots:
    boxes of the marks dropped as too small to be a character (the dot of a ! or ? may be one)."""
    bands = line_bands(boxes, lines, h_med)
    dots = np.asarray(dots).reshape(-1, 4)
    found = {}
    for i, (top, bottom) in enumerate(bands):
        if np.isnan(top) or bottom <= top:
            continue
        kind = _kind(boxes[i], [piece_boxes[c] for c in groups[i]], top, bottom, dots)
        if kind is not None:
            found[i] = kind
    return found


def drop_marks(lines, spaces, marks):
    """lines and spaces (find_all_spaces) without the boxes in marks ({index: kind}). The gap a mark
    leaves is a space when either side of it was (WORLD, PAGE), or when the mark is a dash (X-RAY:
    hyphenated words are read as words); an apostrophe between close letters leaves none (DON'T)."""
    new_lines, new_spaces = [], []
    for line, gaps in zip(lines, spaces):
        kept, kept_gaps, carry = [], [], 0.0
        for k, gap in zip(line, gaps):
            gap = max(gap, carry)
            if k in marks:
                carry = max(gap, 1.0) if marks[k] == "-" else gap
                continue
            kept.append(k)
            kept_gaps.append(gap if kept_gaps else 0.0)
            carry = 0.0
        if kept:
            new_lines.append(kept)
            new_spaces.append(kept_gaps)
    return new_lines, new_spaces


def list_labels(boxes, lines, spaces, dots, h_med):
    """Per line, whether it opens with a list label: a token of one or two boxes followed by a period
    (1. MAKE A LIST), evidence that the token is a number. lines and spaces as after drop_marks (box
    indices into boxes); dots: boxes of periods and other small marks left out of the lines."""
    bands = line_bands(boxes, lines, h_med)
    dots = np.asarray(dots).reshape(-1, 4)
    out = []
    for line, gaps in zip(lines, spaces):
        n = next((j for j in range(1, len(line)) if gaps[j]), len(line))
        last = line[n - 1]
        top, bottom = bands[last]
        if n > 2 or np.isnan(top):
            out.append(False)
            continue
        hb = bottom - top
        right = boxes[line[n], 1] if n < len(line) else boxes[last, 3] + hb
        cx = (dots[:, 1] + dots[:, 3]) / 2
        out.append(bool(((cx > boxes[last, 3] - 0.1 * hb) & (cx < right) & (dots[:, 0] >= top + LOW * hb)
                         & (dots[:, 2] <= bottom + 0.25 * hb)).any()))
    return out
