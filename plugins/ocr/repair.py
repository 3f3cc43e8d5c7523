"""Segmentation repairs decided by the classifier: join the pieces of a broken character, split
characters that touch. Both compare the confidence of one reading with the product of two, on the same
ink; a reading's confidence is P(one character) * P(its likeliest character) (backend.read)."""
import numpy as np
from skimage import measure

from . import decode, glyph
from .segment import line_height

SPLIT_MIN_WIDTH = 1.1  # narrower boxes are taken as one character (94 % of held-out characters are)
SPLIT_MIN_PIECE = 0.15  # no piece narrower than this many heights (an I is about 0.1-0.2)
SPLIT_MAX_PIECE = 1.6  # nor wider: no one character is
SPLIT_CUTS = 4  # cut columns tried per height of box width: the thinnest columns of ink, spread apart
# (3 -> 4: cramped U 0.837 -> 0.873, T 0.813 -> 0.835, H 0.824 -> 0.835, T2 0.801 -> 0.807; 5: no better)
PIECE_MARGIN = 1.5  # each extra piece must multiply the reading's probability by this: one is the default
# (for splits and merges alike: a stroke alone often reads as a sure 1 or I)
SPLIT_ONLY_REJECTED = 0.1  # only boxes with P(one character) below this are split (held-out pairs: ~0.01)
SPLIT_PIECE_CONF = 0.7  # and only into pieces each read with this confidence: a wide single letter
# from an unfamiliar hand is also rejected, but its halves read as a sure letter and a doubtful one
LATTICE_PATHS = 6  # cuts of a wide box kept for the word decoder to choose from (repair -> decode)
LATTICE_MIN_WIDTH = SPLIT_MIN_WIDTH  # and only boxes this many heights wide
LATTICE_MAX_ONE = 0.5  # only wide boxes the classifier doubts (P(one character) below this) get them: a
# sure wide W cut into I N reads as the far likelier word IN
LATTICE_NARROW_WIDTH = 0.8  # a narrower box the classifier rejects (P(one) < SPLIT_ONLY_REJECTED) gets cuts
NARROW_CUT_COST = 6.0  # too, each extra piece costing this much more: two letters overlapping in cramped
# writing (U 0.820 -> 0.841, H 0.803 -> 0.811), but no D cut into SH nor an 8 into two digits (at 3.0 they were)
SPLIT_FORCE_WIDTH = 2.0  # a rejected box this many heights wide holds no one character (see
# SPLIT_MAX_PIECE): it is split into its best pieces whatever their confidence (a fused cramped word)


def confidence(probs, one):
    """P(one character) * P(its likeliest character), row-wise."""
    return probs.max(-1) * one


def merge_split_characters(page, backend, probs, one):
    """Join two touching boxes of a line when the classifier finds one character in them more likely
    than two (conf(merged) * PIECE_MARGIN > conf(left) * conf(right)): repairs strokes broken by a light
    pen or pencil. Widths and gaps are measured in the line's own character height (a heading is larger).
    Updates probs and one (P(one character)) in place."""
    h_page = page.info.get("char_height", 1.0)
    for li, line in enumerate(page.lines):
        h = line_height(page.boxes, line, h_page)
        k = 0
        while k < len(line) - 1:
            a, b = line[k], line[k + 1]
            ba, bb = page.boxes[a], page.boxes[b]
            box = np.array([min(ba[0], bb[0]), min(ba[1], bb[1]), max(ba[2], bb[2]), max(ba[3], bb[3])])
            if bb[1] - ba[3] > 0.1 * h or box[3] - box[1] > 1.3 * h:
                k += 1
                continue
            ids = page.comp_ids[a] + page.comp_ids[b]
            g = glyph.render_crop(np.isin(page.labels[box[0]:box[2], box[1]:box[3]], ids))
            pm, om = backend.read(g[None])
            if confidence(pm[0], om[0]) * PIECE_MARGIN > confidence(probs[a], one[a]) * confidence(probs[b], one[b]):
                page.boxes[a], page.comp_ids[a], probs[a], one[a] = box, ids, pm[0], om[0]
                del line[k + 1]
                del page.spaces[li][k + 1]
                page.comp_ids[b] = []
            else:
                k += 1


