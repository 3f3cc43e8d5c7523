"""Task `ocr` (seed Q4): handwritten page photos -> text."""
import json
import os
import statistics
import time

import numpy as np
from PIL import Image, ImageDraw

from fastnn.data import DataError
from fastnn.data.formats import load_pages
from fastnn.hookspecs import hookimpl
from fastnn.tasks import Task, TaskError

from . import decode, fast_stats, glyph
from .classifier import get_classifier
from .imagefile import output_names, page_files
from .orientation import upright_page
from .repair import merge_split_characters, split_touching_characters
from .segment import MAX_WORK_SIDE, PageError, load_image


def add_arguments(p):
    p.add_argument("images", nargs="*", help="page images or folders of them: JPEG, PNG, HEIC (iPhone), WebP, "
                   "AVIF, TIFF, BMP, or PDFs (every page) (default: the sample pages in DATA/images)")
    p.add_argument("--model", default="auto", choices=["auto", "mlp", "cnn"],
                   help="classifier: numba MLP or torch CNN (auto: the best installed)")
    p.add_argument("--retrain", action="store_true", help="ignore the cached classifier and train anew")
    p.add_argument("--epochs", type=int, default=None, help="classifier training epochs (default per model)")
    p.add_argument("--no-context", action="store_true", help="per-character argmax, no word-level decoding")
    p.add_argument("--wordlist", default="auto",
                   help="word list for corrections: a path, 'auto' (system list plus common English words) or 'none'")
    p.add_argument("--no-word-frequencies", action="store_true",
                   help="treat all listed words as equally likely (default: weight by English word frequency "
                        "when the wordfreq package is installed)")


def crops(page):
    """Canonical 32x32 glyphs of every box, from the ink of the box's own components only."""
    out = np.empty((len(page.boxes), glyph.SIZE, glyph.SIZE), np.float32)
    for i, ((y1, x1, y2, x2), ids) in enumerate(zip(page.boxes, page.comp_ids)):
        out[i] = glyph.render_crop(np.isin(page.labels[y1:y2, x1:x2], ids))
    return out


def read_page(image, backend, context=True, wordlist=None, larger=None):
    """Image array -> (Page, text lines, probabilities), the page turned the way up its characters read
    (orientation.upright_page). larger: see segment.find_letters."""
    page, probs, one = upright_page(image, backend, crops, larger)
    if len(page.boxes) == 0:
        return page, [], np.zeros((0, 36))
    merge_split_characters(page, backend, probs, one)
    n_boxes = len(page.boxes)
    page.info["merged_pieces"] = int(n_boxes - sum(len(line) for line in page.lines))
    probs = split_touching_characters(page, backend, probs, one)
    page.info["split_boxes"] = int(len(page.boxes) - n_boxes)
    chosen = {}
    lines = decode.decode_page(probs, page.lines, page.spaces, context, wordlist,
                               page.info.get("cut_alternatives"), chosen, page.numbered)
    apply_cuts(page, chosen)
    return page, lines, probs


def apply_cuts(page, chosen):
    """Redraw the boxes of the groups the word decoder cut otherwise than the splitter ({group of box
    ids: index into page.info["cut_boxes"][group]}), so boxes.png and the count match the text."""
    boxes = list(page.boxes)
    for group, pick in chosen.items():
        pieces = page.info["cut_boxes"][group][pick]
        if len(pieces) == len(group) and all((page.boxes[k] == p).all() for k, p in zip(group, pieces)):
            continue
        for li, line in enumerate(page.lines):
            if group[0] in line:
                at = line.index(group[0])
                new = list(range(len(boxes), len(boxes) + len(pieces)))
                boxes.extend(pieces)
                page.comp_ids.extend(list(page.comp_ids[group[0]]) for _ in pieces)
                line[at:at + len(group)] = new
                page.spaces[li][at:at + len(group)] = [page.spaces[li][at]] + [False] * (len(pieces) - 1)
    page.boxes = np.array(boxes).reshape(-1, 4)


