"""Run each framework's benchmarks in its own process (torch's thread pool must not share a process
with the others), once on 1 thread and once on 2, then print one table per group with fastnn's ratio to
the best peer at either thread count (numpy's BLAS, for one, is faster on 1 thread at these shapes).

    python benchmarks/run.py [--out DIR]     # tox -e bench runs this
"""
import argparse
import json
import os
import subprocess
import sys

FRAMEWORKS = {  # process name -> pytest -k expression
    "fastnn": "fastnn and not ocr",
    "numpy": "numpy",
    "torch": "torch",
    "sklearn": "sklearn",
    "ocr-fastnn": "ocr_fastnn",
    "ocr-tesseract": "ocr_tesseract",
}


def run(out):
    os.makedirs(out, exist_ok=True)
    results = []
    for name, expr in FRAMEWORKS.items():
        # whole-page OCR jobs get both cores, as a user's run would; the core groups run on 1 and on 2
        for threads in ((2,) if name.startswith("ocr") else (1, 2)):
            path = os.path.join(out, f"{name}-t{threads}.json")
            env = dict(os.environ, FASTNN_BENCH_FRAMEWORK=name, FASTNN_BENCH_THREADS=str(threads))
            cmd = [sys.executable, "-m", "pytest", os.path.dirname(os.path.abspath(__file__)), "-q", "-k", expr,
                   "-p", "no:cacheprovider", f"--benchmark-json={path}", "--benchmark-disable-gc"]
            subprocess.run(cmd, env=env, check=False)
            if os.path.exists(path):
                with open(path) as fh:
                    results += json.load(fh)["benchmarks"]
    return results


def table(results):
    groups = {}
    for b in results:
        groups.setdefault(b["group"], []).append(b)
    lines = []
    for group, rows in sorted(groups.items()):
        # a peer timed on a subset is compared by its time extrapolated to the full job
        peers = [r.get("extra_info", {}).get("extrapolated_full_seconds") or r["stats"]["median"]
                 for r in rows if r["name"] != "fastnn"]
        best = min(peers) if peers else None
        lines.append(f"\n{group}")
        for r in sorted(rows, key=lambda r: r["stats"]["median"]):
            med = r["stats"]["median"]
            extra = r.get("extra_info", {})
            full = extra.get("extrapolated_full_seconds")
            ratio = f"  {med / best:.4g}x best peer" if r["name"] == "fastnn" and best else ""
            note = f"  (full check extrapolated: {full:.2f} s)" if full else ""
            comp = f"  compile {extra['compile_seconds']:.1f} s" if "compile_seconds" in extra else ""
            acc = f"  char_acc {extra['char_acc']:.3f}" if "char_acc" in extra else ""
            acc += f"  word_acc {extra['word_acc']:.3f}" if "word_acc" in extra else ""
            label = f"{r['name']} ({extra.get('threads', '?')}t)"
            lines.append(f"  {label:<20} median {med * 1e3:9.2f} ms{ratio}{note}{comp}{acc}")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".benchmarks/latest")
    a = ap.parse_args()
    res = run(a.out)
    text = table(res)
    print(text)
    with open(os.path.join(a.out, "summary.txt"), "w") as fh:
        fh.write(text + "\n")
