"""Group ocr-page: fastnn vs Tesseract (subprocess) on the four sample pages: accuracy and seconds per page."""
import os
import shutil
import subprocess

import numpy as np
import pytest

from fastnn.data import resolve_root
from fastnn.data.formats import load_pages
from fastnn_plugins.ocr import decode
from fastnn_plugins.ocr.classifier import get_classifier
from fastnn_plugins.ocr.segment import load_image
from fastnn_plugins.ocr.task import read_page

ROOT = resolve_root(None)
PAGES = load_pages(ROOT) if os.path.isdir(os.path.join(ROOT, "images")) else []


def _truth(t):
    return "".join(t["stripped"])


def _words(t):
    return " ".join(t["lines"])


@pytest.fixture(scope="module")
def backend():
    return get_classifier(ROOT, "auto")[0]


@pytest.fixture(scope="module")
def wordlist():
    """The task's default: the system word list when one is installed."""
    path = decode.default_wordlist()
    return decode.WordList(path) if path else None


@pytest.mark.parametrize("page", PAGES, ids=[os.path.basename(p) for p, _ in PAGES])
def test_ocr_fastnn(benchmark, backend, wordlist, page):
    path, truth = page
    benchmark.group, benchmark.name = f"ocr-page-{os.path.basename(path)}", "fastnn"
    image = load_image(path)
    read_page(image, backend, wordlist=wordlist)  # warm
    _, lines, _ = benchmark.pedantic(lambda: read_page(load_image(path), backend, wordlist=wordlist), rounds=3)
    benchmark.extra_info.update(char_acc=decode.char_accuracy("".join(lines), _truth(truth)),
                                word_acc=decode.word_accuracy("\n".join(lines), _words(truth)),
                                wordlist=wordlist is not None)


@pytest.mark.parametrize("page", PAGES, ids=[os.path.basename(p) for p, _ in PAGES])
def test_ocr_tesseract(benchmark, page):
    if not shutil.which("tesseract"):
        pytest.skip("tesseract not installed (apt-get install tesseract-ocr)")
    path, truth = page
    benchmark.group, benchmark.name = f"ocr-page-{os.path.basename(path)}", "tesseract"
    accs, word_accs = {}, {}
    for psm in (3, 4, 6, 11, 12):  # report its best page-segmentation mode, as the figures do
        out = subprocess.run(["tesseract", path, "-", "--psm", str(psm)], capture_output=True, text=True)
        accs[psm] = decode.char_accuracy(out.stdout, _truth(truth))
        word_accs[psm] = decode.word_accuracy(out.stdout, _words(truth))
    best = max(accs, key=accs.get)
    benchmark.pedantic(lambda: subprocess.run(["tesseract", path, "-", "--psm", str(best)], capture_output=True),
                       rounds=3)
    benchmark.extra_info.update(char_acc=accs[best], word_acc=word_accs[best], psm=best, all_psm=accs)


def test_pages_present():
    if not PAGES:
        pytest.skip(f"sample pages not found under {ROOT}")
    assert len(PAGES) == 4 and np.all([t is not None for _, t in PAGES])


def test_ocr_fastnn_robustness_set(benchmark, backend, wordlist):
    """Unseen pages: synthetic photos from held-out writers + the sample pages re-photographed on a desk."""
    from fastnn_plugins.ocr import synth
    pages = synth.make_pages(ROOT, 12, seed=7, rephotograph_from=[(p, t) for p, t in PAGES])
    benchmark.group, benchmark.name = "ocr-robustness", "fastnn"
    accs = {}

    def read_all():
        for name, img, lines in pages:
            _, text, _ = read_page(img, backend, wordlist=wordlist)
            accs[name] = decode.char_accuracy("".join(text), "".join(lines))
    benchmark.pedantic(read_all, rounds=1)
    benchmark.extra_info.update(char_acc=float(np.mean(list(accs.values()))), pages=accs,
                                wordlist=wordlist is not None)