def draw_boxes(page, path):
    """Boxes on the (deskewed) page, line by line in alternating colours; a fresh image carries no EXIF."""
    im = Image.fromarray((np.clip(page.grey, 0, 1) * 255).astype(np.uint8)).convert("RGB")
    d = ImageDraw.Draw(im)
    colours = [(230, 30, 30), (30, 120, 230)]
    width = max(2, int(page.info.get("char_height", 40) // 20))
    for li, line in enumerate(page.lines):
        for k in line:
            y1, x1, y2, x2 = (int(v) for v in page.boxes[k])
            d.rectangle([x1, y1, x2, y2], outline=colours[li % 2], width=width)
    im.save(path, format="PNG")


def _truth_for(path, page, cache):
    """The ground_truth.json entry beside the file for it, or for its page ('scan.pdf#p2')."""
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in cache:
        gt = os.path.join(folder, "ground_truth.json")
        try:
            with open(gt) as fh:
                cache[folder] = json.load(fh)
        except (OSError, ValueError):
            cache[folder] = {}
    name = os.path.basename(path) + ("" if page is None else f"#p{page + 1}")
    entry = cache[folder].get(name)
    return entry if isinstance(entry, dict) else None


def run(ctx):
    a = ctx.args
    try:
        paths = page_files(a.images) if a.images else [(p, None, None) for p, _ in load_pages(ctx.data_root)]
    except DataError as exc:
        raise TaskError(f"{exc} (or name page images: fastnn run ocr IMAGE...)") from exc
    t_model = time.perf_counter()
    backend, model_info = get_classifier(ctx.data_root, a.model, progress=ctx.tqdm if ctx.progress else None,
                                         seed=ctx.seed, retrain=a.retrain, epochs=a.epochs)
    model_seconds = time.perf_counter() - t_model
    wordlist, wl_desc = None, "none (--no-context)"
    if not a.no_context:
        try:
            wordlist, wl_desc = decode.load_wordlist(a.wordlist, not a.no_word_frequencies)
        except OSError as exc:
            raise TaskError(str(exc)) from exc
    # warm the JIT/torch paths once so per-page seconds measure steady-state work
    backend.predict_proba(np.ones((1, 32, 32), np.float32))
    fast_stats.warm_up()
    pages, truth_cache, times, failures = {}, {}, [], 0
    for (path, number, problem), (name, stem) in zip(paths, output_names([p[:2] for p in paths])):
        t0 = time.perf_counter()
        try:
            if problem:
                raise PageError(problem)
            image = load_image(path, page=number)
            page, lines, _ = read_page(image, backend, not a.no_context, wordlist,
                                       larger=lambda: load_image(path, MAX_WORK_SIDE, number))
        except PageError as exc:
            print(f"{name}: skipped: {exc}")
            pages[name] = {"error": str(exc)}
            failures += 1
            continue
        times.append(time.perf_counter() - t0)
        text = "\n".join(lines)
        with open(ctx.path(f"{stem}.txt"), "w") as fh:
            fh.write(text + ("\n" if text else ""))
        draw_boxes(page, ctx.path(f"{stem}_boxes.png"))
        entry = {"text": text, "detected": int(sum(len(line) for line in page.lines)), "lines": len(lines),
                 "skew_deg": page.info.get("skew_deg"), "quarter_turns": page.info.get("quarter_turns", 0),
                 "seconds": times[-1]}
        truth = _truth_for(path, number, truth_cache)
        if truth:
            want = "".join(truth.get("stripped") or truth.get("lines", []))
            want = "".join(c for c in want.upper() if c.isalnum())
            entry.update({"expected": len(want), "char_acc": decode.char_accuracy(text, want),
                          "lines_expected": len(truth.get("lines", []))})
            if truth.get("lines"):  # words as written, spaces included
                entry["word_acc"] = decode.word_accuracy(text, " ".join(truth["lines"]))
        if not entry["detected"]:
            print(f"{name}: no characters found (blank page or no handwriting)")
        pages[name] = entry
        acc = f"  char_acc {entry['char_acc']:.3f}" if "char_acc" in entry else ""
        acc += f"  word_acc {entry['word_acc']:.3f}" if "word_acc" in entry else ""
        print(f"--- {name}: {entry['detected']} characters{acc}\n{text}")
    accs = [p["char_acc"] for p in pages.values() if "char_acc" in p]
    word_accs = [p["word_acc"] for p in pages.values() if "word_acc" in p]
    metrics = {"pages": pages, "mean_char_acc": float(np.mean(accs)) if accs else None,
               "mean_word_acc": float(np.mean(word_accs)) if word_accs else None,
               "seconds_per_page": statistics.mean(times) if times else None, "model": model_info["model"],
               "model_info": model_info, "model_load_seconds": model_seconds, "context": not a.no_context,
               "wordlist": wl_desc, "failed_pages": failures}
    ctx.write_metrics(metrics)
    if accs:
        words = f", word accuracy {metrics['mean_word_acc']:.3f}" if word_accs else ""
        print(f"mean character accuracy {metrics['mean_char_acc']:.3f}{words} over {len(accs)} page(s)")
    if times:
        print(f"{metrics['seconds_per_page']:.2f} s per page with the {model_info['model']} classifier")
    if failures == len(paths):
        raise TaskError("no page could be read")
    return metrics


@hookimpl
def register_tasks(register):
    register(Task("ocr", "read handwritten page photos (find letters, lines, classify, print text)",
                  run, add_arguments))
