"""findLetters: page photo -> paper, deskewed ink image, character boxes grouped into lines.

Every threshold is relative to something measured on the page itself (paper noise, Otsu level of the
ink, median character height), never a pixel count tuned to particular pages.
"""
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from skimage import measure, morphology
from skimage.filters import threshold_otsu

from . import fast_stats, imagefile
from .imagefile import PageError
from .punctuation import drop_marks, find_punctuation, list_labels
from .underline import lift_underlines

WORK_SIDE = 2000  # longer side of the working image (px)
MAX_UPSCALE = 2.0  # a smaller photo is enlarged up to this much: its thin strokes then binarise smoothly
SPECK_AREA = 10  # px at the working size: smaller marks carry no character height (grain) where they abound
MIN_CHAR_PX = 10  # at WORK_SIDE: smaller "characters" are texture, and could not be read anyway
SMALL_WRITING = 30  # px at WORK_SIDE: characters smaller than this (a full sheet of ordinary writing) lose
SMALL_WRITING_TARGET = 36  # their details; the page is read again from a larger working image, where they
MAX_WORK_SIDE = 4000  # are this high, up to this long side (and MAX_UPSCALE of the photo's own size)
CHOPPED_MIN_PIECES = 4  # a straight line through the writing, cut by the rules: at least this many pieces,
CHOPPED_MAX_TILT = 0.15  # leaning at most this much (8.5 degrees) from the vertical,
CHOPPED_COVER = 0.6  # covering this much of its span (a column of I's, one per line of text, covers less)


@dataclass
class Page:
    grey: np.ndarray  # working-resolution deskewed grey image, float32 [0, 1]
    bw: np.ndarray  # float [0, 1], black (0) ink on white (1)
    boxes: np.ndarray  # (n, 4) [y1, x1, y2, x2] in the working frame
    labels: np.ndarray  # label image of the ink components (working frame)
    comp_ids: list  # per box: the component labels it is made of
    lines: list  # list of lists of box indices, top to bottom, each left to right
    spaces: list  # per line, per box k: 0.0, or the gap before it in units of the line's space
    # threshold (> 1) where a word space precedes it; truthy exactly where there is a space
    info: dict = field(default_factory=dict)
    numbered: list = field(default_factory=list)  # per line: opens with a list label ("1." -> a number)


def load_image(path, max_side=WORK_SIDE, page=None):
    """imagefile.load_image at the working size by default."""
    return imagefile.load_image(path, max_side, page)


