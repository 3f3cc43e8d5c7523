"""Run a trained torch classifier on the ocr task's character boxes of the sample pages (EMNIST, seed Q7.1.4)."""
import numpy as np

from fastnn.data.formats import load_pages
from fastnn_plugins.ocr.decode import char_accuracy
from fastnn_plugins.ocr.segment import PageError, find_letters, load_image


def emnist_crop(page, k, size=28):
    """A box's own ink as an EMNIST-style glyph: bright ink, long side 20 px, centred in 28x28."""
    from PIL import Image
    y1, x1, y2, x2 = page.boxes[k]
    mask = np.isin(page.labels[y1:y2, x1:x2], page.comp_ids[k]).astype(np.float32)
    h, w = mask.shape
    s = 20.0 / max(h, w)
    im = Image.fromarray((mask * 255).astype(np.uint8)).resize((max(1, round(w * s)), max(1, round(h * s))),
                                                                Image.BILINEAR)
    out = np.zeros((size, size), np.float32)
    oy, ox = (size - im.height) // 2, (size - im.width) // 2
    out[oy:oy + im.height, ox:ox + im.width] = np.asarray(im, np.float32) / 255.0
    return out


def eval_pages(ctx, net, classes, dev):
    """Character accuracy per sample page (case folded: EMNIST's lower-case classes read as upper)."""
    from .common import predict
    results = {}
    for path, truth in load_pages(ctx.data_root):
        try:
            page = find_letters(load_image(path))
        except PageError as exc:
            results[path] = {"error": str(exc)}
            continue
        text_lines = []
        for line in page.lines:
            x = np.stack([emnist_crop(page, k) for k in line])[:, None]
            pred = predict(net, x, dev)
            text_lines.append("".join(classes[p].upper() for p in pred))
        text = "\n".join(text_lines)
        entry = {"text": text, "detected": sum(len(line) for line in page.lines)}
        if truth:
            entry["char_acc"] = char_accuracy(text, "".join(truth["stripped"]))
        results[path.rsplit("/", 1)[-1]] = entry
    return results
