"""The page pipeline's faster pieces against the slow obvious operations they replace: each must give the
same result bit for bit, so that pages read exactly as before."""
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi
from skimage import measure
from skimage.filters import apply_hysteresis_threshold

from fastnn_plugins.ocr import fast_stats, glyph, segment


def _samples(rng):
    yield rng.random(1)
    yield rng.random(2)
    yield rng.random(9000)  # above SORT_BELOW: binned passes
    yield rng.random(9001)
    yield rng.integers(0, 4, 20000) * 0.25  # heavy ties across the middle
    yield np.concatenate([np.zeros(5000), np.ones(5000)])  # the middle pair in two far bins
    yield rng.random(30000) ** 8  # piled near 0, a long tail
    yield np.concatenate([rng.normal(0.1, 1e-4, 50000), [1e6, -1e6]])  # one pile, far outliers
    yield 2.0 ** -rng.integers(0, 120, 40000)  # spread over many orders of magnitude
    yield np.full(7000, 0.3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_equals_numpy_bit_for_bit(rng, dtype):
    for vals in _samples(rng):
        vals = vals.astype(dtype)
        want, got = np.median(vals), fast_stats.median(vals)
        assert type(got) is type(want) and got == want, (vals.size, want, got)
        mad = np.abs(vals - want)  # as _paper_level uses it
        assert fast_stats.median(mad) == np.median(mad)


def test_median_leaves_what_is_not_finite_to_numpy():
    vals = np.array([0.1, np.nan, 0.3], np.float32)
    assert np.isnan(fast_stats.median(vals))
    assert fast_stats.median(np.array([0.2, np.inf, 0.4, 0.1])) == np.median([0.2, np.inf, 0.4, 0.1])


def _blocks(a, f):
    h, w = a.shape[0] // f * f, a.shape[1] // f * f
    return a[:h, :w].reshape(h // f, f, w // f, f)


def test_block_max_and_mostly_equal_reshaped_numpy(rng):
    for shape, f in (((37, 50), 4), ((64, 64), 8), ((9, 30), 1), ((100, 7), 3)):
        a = rng.random(shape).astype(np.float32)
        np.testing.assert_array_equal(fast_stats.block_max(a, f), _blocks(a, f).max((1, 3)))
        m = rng.random(shape) < rng.uniform(0.2, 0.8)
        np.testing.assert_array_equal(fast_stats.mostly(m, f), _blocks(m.astype(np.float32), f).mean((1, 3)) > 0.5)
    a = rng.random((16, 16))
    a[5, 6] = np.nan
    np.testing.assert_array_equal(fast_stats.block_max(a, 4), _blocks(a, 4).max((1, 3)))  # NaN stays


def test_hysteresis_threshold_equals_skimage(rng):
    for _ in range(10):
        image = ndi.gaussian_filter(rng.random((120, 160)), 2).astype(np.float32)
        lo, hi = np.sort(rng.uniform(0.46, 0.54, 2))
        np.testing.assert_array_equal(segment.hysteresis_threshold(image, lo, hi),
                                      apply_hysteresis_threshold(image, lo, hi))


def test_line_dilation_and_long_runs_equal_scipy_morphology(rng):
    mask = rng.random((60, 90)) < 0.3
    for n in (3, 5, 15):
        for axis, shape in ((0, (n, 1)), (1, (1, n))):
            np.testing.assert_array_equal(segment._dilate_line(mask, n, axis),
                                          ndi.binary_dilation(mask, structure=np.ones(shape, bool)))
    mask = rng.random((60, 90)) < 0.85
    for length in (2, 4, 16, 90, 91):  # even lengths shift the second filter's window
        want = ndi.binary_opening(mask, structure=np.ones((1, length), bool))
        np.testing.assert_array_equal(segment._long_runs(mask, length), want)


@pytest.mark.parametrize("angle", [0.3, -4.7, 12.0, -24.9])
def test_turned_frame_and_masks_equal_the_slow_turns(rng, angle):
    grey = rng.random((83, 121)).astype(np.float32)
    turned = segment._rotate(grey, angle, np.nan)
    inside = ~np.isnan(turned)
    ones = segment._rotate(np.ones(grey.shape, np.float32), angle, 0.0)
    np.testing.assert_array_equal(inside, ones > 0.5)
    np.testing.assert_array_equal(np.where(inside, turned, np.float32(1.0)), segment._rotate(grey, angle, 1.0))
    first, last = segment._photo_rows(inside)
    cols = np.arange(inside.shape[1])
    np.testing.assert_array_equal((cols >= first[:, None]) & (cols <= last[:, None]),
                                  ndi.binary_erosion(inside, iterations=2))
    paper = rng.random(grey.shape) < 0.7
    slow = Image.fromarray(paper.astype(np.float32), mode="F").rotate(angle, resample=Image.NEAREST,
                                                                      expand=True, fillcolor=0.0)
    np.testing.assert_array_equal(segment._rotate_mask(paper, angle), np.array(slow) > 0.5)


def test_pen_stamp_equals_distance_transform(rng):
    n = glyph.SIZE * glyph.SUPER
    for count in (1, 40, 600):
        points = np.unique(rng.integers(0, n * n, count))
        canvas = np.ones(n * n, bool)
        canvas[points] = False
        want = ndi.distance_transform_edt(canvas.reshape(n, n)) <= glyph.PEN * glyph.SUPER / 2
        np.testing.assert_array_equal(glyph._stamp(points, n), want)


def _long_thin_reference(lab, side):
    H, W = lab.shape
    found = []
    for p in measure.regionprops(lab):
        y1, x1, y2, x2 = p.bbox
        ring = y2 - y1 >= 0.5 * H and x2 - x1 >= 0.5 * W and p.area < 0.25 * (y2 - y1) * (x2 - x1)
        long = p.axis_major_length >= 0.1 * side and p.axis_major_length >= 6 * max(p.axis_minor_length, 1)
        if p.area >= 20 and (ring or long):
            found.append(p.label)
    return found


def test_long_thin_labels_equal_regionprops_on_every_mark(rng):
    for trial in range(8):
        mask = ndi.gaussian_filter(rng.random((150, 200)), rng.uniform(0.8, 2.5)) > 0.55
        for _ in range(4):  # rules and pens of all lengths
            y, x = rng.integers(0, 140), rng.integers(0, 100)
            mask[y:y + rng.integers(1, 4), x:x + rng.integers(10, 100)] = True
        if trial % 2:
            mask[5:145, 5:7] = mask[5:7, 5:195] = mask[143:145, 5:195] = True  # a border round a sheet
        lab, _ = ndi.label(mask)
        side = max(lab.shape) * rng.uniform(0.5, 1.5)
        assert list(segment._long_thin_labels(lab, side)) == _long_thin_reference(lab, side)
