"""Underlines: a line drawn under a heading or a word, touching some of its letters, joins them into one
wide component that the size filters would drop as a long object (a pen, a rule), letters and all. So does
a straight line across the writing at any height: a fold's crease, a rule the ruling step missed."""
import numpy as np
from scipy import ndimage as ndi
from skimage import measure
from skimage.transform import hough_line, hough_line_peaks

UNDERLINE_MIN_SPAN = 2.5  # character heights: an underline spans a word of two or more letters
UNDERLINE_SHORT = 4.0  # a line shorter than this (character heights) must show bare over UNDERLINE_SHORT_BARE
UNDERLINE_SHORT_BARE = 0.2  # of its length (between or beyond the letters): a cramped word fused along
# flat bottoms (D G E) has letter ink over nearly every column
UNDERLINE_COVER = 0.85  # of the component's columns, the share whose lowest ink lies on the line
UNDERLINE_THIN = 0.9  # and the share where that ink is one stroke thin (letters touch the line here and there;
# the feet of touching letters, E L L, make a flat bottom too, but their uprights rise from it all along)
UNDERLINE_LONG = 6.0  # character heights: a line this long may touch every letter (a line drawn through
UNDERLINE_LONG_THIN = 0.75  # their feet) and be this thin only; no fused word has so long a flat bottom
FOOT_MAX = 0.6  # character heights: a letter's foot cut off below a line drawn through it is no taller
THROUGH_MIN_SPAN = 6.0  # character heights: a straight line across the writing (a crease) at least this long,
THROUGH_TILT = 20.0  # degrees from the text lines at most,
THROUGH_COVER = 0.85  # inked along this much of its span (a crease can fade here and there),
THROUGH_BARE = 0.3  # and alone within a character height of it along this much (between words, beyond the
# text): the flat tops or bottoms of a cramped word fused into one piece have letter ink by every column
THROUGH_PEAKS = 6  # straight lines tried per component (a thick dark edge gives two on each side)
DEBRIS = 0.35  # character heights: smaller pieces left beside such a line are its ragged edge (a sheet's
# edge, a crease's fibres), not letters; left, they would pass for specks and drag the character height down


def _bottom_runs(img):
    """Per column: the row of the lowest ink pixel (-1 where none) and the length of the ink run
    reaching up from it."""
    h = img.shape[0]
    flipped = img[::-1]
    has = flipped.any(0)
    first = np.argmax(flipped, axis=0)
    gaps = ~flipped & (np.arange(h)[:, None] >= first)  # paper above each column's lowest ink
    end = np.where(gaps.any(0), np.argmax(gaps, axis=0), h)
    return np.where(has, h - 1 - first, -1), np.where(has, end - first, 0)


