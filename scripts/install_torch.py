"""Install the matching torch/torchvision pair (the `torch` extra) into the running interpreter.

A plain `pip install torch==2.13.0` on this kind of machine picks a local CPU wheel whose torchvision
0.28.0 does not import; the standard registry build of the pair works on CPU. So this ignores local
find-links and the machine's pip config. Does nothing if the pair already imports.
"""
import os
import subprocess
import sys

PAIR = ("torch==2.13.0", "torchvision==0.28.0")


def installed():
    code = "import torch, torchvision; assert torch.__version__.startswith('2.13.0'); " \
           "assert torchvision.__version__.startswith('0.28.0')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def main():
    if installed():
        print("torch 2.13.0 + torchvision 0.28.0 already installed")
        return 0
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
    env["PIP_CONFIG_FILE"] = os.devnull
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", *PAIR], env=env)
    if not installed():
        print("torch/torchvision installed but do not import together", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
