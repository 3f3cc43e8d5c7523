"""Page image files: which files a command line names, and reading one as RGB (JPEG, PNG, phones' HEIC...)."""
import os

import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 120_000_000
# what a folder named on the command line is searched for (other files there are left alone)
PAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".avif", ".tif", ".tiff", ".bmp")
# ISO base-media brands of HEIF stills and sequences (iPhones save HEIC by default); Pillow itself reads AVIF
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}


class PageError(ValueError):
    """The file is not a usable page image; the message says why."""


def page_files(names):
    """Command-line names -> [(page file, None)] or [(name, error message)], in order: a folder stands
    for its page images (PAGE_SUFFIXES, sorted, not recursive)."""
    out = []
    for name in names:
        if not os.path.isdir(name):
            out.append((name, None))  # load_image says what is wrong with it
            continue
        found = sorted(os.path.join(name, f) for f in os.listdir(name) if f.lower().endswith(PAGE_SUFFIXES))
        found = [f for f in found if os.path.isfile(f)]
        out += [(f, None) for f in found]
        if not found:
            out.append((name, f"a folder with no page images ({', '.join(PAGE_SUFFIXES)})"))
    return out


def output_stems(paths):
    """A distinct name for each page's outputs: its file name, and where two folders hold a file of the
    same name, the later one's folder name before it ('b/p.jpg' -> 'b_p.jpg')."""
    out, seen = [], set()
    for path in paths:
        name = os.path.basename(os.path.normpath(path))
        if name in seen:
            name = f"{os.path.basename(os.path.dirname(os.path.abspath(path)))}_{name}"
        base, n = name, 1
        while name in seen:
            n += 1
            name = f"{n}_{base}"
        seen.add(name)
        out.append(name)
    return out


def _head(path, n=12):
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""  # Image.open says why


def _is_heif(path):
    head = _head(path)
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def _heif_support(path):
    """Teach Pillow HEIF (pillow-heif) before opening one; a clear error where it is not installed."""
    try:
        import pillow_heif
    except ImportError as exc:
        raise PageError(f"{path}: a HEIC/HEIF photo, and reading one needs the pillow-heif package "
                        "(pip install pillow-heif), or save the photo as JPEG") from exc
    pillow_heif.register_heif_opener()  # idempotent; pillow-heif turns the pixels by the photo's
    # own rotation and resets its EXIF orientation, so exif_transpose below does not turn it twice


def _wide_grey(a, mode, path):
    """A 16-bit, 32-bit or float grey image (scans, TIFFs) -> float32 [0, 1]: Pillow's own conversion to
    8 bits clips them (a 16-bit scan would read as a white page, a [0, 1] float one as black)."""
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise PageError(f"{path}: a {mode} image with NaN or infinite pixels")
    peak = a.max()
    top = 1.0 if mode == "F" and peak <= 1.0 else 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else peak
    return np.clip(a / top, 0.0, 1.0).astype(np.float32)


def load_image(path, max_side):
    """Read an image file as RGB float32 [0, 1]; EXIF orientation applied; a JPEG over twice max_side
    is decoded at a reduced scale, still at least max_side. Raises PageError."""
    if not os.path.isfile(path):
        raise PageError(f"{path}: {'a folder, not an image' if os.path.isdir(path) else 'no such file'}")
    if _is_heif(path):
        _heif_support(path)
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                raise PageError(f"{path}: image is {im.width}x{im.height}, larger than {MAX_PIXELS // 10**6} MP")
            if im.format == "JPEG" and max(im.size) > 2 * max_side:
                # decode a JPEG at a reduced DCT scale: the page is worked on at max_side
                f = max_side / max(im.size)
                im.draft("RGB", (int(im.width * f) + 1, int(im.height * f) + 1))
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I", "F") or im.mode.startswith("I;16"):
                rgb = np.repeat(_wide_grey(np.asarray(im), im.mode, path)[..., None], 3, axis=2)
            else:
                if im.mode in ("RGBA", "LA", "P"):
                    im = im.convert("RGBA")
                    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
                    im = Image.alpha_composite(white, im)
                rgb = np.asarray(im.convert("RGB"), np.float32) / 255.0
    except PageError:
        raise
    except Image.DecompressionBombError as exc:
        raise PageError(f"{path}: image too large ({exc})") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        if _head(path, 4) == b"%PDF":
            raise PageError(f"{path}: a PDF, not an image: save its pages as images (JPEG or PNG)") from exc
        raise PageError(f"{path}: not a readable image ({exc.__class__.__name__}: {exc})") from exc
    if rgb.shape[0] < 16 or rgb.shape[1] < 16:
        raise PageError(f"{path}: image is only {rgb.shape[1]}x{rgb.shape[0]} pixels")
    return rgb
