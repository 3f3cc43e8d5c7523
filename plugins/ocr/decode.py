"""From per-box class probabilities to text: word-level letter/digit consistency, optional word list."""
import os

import numpy as np

from fastnn.data import CLASSES36

N_LETTERS = 26
SWITCH_PENALTY = np.log(30.0)  # cost of a character whose type (letter/digit) differs from its word's


def levenshtein(a, b):
    """Edit distance (insert, delete, substitute all cost 1)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(pred, truth):
    """1 - Levenshtein(pred, truth) / len(truth) on A-Z/0-9 only (may be negative for long garbage)."""
    keep = set(CLASSES36)
    p = "".join(c for c in pred.upper() if c in keep)
    t = "".join(c for c in truth.upper() if c in keep)
    return 1.0 - levenshtein(p, t) / max(len(t), 1)


LINE_PENALTY = np.log(5.0)  # a one-character word leans to its line's majority type


def decode_word(logp, line_type=None):
    """Best labels for one word given log-probabilities (k, 36): all letters, all digits, or mixed with
    a penalty per character that breaks the word's majority type. A one-character word has no context
    of its own and leans towards line_type (0 letters, 1 digits)."""
    if len(logp) == 1 and line_type is not None:
        lp = logp[0].copy()
        if line_type == 0:
            lp[N_LETTERS:] -= LINE_PENALTY
        else:
            lp[:N_LETTERS] -= LINE_PENALTY
        return np.array([int(lp.argmax())])
    letters = logp[:, :N_LETTERS].argmax(1)
    digits = logp[:, N_LETTERS:].argmax(1) + N_LETTERS
    rows = np.arange(len(logp))
    s_let, s_dig = logp[rows, letters].sum(), logp[rows, digits].sum()
    free = logp.argmax(1)
    n_dig = int((free >= N_LETTERS).sum())
    minority = min(n_dig, len(free) - n_dig)
    s_free = logp[rows, free].sum() - SWITCH_PENALTY * minority
    best = max((s_let, 0), (s_dig, 1), (s_free, 2))[1]
    return [letters, digits, free][best]


class WordList:
    """Upper-case A-Z words by length, for an optional same-length substitution correction."""

    def __init__(self, path, margin=3.0, per_char=1.0):
        words = set()
        with open(path, errors="ignore") as fh:
            for w in fh:
                # apostrophes are not in the 36-class alphabet: "don't" is written DONT on a page
                w = w.strip().replace("'", "")
                if w.isalpha() and w.isascii():
                    words.add(w.upper())
        self.by_len = {}
        for w in words:
            self.by_len.setdefault(len(w), []).append(w)
        self.arrays = {n: np.array([[ord(c) - 65 for c in w] for w in ws]) for n, ws in self.by_len.items()}
        self.margin, self.per_char = margin, per_char

    def allowance(self, n):
        """How much less probable (nats) a listed word may be than the reading: a reading of n letters
        off the list is a priori less likely the longer it is (each letter is a chance of misreading)."""
        return max(self.margin, self.per_char * n)

    def listed(self, labels):
        return "".join(CLASSES36[k] for k in labels) in self.by_len.get(len(labels), ())

    def correct(self, labels, logp):
        """Replace an all-letter word by the likeliest listed word if it is nearly as probable."""
        n = len(labels)
        if n < 3 or n not in self.arrays or (labels >= N_LETTERS).any():
            return labels
        cand = self.arrays[n]
        scores = logp[np.arange(n)[None, :], cand].sum(1)
        best = int(np.argmax(scores))
        own = logp[np.arange(n), labels].sum()
        word = "".join(CLASSES36[k] for k in labels)
        if word in self.by_len[n] or scores[best] < own - self.allowance(n):
            return labels
        return cand[best]


def default_wordlist():
    for path in ("/usr/share/dict/words", "/usr/share/dict/american-english"):
        if os.path.exists(path):
            return path
    return None


def decode_page(probs, lines, spaces, context=True, wordlist=None):
    """Text lines from probabilities (n, 36) of boxes grouped in lines with word spaces."""
    logp = np.log(np.clip(probs, 1e-12, 1.0))
    out = []
    for line, sp in zip(lines, spaces):
        words, cur = [], []
        for k, (box, space) in enumerate(zip(line, sp)):
            if space and cur:
                words.append(cur)
                cur = []
            cur.append(box)
        if cur:
            words.append(cur)
        free = logp[line].argmax(1)
        line_type = int((free >= N_LETTERS).mean() > 0.5)

        def read(w):
            labels = decode_word(logp[w], line_type) if context else logp[w].argmax(1)
            return wordlist.correct(labels, logp[w]) if context and wordlist is not None else labels
        labels = [read(w) for w in words]
        if context and wordlist is not None:
            words, labels = _join_split_words(words, labels, read, wordlist)
        out.append(" ".join("".join(CLASSES36[k] for k in lab) for lab in labels))
    return out


def _join_split_words(words, labels, read, wordlist):
    """A space read inside a word splits it into two off-list pieces: join neighbours that are both off
    the list when together they read as a listed word."""
    k = 0
    while k < len(words) - 1:
        a, b = labels[k], labels[k + 1]
        if not wordlist.listed(a) and not wordlist.listed(b) and len(a) + len(b) >= 4:
            joined = read(words[k] + words[k + 1])
            if wordlist.listed(joined):
                words[k:k + 2], labels[k:k + 2] = [words[k] + words[k + 1]], [joined]
                continue
        k += 1
    return words, labels
