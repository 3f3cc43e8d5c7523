"""Which way up a page is. A photo can arrive a quarter or half turn round with no EXIF tag to say so
(a scan, a screenshot, a messenger that dropped the tag), and deskewing only corrects tilts up to 25
degrees. The classifier decides: turned the right way, most characters read surer."""
import numpy as np

from .repair import confidence
from .segment import find_letters

SAMPLE = 48  # glyphs read turned each of three ways, evenly spread over the page's boxes
SURE = 0.5  # only glyphs read this surely (P(one character) * P(likeliest)) in some orientation vote:
# pieces of touching letters read doubtfully whichever way up, and would vote at random
TIE_RATIO = 1.2  # and only if they read this many times surer their surest way than their next: O, X,
# H, N, S, Z, 0, 8 read alike upside down, and voted at random (an upside-down BOX QUIZ, TEXT FOX OVER 8,
# HELLO NETWORK: 14 votes upright against 26; with this ratio 4 against 15)
MIN_VOTES = 3  # an orientation needs at least this many votes
VOTE_RATIO = 2.0  # and this many times the votes of any other


def tally(backend, glyphs, conf_as_found):
    """(votes, sure): for each quarter turn counter-clockwise (np.rot90: 0-3), the votes of glyphs
    (n, 32, 32) for it and how many of them it reads surely, given their confidences as they are
    (P(one character) * P(likeliest)). A glyph read surely some way up, and TIE_RATIO surer that way
    than any other, votes for that way."""
    pick = np.linspace(0, len(glyphs) - 1, min(len(glyphs), SAMPLE)).round().astype(int)
    turned = np.concatenate([np.rot90(glyphs[pick], k, axes=(1, 2)) for k in (1, 2, 3)])
    probs, one = backend.read(np.ascontiguousarray(turned))  # one batch
    conf = np.concatenate([np.asarray(conf_as_found)[pick], confidence(probs, one)]).reshape(4, len(pick))
    first, second = np.sort(conf, axis=0)[[-1, -2]]
    voting = (first >= SURE) & (first >= TIE_RATIO * second)
    return np.bincount(conf[:, voting].argmax(0), minlength=4), (conf >= SURE).sum(1)


def decided(v):
    """The quarter turn the votes v settle on, or None: MIN_VOTES and VOTE_RATIO times any other's."""
    k = int(np.argmax(v))
    return k if v[k] >= MIN_VOTES and v[k] >= VOTE_RATIO * np.delete(v, k).max() else None


def upright_page(image, backend, crops, larger=None):
    """find_letters on the image turned the way up its characters read (crops(page) -> glyphs):
    (page, probs, one) as backend.read gives them; page.info["quarter_turns"] says how it was turned.
    When the glyphs as found do not settle it, the page is found again a quarter turn round: a page on
    its side and tilted as well is deskewed wrongly, and its glyphs read badly every way up. Upright
    unless the votes settle on a turn (at the second look, pooled with the first if need be, one that
    reads more glyphs surely than the first look did any way up). A turn whose own look votes to turn on
    is followed once more; a turn the first look settled on that its own look leaves in doubt is weighed
    against the other two ways by how many glyphs each reads surely."""
    def find(k):
        turn = (lambda a: np.ascontiguousarray(np.rot90(a, k))) if k else (lambda a: a)
        page = find_letters(turn(image), larger=None if larger is None else lambda: turn(larger()))
        if k:
            page.info["quarter_turns"] = k
        if len(page.boxes) == 0:
            return page, np.zeros((0, 36)), np.zeros(0), (np.zeros(4, int), np.zeros(4, int))
        glyphs = crops(page)
        probs, one = backend.read(glyphs)
        return page, probs, one, tally(backend, glyphs, confidence(probs, one))

    looks = {0: find(0)}  # quarter turns -> (page, probs, one, (votes, sure))
    first_votes, first_sure = looks[0][3]
    k = decided(first_votes)
    first_look_turns = bool(k)  # the first look alone settled on a turn
    if k is None and len(looks[0][0].boxes):
        looks[1] = find(1)
        votes, sure = looks[1][3]
        k1 = decided(votes)
        if k1 is None:  # neither look settles it alone: pool their votes, the first look's turned to match
            k1 = decided(np.roll(first_votes, -1) + votes)
        # the turn must also read more glyphs surely than the first look did any way up: a page on its
        # side reads 1.15-3x as many (a single line 1.15x), cramped letters found again on their side
        # leave a few sure pieces (0.5x at most)
        if k1 is not None and sure[k1] > first_sure.max():
            k = (1 + k1) % 4
    k = k or 0
    if k not in looks:
        looks[k] = find(k)
    if k:  # a turn is checked by the look at it: a page on its side and tilted can vote for the opposite
        # side at the first look (its deskew was wrong); found that way round, its glyphs vote to turn on
        votes, sure = looks[k][3]
        j = decided(votes)
        if j and sure[j] > sure[0]:
            k = (k + j) % 4
            if k not in looks:
                looks[k] = find(k)
        elif j is None and first_look_turns:  # the turn's own look leaves it in doubt: a page on its
            # side and tilted can vote for its wrong side at both looks. The look a quarter round tells
            # the other two ways; the way most glyphs read surely as found wins
            q = (k + 1) % 4
            if q not in looks:
                looks[q] = find(q)
            options = {k: looks[k][3][1][0], q: looks[q][3][1][0], (q + 2) % 4: looks[q][3][1][2]}
            best = max(options, key=lambda o: options[o])
            if best != k:
                k = best
                if k not in looks:
                    looks[k] = find(k)
    return looks[k][:3]