def to_grey(image):
    image = np.asarray(image, np.float32)
    if image.max() > 1.5:
        image = image / 255.0
    if image.ndim == 3:
        if image.shape[2] == 4:
            image = image[..., :3] * image[..., 3:] + (1 - image[..., 3:])
        image = image[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    if image.ndim != 2:
        raise PageError(f"expected an RGB, RGBA or grey image, got shape {image.shape}")
    return image.astype(np.float32)


def _resize(a, shape):
    return np.array(Image.fromarray(a.astype(np.float32)).resize((shape[1], shape[0]), Image.BILINEAR))


def _rotate(a, angle, fill):
    """Rotate a float image counter-clockwise by `angle` degrees, growing the frame (PIL: fast C)."""
    im = Image.fromarray(a.astype(np.float32), mode="F")
    return np.array(im.rotate(angle, resample=Image.BILINEAR, expand=True, fillcolor=fill), np.float32)


def _rotate_mask(m, angle):
    """A boolean mask turned as _rotate turns an image, by the nearest pixel: 'L' mode, 4x faster than 'F'."""
    im = Image.fromarray(m.astype(np.uint8))
    return np.array(im.rotate(angle, resample=Image.NEAREST, expand=True, fillcolor=0)) > 0


def _photo_rows(turned, margin=2):
    """The photo's own frame (the mask `turned` within the frame _rotate grew to turn it), less a margin:
    per row, the first and last column, as ndi.binary_erosion(turned, iterations=margin) leaves them.
    Turned, the frame is one run of pixels in each row, so the erosion needs only the runs' ends."""
    H, W = turned.shape
    filled = turned.any(1)
    lo = np.where(filled, turned.argmax(1), W)
    hi = np.where(filled, W - 1 - turned[:, ::-1].argmax(1), -1)
    first, last = np.full(H, -1), np.full(H, W)
    for dy in range(-margin, margin + 1):  # the cross applied margin times: a diamond of that radius
        r = margin - abs(dy)
        lo_d, hi_d = np.full(H, W), np.full(H, -1)  # rows beyond the frame hold nothing
        src, dst = slice(max(dy, 0), H + min(dy, 0)), slice(max(-dy, 0), H + min(-dy, 0))
        lo_d[dst], hi_d[dst] = lo[src] + r, hi[src] - r
        first, last = np.maximum(first, lo_d), np.minimum(last, hi_d)
    return first, last


def _within_rows(coords, first, last):
    ys, xs = coords[:, 0], coords[:, 1]
    return bool(((xs >= first[ys]) & (xs <= last[ys])).all())


def _block_mean(a, f):
    """Mean over each whole f x f block of a (a partial last row or column of blocks is left out)."""
    h, w = a.shape[0] // f * f, a.shape[1] // f * f
    return a[:h, :w].reshape(h // f, f, w // f, f).mean((1, 3))


MIN_SHEET = 0.05  # of the frame: a bright region smaller than this is no sheet


def find_paper(grey):
    """Mask of the sheet: the largest bright region, if the frame also holds a clearly darker surround.

    Returns (mask, found) where found says whether a surround (desk) was detected at all.
    """
    f = max(1, max(grey.shape) // 256)
    small = _block_mean(grey, f)
    t = threshold_otsu(small)
    bright = small > t
    if not bright.any() or bright.all():  # a flat image (blank page): no sheet edge to find
        return np.ones_like(grey, bool), False
    dark_mean, bright_mean = small[~bright].mean(), small[bright].mean()
    # Ink and shading are small or mild; a desk is a large region much darker than the paper.
    if (~bright).mean() < 0.04 or dark_mean > 0.6 * bright_mean:
        return np.ones_like(grey, bool), False
    bright = ndi.binary_opening(bright, structure=morphology.disk(2))
    lab = measure.label(bright)
    if lab.max() == 0:
        return np.ones_like(grey, bool), False
    biggest = np.argmax(np.bincount(lab.ravel())[1:]) + 1
    sheet = ndi.binary_fill_holes(ndi.binary_closing(lab == biggest, structure=morphology.disk(3)))
    # no convex hull: a sheet touching another sheet must not take in the desk between them
    # shrink a little so the sheet's own edge and shadow are not read as ink
    sheet = ndi.binary_erosion(sheet, structure=morphology.disk(2))
    if sheet.mean() < MIN_SHEET:  # a bright corner of a close-up, not the sheet being read
        return np.ones_like(grey, bool), False
    return _resize(sheet.astype(np.float32), grey.shape) > 0.5, True


DESK_LEVEL = 0.35  # paper in shadow keeps more of the lit sheet's brightness than this; a dark desk less


def not_desk(grey, paper):
    """The sheet plus whatever is at least DESK_LEVEL as bright as it (its background, ink closed away):
    a shadowed part of the sheet, a light table; not a dark desk, whose texture, divided by its own dark
    background, looks like ink."""
    f = max(1, max(grey.shape) // 250)
    bg = ndi.grey_closing(_block_mean(grey, f), size=(9, 9))
    ref = np.median(bg[fast_stats.mostly(paper, f)]) if paper.any() else bg.max()
    lit = _resize((bg >= DESK_LEVEL * ref).astype(np.float32), grey.shape) > 0.5
    return lit | paper


def flatten(grey, paper, outside=1.0):
    """Divide by a background estimate (closing removes ink): paper -> ~1 under any shading, and the ink's
    contrast restored under a glare (restore_glare). Beyond the sheet: `outside`, or with None the frame
    divided by the sheet's background too."""
    f = max(1, max(grey.shape) // 250)
    small = _block_mean(np.where(paper, grey, np.nan), f)
    fill = np.nanmedian(small) if np.isfinite(small).any() else 1.0
    small = np.where(np.isfinite(small), small, fill)
    bg_small = ndi.gaussian_filter(ndi.grey_closing(small, size=(9, 9)), 2)
    bg = _resize(bg_small, grey.shape)
    norm = np.clip(grey / np.maximum(bg, 1e-3), 0, 1).astype(np.float32)
    norm = restore_glare(norm, paper, bg_small, f)
    return norm if outside is None else np.where(paper, norm, np.float32(outside))


GLARE_MAX_GAIN = 4.0  # ink contrast is given back at most this much: past it a glare leaves no ink to read
GLARE_MIN_GAIN = 1.25  # nor where all ink keeps 80 % of it: the ink threshold copes, and a page stays as it was
GLARE_REACH = 1 / 16  # of the frame's longer side: the ink a block's contrast is judged by lies this near
GLARE_STEP = 0.03  # paper brightness off its smooth trend by this much: an edge, no glare
GLARE_STROKE = 1 / 130  # of the frame's longer side: only marks thinner than this are strokes to restore


def restore_glare(norm, paper, bg_small, f):
    """A glare (a flash, a lamp's reflection) adds light: it moves paper and ink alike toward white, so the
    ink's darkness relative to the brightened paper falls, by (bg - g) / bg where g = (bg - p) / (1 - p)
    is the glare's share, bg the local paper brightness and p the sheet's median. The strokes' darkness
    is multiplied back by that, only where the paper is brighter than p, smoothly (not another surface
    beside the sheet), AND the nearby ink fainter than the page's ink: brighter light alone (a shading
    gradient) keeps the ink's contrast and is left as it is, and so are faint marks on evenly lit paper
    (print showing through)."""
    on_paper = fast_stats.mostly(paper, f)
    bg_small = bg_small[:on_paper.shape[0], :on_paper.shape[1]]
    if on_paper.sum() < 16:
        return norm
    p = float(np.median(bg_small[on_paper]))
    if p > 0.95:  # white paper: no room for a glare to show
        return norm
    share = np.clip((bg_small - p) / (1.0 - p), 0.0, 0.9)
    gain_bg = bg_small / np.maximum(bg_small - share, 1e-3)
    # a glare brightens smoothly; a step is another surface (a white table or sheet beside this one)
    step = np.abs(bg_small - ndi.gaussian_filter(bg_small, 6)) > GLARE_STEP
    gain_bg[ndi.binary_dilation(step, iterations=8)] = 1.0
    if gain_bg[on_paper].max() < 1.05:
        return norm
    d = 1.0 - norm
    med, noise = _paper_level(d, paper)
    peak = np.where(on_paper, fast_stats.block_max(ndi.uniform_filter(d, 3), f), 0.0)  # a stroke's, not a pixel's
    marked = peak > med + 8 * noise
    if marked.sum() < 4:
        return norm
    reach = max(3, round(GLARE_REACH * max(on_paper.shape)))
    local = ndi.grey_dilation(peak, size=(reach, reach))  # the ink level near each block
    unglared = marked & (gain_bg < 1.1) & (peak >= 0.12)  # ink (ink_mask's floor) where no glare is
    if unglared.sum() < 4:
        return norm
    page_ink = np.median(local[unglared])
    # ink a glare left at an eighth of the page's is still given back (to half); fainter is the paper's grain
    inked = marked & (peak >= page_ink / (2 * GLARE_MAX_GAIN))
    inked &= ndi.binary_erosion(on_paper, iterations=4)  # not the sheet's edge: its shadow is no ink
    gain = np.where(inked, np.clip(np.minimum(gain_bg, page_ink / np.maximum(local, 1e-3)), 1.0,
                                   GLARE_MAX_GAIN), 1.0)
    if gain.max() < GLARE_MIN_GAIN:
        return norm
    gain = ndi.grey_dilation(gain, size=(7, 7))  # over the strokes' faint rims and the gaps between them
    gain = _resize(ndi.gaussian_filter(gain, 1).astype(np.float32), norm.shape)
    k = max(5, round(GLARE_STROKE * max(d.shape)))
    thin = d - ndi.grey_opening(d, size=(k, k))  # the strokes, not a broad shade (a sheet edge's shadow)
    return np.clip(1.0 - d - (gain - 1.0) * thin, 0, 1).astype(np.float32)


def _paper_level(d, paper):
    """Median darkness of the sheet and its noise (a robust sigma: 1.4826 x the median absolute deviation)."""
    vals = d[paper]
    med = fast_stats.median(vals)  # exactly np.median's, 3-4x faster on a page's millions of pixels
    return med, 1.4826 * fast_stats.median(np.abs(vals - med)) + 1e-4


def _stroke_darkness(d, paper, floor):
    """Darkness of the marks above floor that are thin enough to be strokes: solid dark regions (a desk
    wedge left in the frame by rotation, a shadow, a dark object) would otherwise set the ink level and
    hide the writing. Solid = survives an opening 2 % of the frame wide (strokes are far thinner)."""
    dark = (d > floor) & paper
    f = max(1, max(d.shape) // 500)
    small = fast_stats.mostly(dark, f)
    solid = ndi.binary_opening(small, structure=morphology.disk(5))
    lab, _ = ndi.label(small)  # and whatever runs into the frame's edge (a thin wedge, a desk corner)
    edge = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    solid |= np.isin(lab, np.concatenate([edge[edge > 0], _long_thin_labels(lab, max(small.shape))]))
    if not solid.any():
        return d[dark]
    solid = ndi.binary_dilation(solid, iterations=2)  # and their anti-aliased rims
    solid = _resize(solid.astype(np.float32), d.shape) > 0.5
    strokes = d[dark & ~solid]
    return strokes if strokes.size > 50 else d[dark]


def _long_thin_labels(lab, side):
    """Labels of marks that are no character by shape: a tenth of the frame long and six times longer
    than wide (a pen, a rule), or spanning half the frame both ways with ink on under 25 % of that box
    (the dark border a perspective warp or scan leaves round a sheet, inset from the frame's edge)."""
    H, W = lab.shape
    areas = np.bincount(lab.ravel())
    found = []
    for i, box in enumerate(ndi.find_objects(lab), start=1):
        if box is None or areas[i] < 20:
            continue
        h, w = box[0].stop - box[0].start, box[1].stop - box[1].start
        if h >= 0.5 * H and w >= 0.5 * W and areas[i] < 0.25 * h * w:
            found.append(i)
        elif np.hypot(h, w) >= 0.05 * side:  # a major axis (4 sigma) is at most twice the box's diagonal
            p = measure.regionprops((lab[box] == i).astype(np.uint8))[0]  # its moments, as regionprops(lab)'s
            if p.axis_major_length >= 0.1 * side and p.axis_major_length >= 6 * max(p.axis_minor_length, 1):
                found.append(i)
    return np.array(found, dtype=lab.dtype)


def ink_mask(norm, paper):
    """Hysteresis threshold of ink darkness: strong ink seeds, weaker connected strokes kept."""
    d = 1.0 - norm
    med, noise = _paper_level(d, paper)
    strong = _stroke_darkness(d, paper, med + 3 * noise)
    if strong.size > 50:
        # Otsu between faint marks and ink, capped below the ink's own level (uniform ink has no spread)
        hi = 0.6 * np.percentile(strong, 90)
        if np.ptp(strong) > 1e-3:  # Otsu needs a spread (flat ink on flat paper has none)
            hi = min(threshold_otsu(strong), hi)
    else:
        hi = 1.0
    hi = max(hi, med + 8 * noise, 0.12)
    lo = max(med + 5 * noise, 0.5 * hi)
    return hysteresis_threshold(d, lo, hi) & paper, {"ink_high": float(hi), "ink_low": float(lo),
                                                    "paper_noise": float(noise)}


def hysteresis_threshold(image, low, high):
    """skimage's apply_hysteresis_threshold (4-connected regions above low that hold a pixel above high),
    its seeds counted over the strong pixels alone: a page's ndi.sum over every label took 3x longer."""
    labels, n = ndi.label(image > min(low, high))
    seeded = np.bincount(labels[image > high], minlength=n + 1) > 0
    seeded[0] = False
    return seeded[labels]


SKEW_MIN_POINTS = 12


def estimate_skew(mask, max_deg=25.0):
    """Angle (degrees) that makes text lines horizontal.

    Uses the centres of character-sized components only, so a pen, a table line or the sheet's edge
    cannot pull the estimate; the angle maximises the sharpness of their row profile. With fewer than
    SKEW_MIN_POINTS of them (letters written touching each other and the ruling are one component) it
    uses a sample of all ink pixels: rules and text lines run parallel.
    """
    lab = measure.label(mask, connectivity=2)
    props = measure.regionprops(lab)
    if not props:
        return 0.0
    h_med = _median_char_height(props)
    pts = []
    for p in props:
        y1, x1, y2, x2 = p.bbox
        if (y2 - y1) < 3 * h_med and (x2 - x1) < 3 * h_med and max(y2 - y1, x2 - x1) > 0.3 * h_med:
            pts.append(p.centroid)
    bin_width = max(0.2 * h_med, 1.0)
    if len(pts) < SKEW_MIN_POINTS:
        pts = np.argwhere(mask)
        pts = pts[np.random.default_rng(0).permutation(len(pts))[:20000]]
        # rules a few px thick: h_med may be a whole grid's height
        bin_width = max(1.0, min(bin_width, 0.002 * max(mask.shape)))
    if len(pts) < 3:
        return 0.0
    pts = np.array(pts, float)
    ys, xs = pts[:, 0] - pts[:, 0].mean(), pts[:, 1] - pts[:, 1].mean()

    def score(deg):
        a = np.deg2rad(deg)
        proj = ys * np.cos(a) - xs * np.sin(a)
        hist = np.bincount(((proj - proj.min()) / bin_width).astype(np.int64))
        # smooth by one bin so a centre on a bin edge is not penalised
        hist = np.convolve(hist.astype(float), [0.5, 1.0, 0.5])
        return float((hist ** 2).sum())

    coarse = np.arange(-max_deg, max_deg + 1e-9, 0.5)
    scores = np.array([score(a) for a in coarse])
    best = coarse[np.argmax(scores)]
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.1)
    return float(fine[np.argmax([score(a) for a in fine])])


def _long_runs(mask, length):
    """Pixels on horizontal runs of at least `length`: a binary opening by a 1 x length line, as min and
    max filters over uint8 (O(n) whatever the length)."""
    if length > mask.shape[1]:
        return np.zeros_like(mask)
    inside = ndi.minimum_filter1d(mask.view(np.uint8), length, axis=1, mode="constant", cval=0)
    # the max filter's window mirrors the min filter's: an even one is shifted by a pixel
    return ndi.maximum_filter1d(inside, length, axis=1, mode="constant", cval=0,
                                origin=0 if length % 2 else -1).view(bool)


def _dilate_line(mask, n, axis):
    """ndi.binary_dilation(mask) by a line of n (odd) pixels along axis, as a max filter: 3-6x faster."""
    return ndi.maximum_filter1d(mask.view(np.uint8), n, axis=axis, mode="constant", cval=0).view(bool)


def remove_rules(mask, char_height, faint=None):
    """Ruled notebook paper: if the (deskewed) page holds at least three long horizontal rules, remove
    them and any long vertical margin line. Letters crossing a rule lose only a band a few pixels wide
    around it. A single long line (a pen, a sheet edge) is no ruling and is left to the size filters.
    Rules are often fainter than the writing and only partly inside `mask`; `faint` (a lower-threshold
    ink mask) finds them whole. Returns `mask` itself when the page is not ruled."""
    faint = mask if faint is None else faint | mask
    h, w = mask.shape
    length = int(max(w / 12, 4 * char_height, 40))
    # thicken vertically first so a thin rule tilted by up to ~1 degree still holds one straight run
    thick = _dilate_line(faint, 5, 0)
    horizontal = _long_runs(thick, length) & faint
    if not horizontal.any():
        return mask
    lab = measure.label(horizontal)
    spans = [p for p in measure.regionprops(lab) if p.bbox[3] - p.bbox[1] > 0.25 * w]
    rows = np.sort([p.centroid[0] for p in spans])
    # three distinct rows: a sheet's top and bottom edge (perhaps broken in pieces) are not a ruling
    if len(rows) < 3 or 1 + np.count_nonzero(np.diff(rows) > 0.5 * char_height) < 3:
        return mask
    rules = _dilate_line(np.isin(lab, [p.label for p in spans]), 3, 0)
    # a margin line tilted by perspective (up to ~3 degrees) still holds a straight run in a 15 px band
    thick = _dilate_line(faint, 15, 1)
    vertical = _long_runs(thick.T, int(max(h / 8, 4 * char_height, 40))).T & faint
    rules |= _dilate_line(vertical, 3, 1)
    return mask & ~rules


RULING_RUN = 1 / 12  # a printed line stays straight for this much of the frame's longer side
RULING_SPAN = 0.25  # and spans at least this much of it: longer than any stroke of a character
RULING_SPREAD = 11  # px across: a line tilted ~3 degrees by perspective still holds one straight run
RULING_WIDTH = 7  # px: printed lines are thinner (1-4 px); a pen, a desk wedge or a marker stroke is not
RULING_LEVEL = 0.03  # darkness a printed line holds along its run at least (more on a grainy photo: 4 sigma)
RULING_SMOOTH = 9  # px: on a grainy photo, darkness averaged along a line before its run is measured (a
# grid's lines are 25 px apart or more at the working size)
RULING_POOL = 4  # lines are first looked for at 1/4 size (max-pooled, so a 1 px line survives): cheap


def subtract_ruling(norm, paper, noise):
    """Printed ruling (notebook rules, a squared grid, a margin) lifted off the (deskewed) page.

    The darkness that stays along a straight horizontal or vertical run of RULING_RUN of the frame (a grey
    opening) is a printed line; with three lines or more spanning RULING_SPAN of the frame the page is
    ruled, and the darkness of every such line, and of the shorter pieces of lines (cut by the sheet's
    edge or a thick stroke), is subtracted. Unlike removing a band of the ink mask, this keeps the part of
    a stroke that crosses a line and is darker than it: a grid crosses nearly every letter.
    Returns (norm, number of spanning lines); norm itself when the page is not ruled."""
    d = np.where(paper, 1.0 - norm, 0).astype(np.float32)
    level = max(RULING_LEVEL, 4 * noise)
    smooth = RULING_SMOOTH if level > RULING_LEVEL else 1  # only where the grain, not the floor, sets the level
    f = RULING_POOL
    pooled = fast_stats.block_max(d, f)
    # a line max-pooled can straddle two pooled pixels: objects there are 3 pooled pixels wide or more
    if _ruling(pooled, level, max(3, RULING_SPREAD // f), 3, False, max(1, smooth // f))[1] < 3:
        return norm, 0
    ruling, found = _ruling(d, level, RULING_SPREAD, RULING_WIDTH, True, smooth)
    if found < 3:
        return norm, 0
    return np.where(paper, 1.0 - np.maximum(d - ruling, 0), norm).astype(np.float32), found


def _ruling(d, level, spread, width, darkness, smooth):
    """(darkness of the printed lines or None, number of lines spanning RULING_SPAN of the frame) in the
    darkness image d; see subtract_ruling. spread, width, smooth: RULING_SPREAD, RULING_WIDTH and
    RULING_SMOOTH at d's scale."""
    side = max(d.shape)
    run = int(max(RULING_RUN * side, 10))
    ruling = np.zeros_like(d) if darkness else None
    found = 0
    # objects: dark across `width` and longer than any stroke of a letter (a pen, a desk wedge, a dark
    # corner of the frame) are no line, and are left whole, with the band round them
    lab, n = ndi.label(ndi.grey_opening(d, size=(width, width)) > level)
    big = np.zeros(n + 1, bool)
    for k, sl in enumerate(ndi.find_objects(lab), start=1):
        big[k] = max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) >= run
    solid = ndi.maximum_filter(big[lab], size=spread)
    for axis in (0, 1):  # along axis 0: vertical lines; along axis 1: horizontal ones
        # on a grainy photo, averaged a little along the line first: the minimum over a run must not catch
        # the grain dipping below a faint rule (a grid's cross lines, further apart, stay apart)
        ds = ndi.uniform_filter1d(d, smooth, axis=axis) if smooth > 1 else d
        line = ndi.maximum_filter1d(ds, spread, axis=1 - axis)
        line = ndi.maximum_filter1d(ndi.minimum_filter1d(line, run, axis=axis), run, axis=axis)
        # a thick stroke crossing a line is 'solid' there: close such gaps along the line
        on = ((line > level) & ~solid).astype(np.uint8)
        on = ndi.minimum_filter1d(ndi.maximum_filter1d(on, run // 2, axis=axis), run // 2, axis=axis)
        lab, n = ndi.label(on)
        area = np.bincount(lab.ravel(), minlength=n + 1)
        length = np.zeros(n + 1)
        for k, sl in enumerate(ndi.find_objects(lab), start=1):
            length[k] = sl[axis].stop - sl[axis].start
        thin = area <= 6 * spread * length  # a dark region (a shadow, a frame's corner) is no line
        thin[0] = False
        found += int(np.count_nonzero(thin & (length >= RULING_SPAN * side)))
        if darkness:
            # subtract only from pixels on a short straight run along the line (the line itself, a stroke
            # lying along it), so a stroke crossing it within the wide band keeps all its darkness
            short = max(run // 4, 15)
            local = ndi.maximum_filter1d(ndi.minimum_filter1d(ndi.maximum_filter1d(ds, 5, axis=1 - axis), short,
                                                              axis=axis), short, axis=axis)
            ruling = np.where(thin[lab] & ~solid, np.maximum(ruling, np.minimum(line, local)), ruling)
    return ruling, found


def _components(mask):
    lab = measure.label(mask, connectivity=2)
    props = measure.regionprops(lab)
    return lab, props


def _median_char_height(props):
    hs = np.array([p.bbox[2] - p.bbox[0] for p in props], float)
    areas = np.array([p.area for p in props], float)
    if len(hs) == 0:
        return 0.0
    # weight by area so specks do not drag the estimate down; a grainy photo leaves more specks of 1-3 px
    # than anything else, which would fill the upper half by area with their ties
    big = areas >= SPECK_AREA
    if 0 < big.sum() < (~big).sum():
        hs, areas = hs[big], areas[big]
    keep = areas >= np.percentile(areas, 50)
    return float(np.median(hs[keep])) if keep.any() else float(np.median(hs))


def _box_height(hs, ws):
    """The character height from the boxes: their median height, unless the boxes are mostly crumbs (a
    ruled page with a few words, its rules' ends left at the margins): then their median height
    weighted by box area, which the letters hold most of."""
    h = float(np.median(hs))
    order = np.argsort(hs, kind="stable")
    area = np.cumsum((hs * ws)[order].astype(float))
    weighted = float(hs[order][np.searchsorted(area, area[-1] / 2)])
    return weighted if h < 0.5 * weighted else h


def _fused_word(prop, h_med):
    """A component more than 4 heights wide is a long object (a pen, a rule, a desk edge) unless it
    is shaped like a word whose letters all touch: a line's height, and the ink of most stretches half
    a character wide reaching over most of it (letters' uprights, bowls, diagonals), where a straight
    run of that length climbs little (a component this wide and no higher lies at under 25 degrees)."""
    y1, x1, y2, x2 = prop.bbox
    if not 0.6 * h_med <= y2 - y1 <= 1.8 * h_med:
        return False
    img = prop.image
    rows = np.arange(img.shape[0], dtype=float)[:, None]
    top = np.where(img, rows, np.inf).min(0)
    bottom = np.where(img, rows, -np.inf).max(0)
    half = max(int(h_med / 2), 1)
    reach = ndi.maximum_filter1d(bottom, half, mode="nearest") - ndi.minimum_filter1d(top, half, mode="nearest")
    return bool(np.median(reach[np.isfinite(reach)]) >= 0.6 * h_med)


def _merge_pieces(boxes, groups, h_med):
    """Merge components that overlap horizontally and are vertically close (broken strokes)."""
    changed = True
    while changed:
        changed = False
        order = np.argsort(boxes[:, 1])
        for ii in range(len(order)):
            i = order[ii]
            if groups[i] is None:
                continue
            for jj in range(ii + 1, len(order)):
                j = order[jj]
                if groups[j] is None:
                    continue
                if boxes[j, 1] > boxes[i, 3]:
                    break
                bi, bj = boxes[i], boxes[j]
                overlap = min(bi[3], bj[3]) - max(bi[1], bj[1])
                narrow = min(bi[3] - bi[1], bj[3] - bj[1])
                vgap = max(bi[0], bj[0]) - min(bi[2], bj[2])
                merged_h = max(bi[2], bj[2]) - min(bi[0], bj[0])
                if overlap > 0.5 * narrow and vgap < 0.25 * h_med and merged_h < 1.6 * h_med:
                    boxes[i] = [min(bi[0], bj[0]), min(bi[1], bj[1]), max(bi[2], bj[2]), max(bi[3], bj[3])]
                    groups[i] = groups[i] + groups[j]
                    groups[j] = None
                    changed = True
    keep = [k for k, g in enumerate(groups) if g is not None]
    return boxes[keep], [groups[k] for k in keep]


def _page_stroke(props):
    """The writing's stroke width in pixels: 2 * area / perimeter over the larger half of the components."""
    areas = np.array([p.area for p in props], float)
    return float(np.median(stroke_width([[p.label] for p, a in zip(props, areas) if a >= np.median(areas)], props)))


def stroke_width(groups, props):
    """Mean stroke width of each box's components: 2 * area / perimeter (a stroke of length L and
    width t has area L t and perimeter about 2 L)."""
    by_label = {p.label: p for p in props}
    return np.array([2.0 * sum(by_label[c].area for c in g) / max(sum(by_label[c].perimeter for c in g), 1.0)
                     for g in groups])


def _drop_chopped_line(boxes, groups, h_med):
    """A straight line that crosses the lines of writing (a margin tilted by perspective beyond what
    subtract_ruling finds) is left in pieces by the rules lifted off it, one per line of text, each an
    'I'. They are told from a column of I's or 1's by lying on one straight line and being taller than
    the characters, end to end with short gaps: together they cover CHOPPED_COVER of their span."""
    ws, hs = boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]
    cand = np.flatnonzero((ws < 0.4 * h_med) & (hs >= 1.2 * h_med))
    if len(cand) < CHOPPED_MIN_PIECES:
        return boxes, groups
    cx, cy = (boxes[cand, 1] + boxes[cand, 3]) / 2, (boxes[cand, 0] + boxes[cand, 2]) / 2
    best = []
    for i in range(len(cand)):
        for j in range(i + 1, len(cand)):
            dy = cy[j] - cy[i]
            if abs(dy) < h_med or abs(cx[j] - cx[i]) > CHOPPED_MAX_TILT * abs(dy):
                continue
            on = np.flatnonzero(np.abs(cx - (cx[i] + (cy - cy[i]) * (cx[j] - cx[i]) / dy)) <= 0.15 * h_med)
            if len(on) > len(best):
                best = on
    if len(best) < CHOPPED_MIN_PIECES:
        return boxes, groups
    pieces = cand[best]
    span = boxes[pieces, 2].max() - boxes[pieces, 0].min()
    if hs[pieces].sum() < CHOPPED_COVER * span:
        return boxes, groups
    keep = np.ones(len(boxes), bool)
    keep[pieces] = False
    return boxes[keep], [g for g, k in zip(groups, keep) if k]


def _drop_foreign_strokes(boxes, groups, props, h_med):
    """One hand writes a page with one pen: marks much thinner than the page's strokes (ruling, margin
    lines, paper texture) or much thicker (a pen lying on the sheet, a shadow wedge, a sheet edge) are not
    writing. A mark taller than the writing may be thicker in proportion, up to twice (a heading written
    larger in a marker). A lone mark in a line of its own needs less evidence than one among letters:
    somewhat thick, or flat (a dash, the sliver of a pen's edge)."""
    if len(boxes) < 4:
        return boxes, groups, group_lines(boxes, h_med)
    rel = stroke_width(groups, props)
    rel = rel / np.median(rel)
    larger = np.clip((boxes[:, 2] - boxes[:, 0]) / h_med, 1.0, 2.0)
    keep = (rel >= 0.45) & (rel <= 2.4 * larger)
    boxes, groups = boxes[keep], [g for g, k in zip(groups, keep) if k]
    lines = group_lines(boxes, h_med)
    rel = rel[keep]
    flat = (boxes[:, 2] - boxes[:, 0]) < 0.5 * h_med  # no capital or digit is half its line's height
    lone = [line[0] for line in lines if len(line) == 1 and (rel[line[0]] > 1.7 or flat[line[0]])]
    if not lone:
        return boxes, groups, lines
    keep = np.ones(len(boxes), bool)
    keep[lone] = False
    boxes, groups = boxes[keep], [g for g, k in zip(groups, keep) if k]
    return boxes, groups, group_lines(boxes, h_med)  # regrouped: a dropped box may have blocked a chain


def group_lines(boxes, h_med):
    """Chain each box to its nearest right neighbour that overlaps it vertically (local, so slope and
    slight perspective do not matter), then join chains of one line separated by wide gaps."""
    n = len(boxes)
    if n == 0:
        return []
    nxt, prev_gap = -np.ones(n, int), np.full(n, np.inf)
    has_prev = -np.ones(n, int)
    y1s, x1s, y2s, x2s = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    cx, hs = (x1s + x2s) / 2, y2s - y1s
    # vectorised over the candidates j (a noisy photo can hold thousands of boxes)
    for i in np.argsort(x1s, kind="stable"):
        ov = np.minimum(y2s[i], y2s) - np.maximum(y1s[i], y1s)
        gap = (x1s - x2s[i]).astype(float)
        ok = (cx > cx[i]) & (ov >= 0.4 * np.minimum(hs[i], hs)) & (gap < 5 * h_med)
        ok[i] = False
        if not ok.any():
            continue
        best = int(np.argmin(np.where(ok, gap, np.inf)))
        best_gap = gap[best]
        if best_gap < prev_gap[best]:
            if has_prev[best] >= 0:
                nxt[has_prev[best]] = -1
            nxt[i], has_prev[best], prev_gap[best] = best, i, best_gap
    chains = []
    for i in range(n):
        if has_prev[i] < 0:
            chain = [i]
            while nxt[chain[-1]] >= 0:
                chain.append(int(nxt[chain[-1]]))
            chains.append(chain)
    cy = (y1s + y2s) / 2
    chains.sort(key=lambda c: boxes[c[0], 1])
    lines = []
    # per line: its right end and the height of its last three boxes (one odd piece cannot veto a join)
    end_x, end_y = np.empty(len(chains)), np.empty(len(chains))
    for c in chains:  # join a chain to the first line that ends before it at about the same height
        fits = np.flatnonzero((end_x[:len(lines)] <= x1s[c[0]] + 0.2 * h_med)
                              & (np.abs(end_y[:len(lines)] - np.median(cy[c[:3]])) < 0.5 * h_med))
        if len(fits):
            k = fits[0]
            lines[k].extend(c)
        else:
            k = len(lines)
            lines.append(list(c))
        end_x[k], end_y[k] = x2s[lines[k][-1]], np.median(cy[lines[k][-3:]])
    lines.sort(key=lambda line: np.median(cy[line]))
    return [[int(k) for k in line] for line in lines]


LETTER_GAP_MAX = 1.0  # letter widths: gaps of a lower mode wider than this are all spaces
SPACE_RATIO_FLOOR = 0.25  # letter widths: ratios of smaller gaps count from here (touching letters' gaps ~0)
LETTER_MODE_SHARE = 0.1  # the letter gaps are at least this share of a line's gaps: one overlapping pair
# in a long line is no mode of its own


def _gap_threshold(gaps, min_spaces=1):
    """Split gaps (in letter widths) into letter gaps and word spaces between two modes: at the step
    with the largest ratio (spaces vary by factors, so one wide space in a line, after a list number or
    a sentence, must not lift the split above the others); None when the gaps show no second mode (a
    step of 0.3 letter widths and a ratio of 1.5 at least, with min_spaces gaps above it and
    LETTER_MODE_SHARE of them below)."""
    if len(gaps) < 3:
        return None
    s = np.sort(np.maximum(gaps, 0.0))  # overlapping letters' gaps are letter gaps like touching ones
    jumps = np.diff(s)
    steps = (jumps > 0.3) & (s[1:] > 1.5 * np.maximum(s[:-1], 0.05))
    steps[len(s) - min_spaces:] = False
    steps[:int(np.ceil(LETTER_MODE_SHARE * len(s))) - 1] = False
    if not steps.any():
        return None
    k = int(np.argmax(np.where(steps, s[1:] / np.maximum(s[:-1], SPACE_RATIO_FLOOR), -np.inf)))
    if np.median(s[:k + 1]) > LETTER_GAP_MAX:
        return None  # spaced characters (1 2 3 4), one of them set further apart
    return (s[k] + s[k + 1]) / 2


def line_height(boxes, line, h_med):
    """A line's character height: the median of its boxes' heights, within 0.5-3 times the page's (a
    heading is written larger than the text under it, a note smaller); the page's for an empty line."""
    if not len(line):
        return float(h_med)
    return float(np.clip(np.median(boxes[line, 2] - boxes[line, 0]), 0.5 * h_med, 3.0 * h_med))


def _line_gaps(boxes, line, h_med):
    """Gaps between neighbouring boxes in letter widths: the line's median box width, kept within
    0.5-1 of the line's character height (in cramped writing most boxes hold several touching letters)."""
    gaps = np.array([boxes[b, 1] - boxes[a, 3] for a, b in zip(line, line[1:])], float)
    widths = np.array([boxes[k, 3] - boxes[k, 1] for k in line], float)
    h = line_height(boxes, line, h_med)
    return gaps / np.clip(np.median(widths), 0.5 * h, h)


def find_spaces(boxes, line, h_med, page_threshold=None):
    """Per box, the gap before it in units of the space threshold where it is a word space (> 1: gaps
    well above the line's letter spacing), else 0.0; how far above 1 tells how sure the space is.

    A line with two clear modes of gaps (letter gaps, word gaps) splits between them; a short line has
    too few gaps for that and uses the page's threshold (one writer spaces letters alike on all lines);
    failing both, only gaps over half a letter width are spaces."""
    if len(line) < 2:
        return [0.0] * len(line)
    gaps = _line_gaps(boxes, line, h_med)
    thr = _gap_threshold(gaps) if len(gaps) >= 4 else None
    if thr is None:
        thr = page_threshold if page_threshold is not None else 0.5
    unit = max(thr, 0.05)  # a threshold from overlapping letters may be near zero or below
    return [0.0] + [max(float(g / unit), 1.0) if g > thr else 0.0 for g in gaps]


SPACE_SPREAD = 3.0  # a page's gaps spread wider than this (90th / 10th percentile) hold letter gaps and spaces


def _page_gap_threshold(gaps):
    """The page-wide split of all lines' gaps: a clear step (_gap_threshold, one wide gap is no mode), or
    where letter gaps and spaces overlap (a writer who spaces letters wide), the least-squares split of
    their logarithms into two classes (Otsu); None for gaps of one mode (a page of lone letters)."""
    thr = _gap_threshold(gaps, min_spaces=2)
    if thr is not None or len(gaps) < 8:
        return thr
    x = np.sort(np.log(np.maximum(gaps, SPACE_RATIO_FLOOR)))
    if x[int(0.9 * (len(x) - 1))] - x[int(0.1 * (len(x) - 1))] < np.log(SPACE_SPREAD):
        return None
    k = np.arange(1, len(x))
    csum = np.cumsum(x)[:-1]
    between = k * (len(x) - k) * (csum / k - (x.sum() - csum) / (len(x) - k)) ** 2
    i = int(np.argmax(between))
    return float(np.exp((x[i] + x[i + 1]) / 2))


def find_all_spaces(boxes, lines, h_med):
    """find_spaces for every line, with the page-wide threshold from all lines' gaps pooled."""
    pooled = [_line_gaps(boxes, line, h_med) for line in lines if len(line) >= 2]
    page_thr = _page_gap_threshold(np.concatenate(pooled)) if pooled else None
    return [find_spaces(boxes, line, h_med, page_thr) for line in lines]


def find_letters(image, work_side=WORK_SIDE, larger=None):
    """Page image (RGB/RGBA/grey array) -> Page with boxes [y1, x1, y2, x2] and a black-on-white bw.
    Small writing (characters under SMALL_WRITING px at work_side) is read again from a larger image:
    larger() gives the photo at up to MAX_WORK_SIDE when `image` was decoded smaller (load_image)."""
    grey = to_grey(image)
    page = _find_letters(grey, work_side)
    h = page.info.get("char_height", 0.0)
    if MIN_CHAR_PX <= h < SMALL_WRITING:
        side = min(work_side * SMALL_WRITING_TARGET / h, MAX_WORK_SIDE)
        first = max(grey.shape)
        if larger is not None and first < side:
            grey = to_grey(larger())
        # worth it when the working image grows by 15 % over the first one's
        if min(side, MAX_UPSCALE * max(grey.shape)) > 1.15 * page.info["scale"] * first:
            page = _find_letters(grey, side)
            page.info["enlarged_for_small_writing"] = True
    return page


def _find_letters(grey, work_side):
    scale = min(MAX_UPSCALE, work_side / max(grey.shape))
    if scale != 1.0:
        grey = _resize(grey, (round(grey.shape[0] * scale), round(grey.shape[1] * scale)))
    paper, surround = find_paper(grey)
    page = _segment(grey, paper, surround, scale)
    if surround:
        # The brightest region is not always the sheet (grey paper on a white table, a shadow across
        # the sheet): if all but a dark desk reads as more text lines of two or more characters, it was not.
        lit = not_desk(grey, paper)
        min_px = MIN_CHAR_PX * work_side / WORK_SIDE  # texture grows with the working image
        wider = _segment(grey, lit, not lit.all(), scale, texture_px=0.5 * min_px)
        if _text_score(wider, min_px) > 1.5 * _text_score(page, min_px) + 2:
            wider.info["surround_rejected"] = True
            return _drop_lone_marks_off_the_text(wider)
    return page


def _renumber(boxes, comp_ids, lines):
    """The boxes of `lines` (and their component lists) in reading order, the others left out, and the
    lines as indices into them."""
    order = [k for line in lines for k in line]
    new_index = {k: i for i, k in enumerate(order)}
    return boxes[order], [comp_ids[k] for k in order], [[new_index[k] for k in line] for line in lines]


def _drop_lone_marks_off_the_text(page, beyond=(3.0, 2.0)):
    """A reading beyond the bright sheet also sees its edges and what lies on the desk: a mark alone in its
    line more than beyond = (3, 2) character heights above or below, or beside, the block of writing is one
    of those. The block starts as the lines of two or more characters and takes in, one after another,
    the lone marks within reach of it: a list of single digits, one per line, is writing."""
    h, b = page.info["char_height"], page.boxes
    text = [k for line in page.lines if len(line) >= 2 for k in line]
    if not text:
        return page
    off = [line[0] for line in page.lines if len(line) == 1]
    while True:
        top, left = b[text, 0].min() - beyond[0] * h, b[text, 1].min() - beyond[1] * h
        bottom, right = b[text, 2].max() + beyond[0] * h, b[text, 3].max() + beyond[1] * h
        near = [k for k in off if b[k, 0] >= top and b[k, 2] <= bottom and b[k, 1] >= left and b[k, 3] <= right]
        if not near:
            break
        text += near
        off = [k for k in off if k not in near]
    if not off:
        return page
    page.info["lone_marks_dropped"] = len(off)
    keep = [li for li, line in enumerate(page.lines) if line[0] not in off]
    page.bw[np.isin(page.labels, [c for k in off for c in page.comp_ids[k]])] = 1.0
    page.boxes, page.comp_ids, page.lines = _renumber(b, page.comp_ids, [page.lines[li] for li in keep])
    page.spaces = [page.spaces[li] for li in keep]
    page.numbered = [page.numbered[li] for li in keep] if page.numbered else []
    return page


def _text_score(page, min_px=MIN_CHAR_PX):
    """Characters in lines of two or more; none when the marks are too small to be writing (a reading of
    paper texture or rule fragments, whose median 'character' is under min_px high)."""
    if page.info.get("char_height", 0) < min_px:
        return 0
    return sum(len(line) for line in page.lines if len(line) >= 2)


def _cut_by_sheet_edge(frame, paper, mask, level, h_med):
    """A test of marks (their pixel coordinates) for being the tip of something dark that the sheet mask
    cuts off: a desk wedge between two sheets, another sheet's shadow, a dark border round the page.
    Such a mark joins more than a character's area of dark beyond the sheet's edge across a contact
    wider than a quarter of a character's height; a pen stroke running off the sheet meets the edge
    across its own width. On the sheet only `mask` counts (removed ruling must not join letters to the
    desk), closed vertically across the width of a removed rule, which cuts a wedge into pieces."""
    joined = ndi.binary_closing(mask, structure=np.ones((max(3, int(0.3 * h_med)), 1))) & paper
    lab, n = ndi.label(joined | (~paper & ((1.0 - frame) > level)), structure=np.ones((3, 3)))
    beyond = np.bincount(lab[~paper], minlength=n + 1) > h_med ** 2
    beyond[0] = False
    pieces, m = ndi.label(joined, structure=np.ones((3, 3)))
    edge = ndi.binary_dilation(~paper) & joined
    contact = np.bincount(pieces[edge], minlength=m + 1)

    def cut(coords):
        y, x = coords[0]
        return bool(beyond[lab[y, x]]) and contact[pieces[y, x]] > 0.25 * h_med
    return cut


def _segment(grey, paper, surround, scale, texture_px=0.0):
    """A Page of the sheet `paper` of the working image `grey`. texture_px: when the marks' median height
    is under this, they are texture (a grainy desk): an empty Page at once, not thousands of boxes."""
    frame = flatten(grey, paper, outside=None)
    norm = np.where(paper, frame, np.float32(1.0))
    mask, thr = ink_mask(norm, paper)
    angle = estimate_skew(mask)
    in_photo = None  # after deskewing: the photo's own frame within the grown one
    if abs(angle) > 0.2:
        if surround:  # the frame beyond the sheet is only looked at when there is one (_cut_by_sheet_edge)
            frame = _rotate(frame, angle, 1.0)
        norm = _rotate(norm, angle, 1.0)
        grey = _rotate(grey, angle, np.nan)  # PIL fills only what maps beyond the photo: NaN marks it
        inside = ~np.isnan(grey)
        in_photo = _photo_rows(inside)
        grey = np.where(inside, grey, np.float32(1.0))
        paper = _rotate_mask(paper, angle)
        mask, thr = ink_mask(norm, paper)
    info = {"scale": scale, "skew_deg": angle, "surround_found": surround, **thr}
    norm, lines_found = subtract_ruling(norm, paper, thr["paper_noise"])
    if lines_found:
        mask, thr = ink_mask(norm, paper)
        info.update(thr, ruling_lines=lines_found)
    lab, props = _components(mask)
    faint = ((1.0 - norm) > max(0.4 * thr["ink_low"], 8 * thr["paper_noise"])) & paper
    cleaned = remove_rules(mask, _median_char_height(props), faint)
    if cleaned is not mask:
        mask = cleaned
        lab, props = _components(mask)
        info["rules_removed"] = True
    empty = Page(grey, np.ones_like(norm), np.zeros((0, 4), int), lab, [], [], [], info)
    if not props:
        return empty
    H, W = mask.shape
    h_med = _median_char_height(props)
    if h_med < texture_px:
        empty.info["char_height"] = h_med
        return empty
    mask, lifted = lift_underlines(mask, props, h_med, _page_stroke(props))
    if lifted:
        lab, props = _components(mask)
        info["underlines_lifted"] = lifted
    # Drop what is not a character: sheet-edge fragments, long objects (a pen), specks and periods.
    border_dist = ndi.distance_transform_edt(paper) if surround else None
    cut_by_edge = _cut_by_sheet_edge(frame, paper, mask, thr["ink_low"], h_med) if surround else None
    boxes, groups = [], []
    for p in props:
        y1, x1, y2, x2 = p.bbox
        h, w = y2 - y1, x2 - x1
        if y1 == 0 or x1 == 0 or y2 == H or x2 == W:
            continue
        if in_photo is not None and not _within_rows(p.coords, *in_photo):
            continue  # cut by the photo's edge, as above, but turned into the frame by deskewing
        if border_dist is not None and np.median(border_dist[p.coords[:, 0], p.coords[:, 1]]) < 0.25 * h_med:
            continue  # hugs the sheet's border: shadow, edge or another sheet, not writing
        if cut_by_edge is not None and cut_by_edge(p.coords):
            continue
        if h > 3.5 * h_med or (w > 4 * h_med and not _fused_word(p, h_med)):
            continue
        if p.area > 0.8 * h * w and h * w > 0.25 * h_med ** 2:  # solid blob, not a stroke
            continue
        boxes.append([y1, x1, y2, x2])
        groups.append([p.label])
    if not boxes:
        return empty
    boxes = np.array(boxes)
    boxes, groups = _merge_pieces(boxes, groups, h_med)
    hs = boxes[:, 2] - boxes[:, 0]
    ws = boxes[:, 3] - boxes[:, 1]
    h_med = _box_height(hs, ws)
    keep = np.maximum(hs, ws) >= 0.35 * h_med  # periods, commas and specks are small for their line
    dots = boxes[~keep]
    boxes, groups = boxes[keep], [g for g, k in zip(groups, keep) if k]
    boxes, groups = _drop_chopped_line(boxes, groups, h_med)
    # marks with a stroke width foreign to the page, and flat or thick lone marks, are not writing
    boxes, groups, lines = _drop_foreign_strokes(boxes, groups, props, h_med)
    spaces = find_all_spaces(boxes, lines, h_med)
    marks = find_punctuation(boxes, groups, lines, {p.label: p.bbox for p in props}, dots, h_med)
    if marks:  # spaces were found with the marks in place: the writer's spacing includes them
        dots = np.concatenate([dots, boxes[list(marks)]])
        lines, spaces = drop_marks(lines, spaces, marks)
        boxes, groups, lines = _renumber(boxes, groups, lines)
        info["punctuation_dropped"] = len(marks)
    numbered = list_labels(boxes, lines, spaces, dots, h_med)
    bw = np.ones_like(norm)
    bw[np.isin(lab, [c for g in groups for c in g])] = 0.0
    info.update({"char_height": h_med, "components": len(props)})
    return Page(grey, bw, boxes, lab, groups, lines, spaces, info, numbered)