def cut_columns(ink, ref):
    """Cut columns through a wide box's ink: the thinnest columns (smoothed vertical ink count), at
    least 8 % of a height apart and SPLIT_MIN_PIECE heights from either side; SPLIT_CUTS per height."""
    w = ink.shape[1]
    lo = max(2, int(round(SPLIT_MIN_PIECE * ref)))
    if w - lo <= lo:
        return []
    n = int(np.ceil(SPLIT_CUTS * w / ref))
    proj = np.convolve(ink.sum(0).astype(float), np.ones(3) / 3, "same")
    cols = np.arange(lo, w - lo)
    chosen = []
    for c in cols[np.argsort(proj[cols], kind="stable")]:
        if all(abs(c - d) >= 0.08 * ref for d in chosen):
            chosen.append(int(c))
            if len(chosen) == n:
                break
    return sorted(chosen)


def piece_ink(sub, ids, a, b):
    """Mask of the ink of components `ids` in `sub` between columns a and b. A component lying (90 %)
    inside goes in whole, one lying (90 %) outside stays out; crumbs under 8 % of the piece's ink left
    by the cuts (the tip of a neighbour's stroke) are dropped."""
    out = np.zeros(sub.shape, bool)
    out[:, a:b] = np.isin(sub[:, a:b], ids)
    for i in ids:
        m = sub == i
        n_in, n_all = m[:, a:b].sum(), m.sum()
        if n_in >= 0.9 * n_all:
            out |= m
        elif n_in <= 0.1 * n_all:
            out &= ~m
    return _drop_crumbs(out)


def _drop_crumbs(mask):
    lab = measure.label(mask, connectivity=2)
    if lab.max() <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return np.isin(lab, np.flatnonzero(sizes >= 0.08 * sizes.sum()))


def _tight(mask, y1, x1):
    ys, xs = np.nonzero(mask)
    return np.array([y1 + ys.min(), x1 + xs.min(), y1 + ys.max() + 1, x1 + xs.max() + 1])


def read_spans(sub, ids, ref, backend):
    """Every piece of a wide box between two cut columns (none wider than SPLIT_MAX_PIECE heights, the
    whole box excluded), read: (number of bounds, {span: mask}, {span: probabilities}, {span: P(one)})."""
    w = sub.shape[1]
    bounds = [0] + cut_columns(np.isin(sub, ids), ref) + [w]
    spans = [(i, j) for i in range(len(bounds)) for j in range(i + 1, len(bounds))
             if (i, j) != (0, len(bounds) - 1) and bounds[j] - bounds[i] <= SPLIT_MAX_PIECE * ref]
    masks = {s: piece_ink(sub, ids, bounds[s[0]], bounds[s[1]]) for s in spans}
    spans = [s for s in spans if masks[s].any()]
    if not spans:
        return len(bounds), {}, {}, {}
    p, one = backend.read(np.stack([glyph.render_crop(masks[s]) for s in spans]))
    return len(bounds), {s: masks[s] for s in spans}, dict(zip(spans, p)), dict(zip(spans, one))


def best_pieces(sub, ids, ref, conf_whole, backend, min_conf=SPLIT_PIECE_CONF, readings=None):
    """Segmentation by recognition of one wide box: over the cut columns, the sequence of pieces with
    the highest product of classifier confidences, each piece past the first paying 1 / PIECE_MARGIN and
    none below min_conf.
    Returns [(mask, probabilities)] for two or more pieces, or None when the whole box reads best."""
    n_bounds, masks, probs, one = readings or read_spans(sub, ids, ref, backend)
    bounds = range(n_bounds)
    if not masks:
        return None
    conf = {s: float(confidence(probs[s], one[s])) for s in masks}
    conf = {s: c for s, c in conf.items() if c >= min_conf}
    best = {0: (1.0, [])}  # boundary index -> (score, spans so far)
    for j in range(1, len(bounds)):
        options = [(best[i][0] * conf[(i, j)] / PIECE_MARGIN, best[i][1] + [(i, j)])
                   for i in range(j) if i in best and (i, j) in conf]
        if options:
            best[j] = max(options, key=lambda o: o[0])
    end = len(bounds) - 1
    if end not in best or best[end][0] * PIECE_MARGIN <= conf_whole:
        return None
    return [(masks[s], probs[s]) for s in best[end][1]]