def underline_band(img, h_med, stroke):
    """Pixels of an underline along the bottom of a component's image (bool), or None when it holds
    none. An underline: the component's lowest ink follows one straight line (a hand-drawn line is
    straight; the bottoms of touching letters are not, they rise between letters) over UNDERLINE_COVER
    of its columns, at least UNDERLINE_MIN_SPAN character heights, and is one stroke thin over
    UNDERLINE_THIN of them (UNDERLINE_LONG_THIN for a long line); one shorter than UNDERLINE_SHORT lies
    bare over UNDERLINE_SHORT_BARE of its length. Where a letter's stroke crosses the line into its foot,
    the band leaves it (_keep_crossings). stroke: the page's stroke width (px)."""
    h, w = img.shape
    if w < UNDERLINE_MIN_SPAN * h_med:
        return None
    bottom, run = _bottom_runs(img)
    cols = np.flatnonzero(bottom >= 0)
    thin = run[cols] <= 2.0 * stroke

    def thin_enough(span):
        return thin.mean() >= (UNDERLINE_LONG_THIN if span >= UNDERLINE_LONG * h_med else UNDERLINE_THIN)
    if not thin_enough(w):
        return None
    fit_cols = cols[thin]
    for _ in range(2):  # fit to the thin columns, then again to those on the line
        if len(fit_cols) < 2:
            return None
        slope, icpt = np.polyfit(fit_cols, bottom[fit_cols], 1)
        on = np.abs(bottom[cols] - (slope * cols + icpt)) <= max(stroke, 2.0)
        fit_cols = cols[on & thin]
    span = np.ptp(cols[on])
    if on.mean() < UNDERLINE_COVER or span < UNDERLINE_MIN_SPAN * h_med or not thin_enough(span) or abs(slope) > 0.2:
        return None
    thick = float(np.median(run[fit_cols])) + 1.0
    line = slope * np.arange(w) + icpt
    rows = np.arange(h)[:, None]
    top, bottom = line - thick, line + max(stroke, 2.0)
    band = (rows >= top) & (rows <= bottom)
    lo, hi = cols[on].min(), cols[on].max() + 1
    band[:, :lo] = False
    band[:, hi:] = False
    band &= img
    rest = img & ~band
    if span < UNDERLINE_SHORT * h_med and (~rest.any(0))[lo:hi].mean() < UNDERLINE_SHORT_BARE:
        return None
    pieces = measure.regionprops(measure.label(rest, connectivity=2))
    if not _written_on(pieces, h_med, stroke):
        return img  # a line with no letters on it (a rule, a sheet's edge, a grid's remnant): all of it goes
    return _keep_crossings(rest, pieces, band, top, bottom, h_med, stroke)


def _keep_crossings(rest, pieces, band, top, bottom, h_med, stroke):
    """The band less the columns where a letter's stroke crosses the line: ink just above the band meets
    a foot just below it (a piece under the band no taller than FOOT_MAX character heights; anything
    taller is the next line's writing). A line drawn through the letters' feet then leaves them whole.
    rest: the component's ink less the band, pieces: its regionprops; top, bottom: the band's edges per column."""
    rows = np.arange(rest.shape[0])[:, None]
    below = rows > bottom
    feet = np.zeros_like(rest)
    for p in pieces:
        y1, x1, y2, x2 = p.bbox
        cx = int(round(p.centroid[1]))
        if p.centroid[0] > bottom[cx] and y2 - bottom[cx] <= FOOT_MAX * h_med:
            feet[y1:y2, x1:x2] |= p.image
    reach = _reach(stroke)
    above_ink = (rest & (rows < top) & (rows >= top - reach)).any(0)
    foot_ink = (feet & below & (rows <= bottom + reach)).any(0)
    crossing = _crossing(above_ink, foot_ink, reach)
    if not crossing.any():
        return band
    band = band.copy()
    band[:, crossing] = False
    return band


def _reach(stroke):
    return max(2, int(round(stroke)))  # a slanted stroke meets the band a stroke or two apart


def _crossing(above, below, reach):
    """Columns where ink just above a line's band and ink just below it (per column, bool) meet within
    `reach` columns: a letter's stroke crossing the line."""
    spread = np.ones(2 * reach + 1, bool)
    return (above & ndi.binary_dilation(below, spread)) | (below & ndi.binary_dilation(above, spread))


def _written_on(pieces, h_med, stroke):
    """Whether what is left above a line (its regionprops) holds letters: a piece at least 0.4 character
    heights tall, and most pieces of more than specks wider than a single stroke (a grid's remnant leaves
    a row of ticks, a rule's edge slivers)."""
    pieces = [p for p in pieces if p.bbox[2] - p.bbox[0] >= 0.15 * h_med]
    wide = sum(p.bbox[3] - p.bbox[1] > 2.5 * stroke for p in pieces)
    tall = any(p.bbox[2] - p.bbox[0] >= 0.4 * h_med for p in pieces)
    return tall and 2 * wide >= len(pieces)


