"""One canonical glyph style for training images and page crops alike.

A character's ink mask is thinned to its skeleton and re-drawn with a fixed pen width, its longer side
scaled to 24 px and centred in 32x32 (the layout of the shared 36-class sets). Pencil, marker, thin pen
and tablet strokes all come out the same, so the classifier sees one distribution.
"""
import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

SIZE = 32
LONG_SIDE = 24.0
PEN = 2.5  # stroke width in output pixels, as the shared tablet renderings
SUPER = 4  # supersampling for anti-aliasing
CROP_SIDE = 108  # px: the long side of a training glyph's mask (a 32 px rendering at 4x, the median):
# page crops are enlarged to it first, so that closing and thinning work at the same scale on both
# (at a page's 40-60 px, closing fills the narrow notches of a bold pen's M or E)


def _trim(mask):
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    return mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def _close3(mask):
    """Binary closing with a 3x3 square (as ndi.binary_closing), by separable max and min filters."""
    u = mask.view(np.uint8)
    for f in (ndi.maximum_filter1d, ndi.minimum_filter1d):
        u = f(f(u, 3, 0, mode="constant", cval=0), 3, 1, mode="constant", cval=0)
    return u.astype(bool)


def _enlarge(mask, f):
    im = Image.fromarray(np.pad(mask, 1).view(np.uint8) * 255)
    return np.asarray(im.resize((round(im.width * f), round(im.height * f)), Image.BILINEAR)) > 127


_R = PEN * SUPER / 2
_DY, _DX = (a.ravel() for a in np.mgrid[-int(_R):int(_R) + 1, -int(_R):int(_R) + 1])
_DISK = _DY ** 2 + _DX ** 2 <= _R ** 2
_DY, _DX = _DY[_DISK], _DX[_DISK]


def _stamp(points, n):
    """n x n pixels within PEN * SUPER / 2 of the points (flat indices): the pen drawn along the skeleton,
    as distance_transform_edt(no point) <= that radius finds them, in a fifth of the time."""
    ys, xs = points[:, None] // n + _DY, points[:, None] % n + _DX
    on = (ys >= 0) & (ys < n) & (xs >= 0) & (xs < n)
    ink = np.zeros((n, n), bool)
    ink[ys[on], xs[on]] = True
    return ink


def render_mask(mask, min_side=0):
    """Bool ink mask (any size) -> float32 (32, 32), ink 0 on paper 1; a mask whose longer side is
    under min_side px is enlarged to it first."""
    mask = _trim(np.asarray(mask, bool))
    out = np.ones((SIZE, SIZE), np.float32)
    if mask is None:
        return out
    if max(mask.shape) < min_side:
        mask = _trim(_enlarge(mask, min_side / max(mask.shape)))
        if mask is None:
            return out
    pad = _close3(np.pad(mask, 2))  # close pin-holes that make skeleton loops
    skel = skeletonize(pad)
    ys, xs = np.nonzero(skel)
    if len(ys) == 0:
        ys, xs = np.nonzero(pad)
    # midpoints to 8-neighbours keep the drawn line continuous when scaling up
    pts = [np.stack([ys, xs], 1).astype(np.float64)]
    h, w = skel.shape
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        both = np.zeros_like(skel)
        xa, xb = max(0, -dx), w - max(0, dx)
        both[:h - dy, xa:xb] = skel[:h - dy, xa:xb] & skel[dy:, xa + dx:xb + dx]
        ny, nx = np.nonzero(both)
        if len(ny):
            base = np.stack([ny, nx], 1).astype(np.float64)
            for t in (0.25, 0.5, 0.75):
                pts.append(base + t * np.array([dy, dx]))
    pts = np.concatenate(pts)
    y0, x0 = pts.min(0)
    y1, x1 = pts.max(0)
    extent = max(y1 - y0, x1 - x0, 1.0)
    s = (LONG_SIDE - PEN) / extent * SUPER
    n = SIZE * SUPER
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    py = np.round((pts[:, 0] - cy) * s + n / 2 - 0.5).astype(int)
    px = np.round((pts[:, 1] - cx) * s + n / 2 - 0.5).astype(int)
    ok = (py >= 0) & (py < n) & (px >= 0) & (px < n)
    ink = _stamp(np.unique(py[ok] * n + px[ok]), n)
    cover = ink.reshape(SIZE, SUPER, SIZE, SUPER).mean((1, 3))
    return (1.0 - cover).astype(np.float32)


def render_crop(mask):
    """A page crop's ink mask -> canonical 32x32, at the training glyphs' scale (CROP_SIDE)."""
    return render_mask(mask, CROP_SIDE)


def render_image(img, threshold=0.5, upsample=4, stretch=1.0):
    """A small grey glyph image (ink dark, [0, 1]) -> canonical 32x32 (upsampled first for a smooth
    skeleton; `stretch` widens it by that factor, as a broad hand writes)."""
    img = np.asarray(img, np.float32)
    if upsample > 1 or stretch != 1.0:
        img = ndi.zoom(img, (upsample, upsample * stretch), order=1)
    return render_mask(img < threshold)


def render_dataset(images, progress=None, stretches=None):
    """Canonical renderings of a stack of glyph images (n, H, W), each widened by its `stretches` entry."""
    out = np.empty((len(images), SIZE, SIZE), np.float32)
    for i, img in enumerate(images):
        out[i] = render_image(img, stretch=1.0 if stretches is None else stretches[i])
        if progress is not None:
            progress.update(1)
    return out


def wide_stretch(img, rng, aspect=(1.1, 1.7), most=2.0):
    """Horizontal stretch that makes glyph image `img` (ink dark) as wide as a random `aspect` times its
    height (at most `most`x, at least 1x): a single character written broad, which is not two."""
    ys, xs = np.nonzero(np.asarray(img) < 0.5)
    if len(ys) == 0:
        return 1.0
    own = (xs.max() - xs.min() + 1) / (ys.max() - ys.min() + 1)
    return float(np.clip(rng.uniform(*aspect) / own, 1.0, most))


def touching_pair(a, b, rng, upsample=4):
    """Ink mask of two glyph images (ink dark, [0, 1]) written side by side so close that they touch or
    overlap: what a box holding two characters looks like, for the classifier's 'not one character'
    class. b is scaled to a's height (+-15 %); the gap is -15..+5 % of that height."""
    ma = _trim(ndi.zoom(np.asarray(a, np.float32), upsample, order=1) < 0.5)
    mb = _trim(ndi.zoom(np.asarray(b, np.float32), upsample, order=1) < 0.5)
    if ma is None or mb is None:
        return ma if mb is None else mb
    h = ma.shape[0]
    mb = _trim(ndi.zoom(mb.astype(np.float32), h * rng.uniform(0.85, 1.15) / mb.shape[0], order=1) > 0.5)
    if mb is None:
        return ma
    gap = int(round(h * rng.uniform(-0.15, 0.05)))
    dy = int(round(h * rng.uniform(-0.1, 0.1)))
    x_b = max(ma.shape[1] + gap, 1)
    top = min(0, dy)
    out = np.zeros((max(h, dy + mb.shape[0]) - top, max(ma.shape[1], x_b + mb.shape[1])), bool)
    out[-top:-top + h, :ma.shape[1]] = ma
    out[dy - top:dy - top + mb.shape[0], x_b:x_b + mb.shape[1]] |= mb
    return out