def piece_paths(readings, k=LATTICE_PATHS):
    """The k likeliest ways to cut a wide box into two or more pieces, by the product of the pieces'
    confidences: [(segmentation log-score, [span, ...])]. The segmentation score counts only P(one
    character) of each piece and PIECE_MARGIN per extra piece: the word decoder adds the characters'
    likelihoods itself."""
    n_bounds, masks, probs, one = readings
    conf = {s: float(confidence(probs[s], one[s])) for s in masks}
    paths = {0: [(0.0, [])]}  # boundary index -> k best (log confidence, spans)
    for j in range(1, n_bounds):
        options = [(c + np.log(max(conf[(i, j)], 1e-12) / PIECE_MARGIN), spans + [(i, j)])
                   for i in range(j) if (i, j) in conf for c, spans in paths.get(i, [])]
        if options:
            paths[j] = sorted(options, key=lambda o: -o[0])[:k]
    return [(sum(np.log(max(float(one[sp]), 1e-12)) for sp in spans) - (len(spans) - 1) * np.log(PIECE_MARGIN),
             spans) for _, spans in paths.get(n_bounds - 1, [])]


def split_touching_characters(page, backend, probs, one):
    """Split each box wider than SPLIT_MIN_WIDTH heights that the classifier doubts is one character
    (touching letters) into the pieces best_pieces reads as more likely; one wider than
    SPLIT_FORCE_WIDTH into its best pieces even when they read doubtfully. Returns the probabilities,
    one row per box. Wide boxes with P(one) < LATTICE_MAX_ONE, and boxes from LATTICE_NARROW_WIDTH
    heights with P(one) < SPLIT_ONLY_REJECTED (their cuts paying NARROW_CUT_COST a piece), keep their
    other cuts for the word decoder: page.info["cut_alternatives"] {group of box ids: [(segmentation
    log-score, probabilities of the pieces)]}, the whole box first unless SPLIT_FORCE_WIDTH wide, and
    page.info["cut_boxes"] {group: [piece boxes per option]}. Heights are the line's own (line_height)."""
    h_page = page.info.get("char_height", 1.0)
    boxes, probs, alternatives, cut_boxes = list(page.boxes), list(probs), {}, {}
    for li, line in enumerate(page.lines):
        h = line_height(page.boxes, line, h_page)
        for k in range(len(line) - 1, -1, -1):  # backwards: insertions do not move what is left to do
            b = line[k]
            y1, x1, y2, x2 = boxes[b]
            ref = max(y2 - y1, 0.7 * h)
            narrow = x2 - x1 < LATTICE_MIN_WIDTH * ref
            if one[b] >= (SPLIT_ONLY_REJECTED if narrow else LATTICE_MAX_ONE) or x2 - x1 < LATTICE_NARROW_WIDTH * ref:
                continue
            sub, ids = page.labels[y1:y2, x1:x2], page.comp_ids[b]
            readings = read_spans(sub, ids, ref, backend)
            # the word decoder may still choose another cut: the whole box and the k best cuts
            paths = piece_paths(readings)
            forced = x2 - x1 >= SPLIT_FORCE_WIDTH * ref
            # the whole box is an option unless it is too wide for one character
            options = [] if forced else [(np.log(max(float(one[b]), 1e-12)), probs[b][None])]
            # a narrow box's extra piece also pays back the bonus the word decoder gives each character read
            extra = np.log(NARROW_CUT_COST) + decode.CUT_LETTER_BONUS if narrow else 0.0
            options += [(seg - extra * (len(spans) - 1), np.stack([readings[2][sp] for sp in spans]))
                        for seg, spans in paths]
            option_boxes = [] if forced else [np.array([boxes[b]])]
            option_boxes += [np.array([_tight(readings[1][sp], y1, x1) for sp in spans]) for _, spans in paths]
            pieces = None
            if one[b] < SPLIT_ONLY_REJECTED and x2 - x1 >= SPLIT_MIN_WIDTH * ref:  # else only the decoder may
                pieces = best_pieces(sub, ids, ref, 0.0 if forced else confidence(probs[b], one[b]), backend,
                                     min_conf=0.0 if forced else SPLIT_PIECE_CONF, readings=readings)
            group = [b]
            if pieces is not None:
                boxes[b], probs[b] = _tight(pieces[0][0], y1, x1), pieces[0][1]
                for n, (mask, p) in enumerate(pieces[1:], 1):
                    boxes.append(_tight(mask, y1, x1))
                    probs.append(p)
                    page.comp_ids.append(list(page.comp_ids[b]))
                    line.insert(k + n, len(boxes) - 1)
                    page.spaces[li].insert(k + n, False)
                    group.append(len(boxes) - 1)
            if len(options) > 1:
                alternatives[tuple(group)] = options
                cut_boxes[tuple(group)] = option_boxes
    page.boxes = np.array(boxes).reshape(-1, 4)
    page.info["cut_alternatives"], page.info["cut_boxes"] = alternatives, cut_boxes
    return np.array(probs).reshape(len(boxes), -1)