def through_band(img, h_med, stroke):
    """Pixels of the straight lines drawn across the writing at any height (a fold's creases, tilted by
    up to THROUGH_TILT degrees), or None: of the component's THROUGH_PEAKS strongest straight lines (Hough;
    one may be a sheet's dark edge a crease runs into), each inked over THROUGH_COVER of its span of at
    least THROUGH_MIN_SPAN character heights, one stroke thin there (UNDERLINE_LONG_THIN) and alone within
    a character height of it over THROUGH_BARE of its columns.
    Where a letter's stroke crosses it (ink just above and just below), the band leaves the letter whole."""
    if img.shape[1] < THROUGH_MIN_SPAN * h_med:
        return None
    acc, angles, dists = hough_line(img, np.radians(np.arange(90 - THROUGH_TILT, 90 + THROUGH_TILT + 0.01, 0.25)))
    found = np.zeros_like(img)
    for _, angle, rho in zip(*hough_line_peaks(acc, angles, dists, num_peaks=THROUGH_PEAKS)):
        line = (rho - np.arange(img.shape[1]) * np.cos(angle)) / np.sin(angle)
        band = _through_line(img & ~found, line, h_med, stroke)  # a sheet folded twice: two creases
        if band is not None:
            found |= band
    return found if found.any() else None


def _through_line(img, line, h_med, stroke):
    """through_band for one straight line, its row at every column (x cos t + y sin t = rho)."""
    rows = np.arange(img.shape[0])[:, None]
    dist = np.abs(rows - line)  # of every pixel from the line
    covered = (img & (dist <= max(stroke, 2.0))).any(0)
    on = np.flatnonzero(covered)
    if len(on) == 0:
        return None
    lo, hi = on.min(), on.max() + 1
    if hi - lo < THROUGH_MIN_SPAN * h_med or covered[lo:hi].mean() < THROUGH_COVER:
        return None
    across = (img & (dist <= 2.0 * stroke + 1)).sum(0)  # ink across the line, per column
    thin = covered & (across <= 2.0 * stroke)
    if thin[lo:hi].sum() < UNDERLINE_LONG_THIN * covered[lo:hi].sum():
        return None
    half = float(np.median(across[thin])) / 2 + 1.0
    band = (dist <= half) & img
    band[:, :lo] = False
    band[:, hi:] = False
    rest = img & ~band
    if (~(rest & (dist <= h_med)).any(0))[lo:hi].mean() < THROUGH_BARE:
        return None
    reach = _reach(stroke)
    above = (rest & (rows < line - half) & (rows >= line - half - reach)).any(0)
    below = (rest & (rows > line + half) & (rows <= line + half + reach)).any(0)
    band[:, _crossing(above, below, reach)] = False
    pieces = []
    for q in measure.regionprops(measure.label(img & ~band, connectivity=2)):
        if max(q.bbox[2] - q.bbox[0], q.bbox[3] - q.bbox[1]) < DEBRIS * h_med:
            band[q.coords[:, 0], q.coords[:, 1]] = True  # the line's ragged edge goes with it
        else:
            pieces.append(q)
    return band if _written_on(pieces, h_med, stroke) else img  # no letters on it: all of it goes


def lift_underlines(mask, props, h_med, stroke):
    """mask without the underlines of its wide components (underline_band) and the straight lines drawn
    across them (through_band); the letters that touched one lose a band a stroke high where they met
    it. Returns (mask, number of lines lifted)."""
    lifted = 0
    for p in props:
        y1, x1, y2, x2 = p.bbox
        if x2 - x1 < UNDERLINE_MIN_SPAN * h_med:
            continue
        band = underline_band(p.image, h_med, stroke) if y2 - y1 <= 3.5 * h_med else None
        if band is None:
            band = through_band(p.image, h_med, stroke)
        if band is not None:
            if not lifted:
                mask = mask.copy()
            mask[y1:y2, x1:x2] &= ~band
            lifted += 1
    return mask, lifted
