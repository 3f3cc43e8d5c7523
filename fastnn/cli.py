"""Command line: fastnn list | plugins | run TASK | data make-pages."""
import argparse
import json
import os
import sys
import time

from . import __version__
from .data import DataError, resolve_root
from .plugins import load_plugins, plugin_errors
from .seeding import seed_everything
from .tasks import Context, TaskError, collect_tasks


def _tasks():
    return collect_tasks(load_plugins())


def cmd_list(argv):
    p = argparse.ArgumentParser(prog="fastnn list", description="List the tasks you can run.")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    rows = [{"task": t.name, "plugin": t.plugin, "description": t.description}
            for t in sorted(_tasks().values(), key=lambda t: t.name)]
    if a.json:
        print(json.dumps(rows, indent=2))
    else:
        width = max([len(r["task"]) for r in rows] + [4])
        for r in rows:
            print(f"{r['task']:<{width}}  {r['description']}  [{r['plugin']}]")
    return 0


def cmd_plugins(argv):
    p = argparse.ArgumentParser(prog="fastnn plugins", description="Show loaded plugins.")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    pm = load_plugins()
    dists = {plugin: dist for plugin, dist in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in pm.list_name_plugin():
        dist = dists.get(plugin)
        rows.append({"name": name, "version": getattr(dist, "version", None) or __version__,
                     "hooks": sorted(h.name for h in pm.get_hookcallers(plugin) or [])})
    rows += [{"name": n, "error": e} for n, e in plugin_errors.items()]
    if a.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            detail = f"ERROR {r['error']}" if "error" in r else f"{r['version']}  {', '.join(r['hooks'])}"
            print(f"{r['name']}  {detail}")
    return 0


def _run_parser(task):
    p = argparse.ArgumentParser(prog=f"fastnn run {task.name}", description=task.description)
    p.add_argument("--data", help="data root (default: $FASTNN_DATA, else ../shared/data)")
    p.add_argument("--out", help="output folder (default: a new folder under runs/)")
    p.add_argument("--seed", type=int, default=0, help="seed for numpy, numba and torch (default 0)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    if task.add_arguments:
        task.add_arguments(p)
    return p


def _fresh_out(name):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join("runs", f"{name}-{stamp}")
    out, i = base, 1
    while os.path.exists(out):
        i += 1
        out = f"{base}-{i}"
    return out


def cmd_run(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: fastnn run TASK [options]   (fastnn list shows the tasks; fastnn run TASK --help)")
        return 0 if argv else 2
    tasks = _tasks()
    name = argv[0]
    if name not in tasks:
        known = ", ".join(sorted(tasks)) or "(none)"
        print(f"fastnn: unknown task {name!r}. Known tasks: {known}", file=sys.stderr)
        return 2
    task = tasks[name]
    args = _run_parser(task).parse_args(argv[1:])
    out = args.out or _fresh_out(name)
    os.makedirs(out, exist_ok=True)
    try:
        root = resolve_root(args.data)
        ctx = Context(args=args, out=out, data_root=root, seed=args.seed,
                      rng=seed_everything(args.seed), progress=not args.no_progress)
        task.run(ctx)
    except (TaskError, DataError) as exc:
        print(f"fastnn run {name}: {exc}", file=sys.stderr)
        return 1
    print(f"results in {out}")
    return 0


def cmd_data(argv):
    p = argparse.ArgumentParser(prog="fastnn data", description="Data utilities.")
    sub = p.add_subparsers(dest="what", required=True)
    mk = sub.add_parser("make-pages", help="generate synthetic handwritten pages with ground truth")
    mk.add_argument("--data", help="data root")
    mk.add_argument("--out", required=True)
    mk.add_argument("--n", type=int, default=8, help="number of pages")
    mk.add_argument("--seed", type=int, default=0)
    mk.add_argument("--rephotograph", action="store_true",
                    help="also re-photograph the sample pages (rotation, perspective, dark desk)")
    mk.add_argument("--touching", action="store_true",
                    help="cramped writing: neighbouring letters of a word often touch")
    mk.add_argument("--degrade", choices=["low-res", "shadow", "blur", "dim", "crease", "glare", "turned"],
                    help="as phones take and pass photos on: low-res (40-55 %% size, JPEG 55-80), a soft shadow "
                         "across, blur (sigma 1.2-2.5 px), dim light (darker, grainy, JPEG 50-70) or a "
                         "crease (a sheet folded in three: two thin dark lines across the writing), a glare (a "
                         "flash's bright spot washing the ink out) or turned (a quarter or half turn round, no "
                         "EXIF tag to say so)")
    mk.add_argument("--grid", action="store_true", help="squared paper: a faint grid under the writing")
    mk.add_argument("--dense", action="store_true",
                    help="a full sheet: 12-24 lines of ordinary-sized writing (characters 1.2-2.1 %% of its height)")
    mk.add_argument("--punctuation", action="store_true",
                    help="write punctuation too: . , ' \" - ! ? : ; (not in the 36-class text: to be left out)")
    mk.add_argument("--underline", action="store_true",
                    help="underline each page's first line and some others, the line often touching the letters")
    mk.add_argument("--closeup", action="store_true",
                    help="photograph one or two lines of each page close up, the frame cutting the lines "
                         "above and below")
    mk.add_argument("--fonts", nargs="+", metavar="FONT",
                    help="write each page in one of these TrueType/OpenType fonts in turn instead of held-out "
                         "handwriting: hands the classifier never saw (e.g. /usr/share/fonts/truetype/breip/*.ttf)")
    mk.add_argument("--sizes", action="store_true",
                    help="write each page's lines in sizes of their own: a heading 1.5-2x the writing on 6 pages "
                         "in 10, the other lines 0.7-1.3x each")
    mk.add_argument("--words", metavar="FILE",
                    help="write words drawn from this text file (whitespace-separated) instead of the built-in list")
    a = p.parse_args(argv)
    from fastnn_plugins.ocr.synth import make_pages_command
    try:
        make_pages_command(resolve_root(a.data), a.out, a.n, a.seed, a.rephotograph, a.touching, a.degrade,
                           a.grid, a.words, a.dense, a.punctuation, a.underline, a.closeup, a.fonts, a.sizes)
    except (DataError, ValueError) as exc:
        print(f"fastnn data: {exc}", file=sys.stderr)
        return 1
    return 0


COMMANDS = {"list": cmd_list, "plugins": cmd_plugins, "run": cmd_run, "data": cmd_data}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: fastnn {list,plugins,run,data} ...\n\n"
              "  list [--json]        tasks you can run\n"
              "  plugins [--json]     loaded plugins and their hooks\n"
              "  run TASK [options]   run a task (fastnn run TASK --help)\n"
              "  data make-pages      synthetic handwritten pages for OCR evaluation")
        return 0 if argv else 2
    if argv[0] == "--version":
        print(__version__)
        return 0
    if argv[0] not in COMMANDS:
        print(f"fastnn: unknown command {argv[0]!r}; choose from {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])
