"""Page image files: which pages a command line names, and reading one as RGB (JPEG, PNG, phones' HEIC,
the pages of a PDF or a multi-page TIFF)."""
import os

import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 120_000_000
# what a folder named on the command line is searched for (other files there are left alone)
PAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".avif", ".tif", ".tiff", ".bmp", ".pdf")
# ISO base-media brands of HEIF stills and sequences (iPhones save HEIC by default); Pillow itself reads AVIF
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}


class PageError(ValueError):
    """The file is not a usable page image; the message says why."""


def page_files(names):
    """Command-line names -> [(file, page, None)] or [(name, None, error message)], in order: a folder
    stands for its page files (PAGE_SUFFIXES, sorted, not recursive), a PDF or a multi-page TIFF for
    each of its pages (page 0, 1, ...; None for a file of one page)."""
    out = []
    for name in names:
        found = [name]
        if os.path.isdir(name):
            found = sorted(os.path.join(name, f) for f in os.listdir(name) if f.lower().endswith(PAGE_SUFFIXES))
            found = [f for f in found if os.path.isfile(f)]
            if not found:
                out.append((name, None, f"{name}: a folder with no page images ({', '.join(PAGE_SUFFIXES)})"))
        for f in found:
            try:
                n = page_count(f)
            except PageError as exc:
                out.append((f, None, str(exc)))
                continue
            out += [(f, None, None)] if n == 1 else [(f, k, None) for k in range(n)]
    return out


def page_count(path):
    """Pages in a file: a PDF's pages, a TIFF's frames, else 1 (load_image says what is wrong with a
    file that is no image). Raises PageError for a PDF that cannot be read."""
    if _head(path, 5) == b"%PDF-":
        n = len(_pdf(path))
        if n == 0:
            raise PageError(f"{path}: a PDF with no pages")
        return n
    try:
        with Image.open(path) as im:
            return getattr(im, "n_frames", 1) if im.format == "TIFF" else 1
    except Exception:  # noqa: BLE001 - not an image: load_image names the problem for this page
        return 1


def output_names(entries):
    """A distinct (name, stem) for the metrics and outputs of each (file, page): the file's name and
    stem ('p.jpg', 'p'); where two folders hold a file of the same name, the later one's folder name
    before it ('b_p.jpg'); a page of a document, its number after it ('scan.pdf#p2', 'scan_p2'); a
    stem already taken (p.jpg beside p.png), the suffix in it ('p_png')."""
    out, names, stems, docs = [], set(), set(), {}
    for path, page in entries:
        if page and path in docs:  # a later page of the document just named
            name = docs[path]
        else:
            name = os.path.basename(os.path.normpath(path))
            if name in names:
                name = f"{os.path.basename(os.path.dirname(os.path.abspath(path)))}_{name}"
            name = _unused(name, names, "{n}_{name}")
            names.add(name)
            docs[path] = name
        root, ext = os.path.splitext(name)
        stem = root if page is None else f"{root}_p{page + 1}"
        if stem in stems and ext:
            stem = f"{stem}_{ext[1:]}"
        stem = _unused(stem, stems, "{name}_{n}")
        stems.add(stem)
        out.append((name if page is None else f"{name}#p{page + 1}", stem))
    return out


def _unused(name, taken, numbered):
    """name, or the first of numbered.format(n=2, 3, ..., name=name) not in taken."""
    out, n = name, 1
    while out in taken:
        n += 1
        out = numbered.format(n=n, name=name)
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


def _pdfium(path):
    """pypdfium2, or a clear error naming it."""
    try:
        import pypdfium2
    except ImportError as exc:
        raise PageError(f"{path}: a PDF, and reading one needs the pypdfium2 package (pip install pypdfium2), "
                        "or save its pages as images (JPEG or PNG)") from exc
    return pypdfium2


def _pdf(path):
    """The PDF document; a clear error where it cannot be read."""
    pdfium = _pdfium(path)
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise PageError(f"{path}: a PDF that cannot be read ({exc}): damaged, or locked by a password") from exc


def _pdf_page(path, page, max_side):
    """Page `page` (from 0) of a PDF drawn on white, its longer side max_side px: a scanner app's page
    photo is drawn at the size a photo is worked on. The page's own turn (/Rotate) is applied."""
    pdfium = _pdfium(path)
    doc = _pdf(path)
    try:
        if not 0 <= page < len(doc):
            raise PageError(f"{path}: no page {page + 1} (the PDF has {len(doc)})")
        w, h = doc[page].get_size()
        if min(w, h) <= 0:
            raise PageError(f"{path}: page {page + 1} has no area")
        return doc[page].render(scale=max_side / max(w, h)).to_pil().convert("RGB")
    except pdfium.PdfiumError as exc:
        raise PageError(f"{path}: page {page + 1} of the PDF cannot be drawn ({exc})") from exc
    finally:
        doc.close()


def load_image(path, max_side, page=None):
    """Read an image file, or page `page` (from 0) of a PDF or a multi-page TIFF, as RGB float32 [0, 1];
    EXIF orientation applied; a JPEG over twice max_side is decoded at a reduced scale, still at least
    max_side; a PDF page is drawn with its longer side max_side. Raises PageError."""
    if not os.path.isfile(path):
        raise PageError(f"{path}: {'a folder, not an image' if os.path.isdir(path) else 'no such file'}")
    if _head(path, 5) == b"%PDF-":
        return _checked_size(path, np.asarray(_pdf_page(path, page or 0, max_side), np.float32) / 255.0)
    if _is_heif(path):
        _heif_support(path)
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                raise PageError(f"{path}: image is {im.width}x{im.height}, larger than {MAX_PIXELS // 10**6} MP")
            if page:
                im.seek(page)  # a multi-page TIFF's frame
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
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise PageError(f"{path}: not a readable image ({exc.__class__.__name__}: {exc})") from exc
    return _checked_size(path, rgb)


def _checked_size(path, rgb):
    if rgb.shape[0] < 16 or rgb.shape[1] < 16:
        raise PageError(f"{path}: image is only {rgb.shape[1]}x{rgb.shape[0]} pixels")
    return rgb
