"""Page files as users bring them: phones' HEIC photos, PDFs, folders of pages, clashing file names."""
import json
import os
import sys

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageDraw

from fastnn import cli
from fastnn_plugins.ocr import imagefile, segment, task
from tests.test_ocr import _ConstantBackend

pillow_heif.register_heif_opener()  # to write the test photos


def _page(size=(360, 240)):
    """A smooth test card: a paper gradient with dark block letters (HEIC is lossy; noise would not survive)."""
    w, h = size
    x = np.linspace(0.75, 0.95, w, dtype=np.float32)
    im = Image.fromarray((np.tile(x, (h, 1))[..., None].repeat(3, -1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for k in range(4):  # a left-right asymmetric pattern, so a turn would show
        draw.rectangle([30 + 70 * k, 60, 50 + 70 * k, 60 + 25 * (k + 1)], fill=(30, 30, 40))
    return im


def _exif(orientation):
    ex = Image.Exif()
    ex[0x0112] = orientation
    return ex.tobytes()


def test_a_heic_photo_reads_as_its_png_twin(tmp_path):
    im = _page()
    im.save(tmp_path / "p.png")
    im.save(tmp_path / "p.heic", quality=95)
    png = segment.load_image(str(tmp_path / "p.png"))
    heic = segment.load_image(str(tmp_path / "p.heic"))
    assert heic.shape == png.shape == (240, 360, 3)
    assert np.abs(heic - png).mean() < 0.02  # lossy, but the same page
    # a HEIC saved under another name is found by its content (this module registered the opener for
    # writing, so the missing-package test below is the one that shows the reader needs the sniffing)
    (tmp_path / "renamed.jpg").write_bytes((tmp_path / "p.heic").read_bytes())
    assert imagefile._is_heif(str(tmp_path / "renamed.jpg")) and not imagefile._is_heif(str(tmp_path / "p.png"))
    assert np.array_equal(segment.load_image(str(tmp_path / "renamed.jpg")), heic)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_heic_photo_turned_by_the_phone_reads_upright_as_a_jpeg_does(tmp_path, orientation):
    im = _page()
    im.save(tmp_path / "p.jpg", quality=95, exif=_exif(orientation))
    im.save(tmp_path / "p.heic", quality=95, exif=_exif(orientation))
    jpg = segment.load_image(str(tmp_path / "p.jpg"))
    heic = segment.load_image(str(tmp_path / "p.heic"))
    assert jpg.shape == heic.shape  # turned once, not twice
    assert jpg.shape[:2] == ((360, 240) if orientation in (6, 8) else (240, 360))
    assert np.abs(heic - jpg).mean() < 0.03


def test_a_heic_photo_without_pillow_heif_says_what_to_install(tmp_path, monkeypatch):
    _page().save(tmp_path / "p.heic", quality=90)
    (tmp_path / "renamed.jpg").write_bytes((tmp_path / "p.heic").read_bytes())
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import pillow_heif -> ImportError
    for name in ("p.heic", "renamed.jpg"):  # known by its content, not its name
        with pytest.raises(segment.PageError, match="pip install pillow-heif"):
            segment.load_image(str(tmp_path / name))


def test_load_image_names_a_missing_file_and_a_folder(tmp_path):
    with pytest.raises(segment.PageError, match="no such file"):
        segment.load_image(str(tmp_path / "missing.jpg"))
    with pytest.raises(segment.PageError, match="a folder, not an image"):
        segment.load_image(str(tmp_path))


def test_a_folder_stands_for_its_page_images(tmp_path):
    pages = tmp_path / "pages"
    (pages / "sub").mkdir(parents=True)
    for name in ("b.PNG", "a.jpg", "c.heic", "notes.txt", "sub/d.jpg"):
        (pages / name).write_bytes(b"")
    (tmp_path / "empty").mkdir()
    (tmp_path / "only_a_folder" / "photos.jpg").mkdir(parents=True)  # named like a page, but a folder
    got = imagefile.page_files([str(pages), str(tmp_path / "x.jpg"), str(tmp_path / "empty"),
                                str(tmp_path / "only_a_folder")])
    assert got[:4] == [(str(pages / n), None, None) for n in ("a.jpg", "b.PNG", "c.heic")] + [
        (str(tmp_path / "x.jpg"), None, None)]
    assert [g[0] for g in got[4:]] == [str(tmp_path / "empty"), str(tmp_path / "only_a_folder")]
    assert all("no page images" in g[2] for g in got[4:])
    assert len(got) == 6  # notes.txt and the subfolder's page are not pages of this folder


def test_pages_of_the_same_name_in_two_folders_keep_their_own_outputs():
    got = imagefile.output_names([(n, None) for n in ("a/p.jpg", "b/p.jpg", "b/q.jpg", "b/p.jpg", "c/")])
    assert got == [("p.jpg", "p"), ("b_p.jpg", "b_p"), ("q.jpg", "q"), ("2_b_p.jpg", "2_b_p"), ("c", "c")]


def test_the_pages_of_a_document_and_files_of_one_stem_keep_their_own_outputs():
    # an iPhone export holds IMG_1.HEIC beside IMG_1.JPG; a scan's pages; two folders' scan.pdf
    entries = [("a/IMG_1.HEIC", None), ("a/IMG_1.JPG", None), ("a/scan.pdf", 0), ("a/scan.pdf", 1),
               ("b/scan.pdf", 0), ("b/scan.pdf", 1), ("a/scan_p2.png", None)]
    assert imagefile.output_names(entries) == [
        ("IMG_1.HEIC", "IMG_1"), ("IMG_1.JPG", "IMG_1_JPG"), ("scan.pdf#p1", "scan_p1"), ("scan.pdf#p2", "scan_p2"),
        ("b_scan.pdf#p1", "b_scan_p1"), ("b_scan.pdf#p2", "b_scan_p2"), ("scan_p2.png", "scan_p2_png")]


def test_run_ocr_on_folders(tmp_path, monkeypatch):
    for folder in ("monday", "tuesday"):
        (tmp_path / folder).mkdir()
        _page().save(tmp_path / folder / "page.jpg")
    (tmp_path / "tuesday" / "scan.heic").write_bytes(b"\x00\x00\x00\x18ftypheic broken")
    (tmp_path / "nothing").mkdir()
    monkeypatch.setattr(task, "get_classifier", lambda *a, **k: (_ConstantBackend(), {"model": "constant"}))
    out = tmp_path / "out"
    args = [str(tmp_path / f) for f in ("monday", "tuesday", "nothing")]
    assert cli.main(["run", "ocr", *args, "--out", str(out), "--no-progress", "--wordlist", "none"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["pages"]) == {"page.jpg", "tuesday_page.jpg", "scan.heic", "nothing"}
    found = m["pages"]["page.jpg"]["detected"]
    assert found >= 3 and m["pages"]["tuesday_page.jpg"]["detected"] == found  # the same page twice
    assert "not a readable image" in m["pages"]["scan.heic"]["error"]
    assert "no page images" in m["pages"]["nothing"]["error"]
    assert m["failed_pages"] == 2
    for stem in ("page", "tuesday_page"):
        assert (out / f"{stem}.txt").read_text().replace(" ", "").strip() == "A" * found
        assert os.path.exists(out / f"{stem}_boxes.png")


def test_sixteen_bit_and_float_scans_read_as_their_8_bit_twins(tmp_path):
    grey = np.asarray(_page().convert("L"), np.float64) / 255.0  # the reference, 8 bits
    Image.fromarray((grey * 65535).round().astype(np.uint16)).save(tmp_path / "p16.png")
    Image.fromarray(grey.astype(np.float32)).save(tmp_path / "pf.tif")
    Image.fromarray((grey * 255).astype(np.float32)).save(tmp_path / "pf255.tif")
    for name in ("p16.png", "pf.tif", "pf255.tif"):
        got = segment.load_image(str(tmp_path / name))
        assert got.shape == grey.shape + (3,)
        assert np.abs(got[..., 0] - grey).max() < 1e-4, name  # Pillow's own 8-bit conversion clips these
    bad = grey.astype(np.float32)
    bad[5, 5] = np.nan
    Image.fromarray(bad).save(tmp_path / "nan.tif")
    with pytest.raises(segment.PageError, match="NaN"):
        segment.load_image(str(tmp_path / "nan.tif"))


def _pdf(path, pages, dpi=100):
    """A PDF of these Pillow images, one a page, as a scanner app writes one (an image per page)."""
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=dpi)


def test_the_pages_of_a_pdf_read_as_their_images(tmp_path):
    card, blank = _page((600, 400)), Image.new("RGB", (400, 600), (250, 250, 250))
    _pdf(tmp_path / "scan.pdf", [card, blank])
    assert imagefile.page_files([str(tmp_path / "scan.pdf")]) == [
        (str(tmp_path / "scan.pdf"), 0, None), (str(tmp_path / "scan.pdf"), 1, None)]
    first = segment.load_image(str(tmp_path / "scan.pdf"), 600, page=0)
    assert first.shape == (400, 600, 3)  # drawn with its longer side at the working size asked for
    assert np.abs(first - np.asarray(card, np.float32) / 255).mean() < 0.01  # the page as scanned
    second = segment.load_image(str(tmp_path / "scan.pdf"), 1200, page=1)
    assert second.shape == (1200, 800, 3) and abs(second.mean() - 250 / 255) < 0.01
    with pytest.raises(segment.PageError, match="no page 3"):
        segment.load_image(str(tmp_path / "scan.pdf"), 600, page=2)


def test_a_damaged_pdf_or_a_missing_reader_is_named(tmp_path, monkeypatch):
    (tmp_path / "scan.jpg").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    with pytest.raises(segment.PageError, match="a PDF that cannot be read"):
        segment.load_image(str(tmp_path / "scan.jpg"))
    [(name, page, problem)] = imagefile.page_files([str(tmp_path / "scan.jpg")])
    assert page is None and "a PDF that cannot be read" in problem
    _pdf(tmp_path / "ok.pdf", [_page()])
    monkeypatch.setitem(sys.modules, "pypdfium2", None)
    with pytest.raises(segment.PageError, match="pip install pypdfium2"):
        segment.load_image(str(tmp_path / "ok.pdf"))


def test_the_frames_of_a_multi_page_tiff_are_its_pages(tmp_path):
    first, second = _page(), _page().transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    first.save(tmp_path / "fax.tif", save_all=True, append_images=[second])
    first.save(tmp_path / "one.tif")
    got = imagefile.page_files([str(tmp_path / "fax.tif"), str(tmp_path / "one.tif")])
    assert [g[1] for g in got] == [0, 1, None]
    for k, want in enumerate((first, second)):
        img = segment.load_image(str(tmp_path / "fax.tif"), page=k)
        assert np.array_equal(img, np.asarray(want, np.float32) / 255)


def test_run_ocr_on_a_pdf_and_its_ground_truth(tmp_path, monkeypatch):
    _pdf(tmp_path / "scan.pdf", [_page(), Image.new("RGB", (360, 240), (245, 245, 245)), _page()])
    (tmp_path / "ground_truth.json").write_text(json.dumps({"scan.pdf#p3": {"lines": ["AAAA"]}}))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 nothing else")
    monkeypatch.setattr(task, "get_classifier", lambda *a, **k: (_ConstantBackend(), {"model": "constant"}))
    out = tmp_path / "out"
    args = [str(tmp_path / "scan.pdf"), str(tmp_path / "broken.pdf")]
    assert cli.main(["run", "ocr", *args, "--out", str(out), "--no-progress", "--wordlist", "none"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["pages"]) == {"scan.pdf#p1", "scan.pdf#p2", "scan.pdf#p3", "broken.pdf"}
    found = m["pages"]["scan.pdf#p1"]["detected"]
    assert found >= 3 and m["pages"]["scan.pdf#p3"]["detected"] == found  # the same card twice
    assert m["pages"]["scan.pdf#p2"]["detected"] == 0  # the blank page: read, nothing found
    assert m["pages"]["scan.pdf#p3"]["expected"] == 4 and "expected" not in m["pages"]["scan.pdf#p1"]
    assert "cannot be read" in m["pages"]["broken.pdf"]["error"] and m["failed_pages"] == 1
    assert (out / "scan_p3.txt").read_text().replace(" ", "").strip() == "A" * found
    assert os.path.exists(out / "scan_p1_boxes.png") and os.path.exists(out / "scan_p2.txt")
