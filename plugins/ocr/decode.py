"""From per-box class probabilities to text: word-level letter/digit consistency, optional word list."""
import itertools
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


def words_of(text):
    """The A-Z/0-9 words of a text: apostrophes dropped (DON'T -> DONT), any other mark or space parts."""
    keep = set(CLASSES36)
    return "".join(c if c in keep else " " for c in text.upper().replace("'", "")).split()


def word_accuracy(pred, truth):
    """1 - word-level Levenshtein(pred, truth) / number of truth words: a word read with a wrong
    character, split by a false space or run into its neighbour counts as an error."""
    p, t = words_of(pred), words_of(truth)
    return 1.0 - levenshtein(p, t) / max(len(t), 1)


LINE_PENALTY = np.log(5.0)  # a one-character word leans to its line's majority type

# Prior probabilities of what a token on a page is, for decoding with a word list: a listed word, a
# letter string off the list (a name, an abbreviation), a number, a letter/digit mix. Each class spreads
# its mass evenly over its members, so a misread off-list string of n letters (one of 26**n) needs far
# more evidence than one of the few thousand listed words of that length.
P_LISTED, P_UNLISTED, P_NUMBER, P_MIXED = 0.85, 0.05, 0.08, 0.02
PROPER_NOUN_WEIGHT = 0.1  # "Oder", "Dennis": listed, but rarer on a page than common words
# A lone character among words: "A" and "I" are words, digits are numbers, other letters rare.
LONE_PRIOR = {"word": 0.6 / 2, "digit": 0.35 / 10, "letter": 0.05 / 24}
LONE_WORDS = "AI"
SPACE_EVIDENCE = np.log(20.0)  # odds that a gap just over the line's space threshold is a space
SPACE_EVIDENCE_SLOPE = np.log(50.0)  # and the odds grow this much per threshold of gap beyond it
MISSED_SPACE = np.log(0.1)  # a space written too tight to see, between two words read as one token
MAX_WORD = 15
JOIN_TOKENS = 4  # a word split by misread spaces is joined from up to this many tokens
# With word frequencies (the `wordfreq` package), a listed word's prior grows with its frequency in
# running text, tempered (a page is not a newspaper); a listed word never seen counts as FREQ_FLOOR.
FREQ_POWER = 0.5
FREQ_FLOOR = 1e-8
COMMON_FREQ = 1e-6  # words this common join the list even when the system word list lacks them


def decode_word(logp, line_type=None):
    """Best labels for one word given log-probabilities (k, 36), without a word list: all letters, all
    digits, or mixed with a penalty per character that breaks the word's majority type. A one-character
    word has no context of its own and leans towards line_type (0 letters, 1 digits)."""
    if len(logp) == 1 and line_type is not None:
        return np.array([int((logp[0] + _type_lean(line_type)).argmax())])
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


def _type_lean(line_type):
    lean = np.zeros(36)
    lean[N_LETTERS:] -= LINE_PENALTY * (line_type == 0)
    lean[:N_LETTERS] -= LINE_PENALTY * (line_type == 1)
    return lean


def _lone_prior():
    prior = np.full(36, np.log(LONE_PRIOR["letter"]))
    prior[N_LETTERS:] = np.log(LONE_PRIOR["digit"])
    for c in LONE_WORDS:
        prior[CLASSES36.index(c)] = np.log(LONE_PRIOR["word"])
    return prior


def decode_lone(logp, sequence_type=None):
    """One character standing alone: in a line of lone characters ("A B C", "1 2 3") it leans to their
    type; among words it takes the prior of a lone token in text (A and I are words, digits numbers)."""
    return _lone_reading(logp, sequence_type)[0]


def _lone_reading(logp, sequence_type=None):
    """(labels, score) of decode_lone: the score is the log-likelihood plus that lean or prior."""
    prior = _type_lean(sequence_type) if sequence_type is not None else _lone_prior()
    k = int((logp[0] + prior).argmax())
    return np.array([k]), float(logp[0, k] + prior[k])


def english_frequencies():
    """{lower-case word: frequency in English text} from the `wordfreq` package, or None without it."""
    try:
        import wordfreq
    except ImportError:
        return None
    return wordfreq.get_frequency_dict("en", wordlist="best")


def _clean(word):
    # apostrophes are not in the 36-class alphabet: "don't" is written DONT on a page
    w = word.strip().replace("'", "")
    return w if w.isalpha() and w.isascii() and len(w) > 1 else None


class WordList:
    """Upper-case A-Z words by length, each with a log prior; decodes a token as the likeliest of: a
    listed word, an off-list letter string, a number, a letter/digit mix (see P_LISTED...).

    path: a file of words, one per line (None: the common words only). frequencies: {word: frequency}
    (english_frequencies()); with them each word's weight is frequency**FREQ_POWER, and with add_common
    words of frequency >= COMMON_FREQ join the list (British spellings, "XBOX", "EMAIL")."""

    def __init__(self, path=None, proper_noun_weight=PROPER_NOUN_WEIGHT, frequencies=None, add_common=False):
        weights = {}
        if path is not None:
            with open(path, errors="ignore") as fh:
                for line in fh:
                    w = _clean(line)
                    if w:
                        weight = proper_noun_weight if w[0].isupper() else 1.0
                        weights[w.upper()] = max(weights.get(w.upper(), 0.0), weight)
        if frequencies is not None:
            if add_common:
                for w, f in frequencies.items():
                    if f >= COMMON_FREQ and _clean(w) == w:
                        weights.setdefault(w.upper(), 1.0)
            for w in weights:
                weights[w] *= (frequencies.get(w.lower(), 0.0) + FREQ_FLOOR) ** FREQ_POWER
        self.by_len, self.arrays, self.log_prior = {}, {}, {}
        for w, weight in weights.items():
            self.by_len.setdefault(len(w), {})[w] = weight
        for n, ws in self.by_len.items():
            wt = np.array(list(ws.values()))
            self.arrays[n] = np.array([[ord(c) - 65 for c in w] for w in ws])
            self.log_prior[n] = np.log(P_LISTED) + np.log(wt / wt.sum())

    def listed(self, labels):
        return "".join(CLASSES36[k] for k in labels) in self.by_len.get(len(labels), ())

    def decode(self, logp):
        """(labels, score): the likeliest reading of a token of n >= 2 characters, score = log-likelihood
        + log prior."""
        n = len(logp)
        rows = np.arange(n)
        letters = logp[:, :N_LETTERS].argmax(1)
        digits = logp[:, N_LETTERS:].argmax(1) + N_LETTERS
        free = logp.argmax(1)
        options = [(logp[rows, digits].sum() + np.log(P_NUMBER) - n * np.log(10), 1, digits)]
        if not self.listed(letters):
            options.append((logp[rows, letters].sum() + np.log(P_UNLISTED) - n * np.log(26), 2, letters))
        n_dig = int((free >= N_LETTERS).sum())
        if 0 < n_dig < n:  # a mix ("B52", "4TH") rarely switches type more than once or twice
            prior = np.log(P_MIXED) - n * np.log(36) - SWITCH_PENALTY * min(n_dig, n - n_dig)
            options.append((logp[rows, free].sum() + prior, 3, free))
        if n in self.arrays:
            cand = self.arrays[n]
            scores = logp[rows[None, :], cand].sum(1) + self.log_prior[n]
            best = int(np.argmax(scores))
            options.append((scores[best], 0, cand[best]))
        score, _, labels = max(options, key=lambda o: (o[0], -o[1]))
        return labels, score


def load_wordlist(spec="auto", frequencies=True):
    """(WordList or None, description) for --wordlist: 'auto' (the system word list plus common English
    words, weighted by frequency when `wordfreq` is installed), 'none', or a path (its words only)."""
    if spec == "none":
        return None, "none"
    freqs = english_frequencies() if frequencies else None
    path = default_wordlist() if spec == "auto" else spec
    if path is None and freqs is None:
        return None, "none (no system word list; install wamerican or wordfreq)"
    if path is not None and not os.path.isfile(path):
        raise FileNotFoundError(f"word list {path} not found (give a file of words, 'auto' or 'none')")
    words = WordList(path, frequencies=freqs, add_common=spec == "auto")
    return words, f"{path or 'common English words'}{' + wordfreq frequencies' if freqs else ''}"


def default_wordlist():
    for path in ("/usr/share/dict/words", "/usr/share/dict/american-english"):
        if os.path.exists(path):
            return path
    return None


MAX_CUT_COMBINATIONS = 64  # readings tried per word when several of its boxes may be cut differently
# Choosing a cut, each character read earns this (log) bonus, a digit log(26/10) less: a reading's score
# multiplies one classifier posterior and one prior factor (1/26 a letter, 1/10 a digit off the list) per
# character, so cuts into fewer, wider pieces won too often (B and an O X touching, the O X read whole as
# a Y: BY). Counted only for the choice: the token's score stays comparable with a joined neighbour's.
# A narrow box's cuts pay it back (repair.NARROW_CUT_COST). Cramped sets T 0.776 -> 0.813, H 0.812 ->
# 0.824, T2 0.785 -> 0.801, U 0.841 -> 0.837; at 3.0 numbers gained digits (1984 -> 19814); a letter's
# bonus alone helped cramped pages half as much.
CUT_LETTER_BONUS = 2.0
CUT_DIGIT_BONUS = CUT_LETTER_BONUS - np.log(26 / 10)


def _token_score(logp, wordlist, seq_type):
    """(labels, score) of one token: a word-list reading, or a lone character's prior."""
    return wordlist.decode(logp) if len(logp) > 1 else _lone_reading(logp, seq_type)


def _cut_word(word, logp, wordlist, seq_type, cuts):
    """The likeliest reading of a word some of whose boxes are wide enough to hold several touching
    characters: over the ways to cut each (cuts: {tuple of box ids: [(segmentation log-score, log-probs
    of its pieces)]}), the best word-list reading plus segmentation score, each character it reads
    adding CUT_LETTER_BONUS (a digit CUT_DIGIT_BONUS) to the choice, not to the score. Returns (rows,
    labels, score, {group: index of the cut chosen})."""
    groups = [g for g in cuts if g[0] in word]
    options = [sorted(enumerate(cuts[g]), key=lambda o: -(o[1][0] + o[1][1].max(1).sum())) for g in groups]
    while np.prod([len(o) for o in options]) > MAX_CUT_COMBINATIONS:
        longest = max(range(len(options)), key=lambda i: len(options[i]))
        options[longest] = options[longest][:-1]
    inside = {k for g in groups for k in g[1:]}
    best = None
    for choice in itertools.product(*options):
        chosen = {g[0]: c[1] for g, c in zip(groups, choice)}
        rows = np.concatenate([chosen[k][1] if k in chosen else logp[k][None] for k in word if k not in inside])
        labels, score = _token_score(rows, wordlist, seq_type)
        score += sum(c[1][0] for c in choice)
        n_letters = int((labels < N_LETTERS).sum())
        pick = score + CUT_LETTER_BONUS * n_letters + CUT_DIGIT_BONUS * (len(labels) - n_letters)
        if best is None or pick > best[0]:
            best = (pick, rows, labels, score, {g: c[0] for g, c in zip(groups, choice)})
    return best[1:]


def decode_page(probs, lines, spaces, context=True, wordlist=None, cuts=None, chosen=None, numbered=None):
    """Text lines from probabilities (n, 36) of boxes grouped in lines with word spaces. cuts: other
    ways to cut wide boxes (repair.split_touching_characters), chosen with the word list; the choice
    per group goes into the dict `chosen` when one is given. numbered: per line, whether it opens with
    a list label (a period after it): a lone character there leans to digits, not to the word I."""
    logp = np.log(np.clip(probs, 1e-12, 1.0))
    cuts = {g: [(seg, np.log(np.clip(p, 1e-12, 1.0))) for seg, p in opts] for g, opts in (cuts or {}).items()}
    out = []
    for li, (line, sp) in enumerate(zip(lines, spaces)):
        words, cur, gaps = [], [], []  # gaps: the space before each word but the first
        for k, (box, space) in enumerate(zip(line, sp)):
            if space and cur:
                words.append(cur)
                gaps.append(float(space))
                cur = []
            cur.append(box)
        if cur:
            words.append(cur)
        if not context:
            out.append(" ".join("".join(CLASSES36[k] for k in logp[w].argmax(1)) for w in words))
            continue
        free = logp[line].argmax(1)
        line_type = int((free >= N_LETTERS).mean() > 0.5)
        # a line mostly of lone characters is a sequence ("A B C D", "1 2 3"): its type decides
        lone = [w[0] for w in words if len(w) == 1]
        seq_type = int((free[[line.index(k) for k in lone]] >= N_LETTERS).mean() > 0.5) \
            if len(lone) >= 3 and 2 * len(lone) >= len(words) else None

        label_type = 1 if numbered and numbered[li] and len(words[0]) == 1 else None
        if wordlist is None:
            labels = [decode_word(logp[w], label_type if i == 0 and label_type is not None else line_type)
                      for i, w in enumerate(words)]
        else:
            # a word holding a box that may be cut otherwise is read over the cuts, its pieces' rows appended
            # to logp; (labels, score) per token, a lone character's score is never compared (None)
            readings = []
            for i, w in enumerate(words):
                if any(g[0] in w for g in cuts):
                    rows, labels, score, choice = _cut_word(w, logp, wordlist, seq_type, cuts)
                    if chosen is not None:
                        chosen.update(choice)
                    words[i] = list(range(len(logp), len(logp) + len(rows)))
                    logp = np.concatenate([logp, rows])
                    readings.append((labels, score if len(rows) > 1 else None))
                else:
                    lean = label_type if i == 0 and label_type is not None else seq_type
                    readings.append((decode_lone(logp[w], lean), None) if len(w) == 1
                                    else wordlist.decode(logp[w]))
            words, readings = _join_split_words(words, readings, logp, wordlist, gaps, lone=seq_type is None)
            words, labels = _split_run_on_words(words, readings, logp, wordlist)
        out.append(" ".join("".join(CLASSES36[k] for k in lab) for lab in labels))
    return out


def _join_split_words(words, readings, logp, wordlist, gaps=None, lone=False):
    """A space read inside a word splits it in two: join two neighbours when one listed word explains
    their ink better than two tokens do, by more than the evidence of the gap (space_evidence). gaps:
    the space before each word but the first, in units of the line's space threshold (segment.find_spaces).
    lone=True lets a lone character join too, scored with the prior of a lone token (widely spaced
    letters read M A KE); in a line of lone characters ("A B C") they stay apart."""
    gaps = list(gaps) if gaps is not None else [1.0] * (len(words) - 1)

    def score(k):
        return readings[k][1] if len(words[k]) > 1 else _lone_reading(logp[words[k]])[1]

    def joinable(k):
        return (len(words[k]) > 1 and readings[k][1] is not None) or (len(words[k]) == 1 and lone)
    k = 0
    while k < len(words) - 1:
        best = None  # (margin, tokens joined, reading): up to JOIN_TOKENS neighbours become one word
        for n in range(2, min(JOIN_TOKENS, len(words) - k) + 1) if joinable(k) else ():
            if not joinable(k + n - 1):
                break
            rows = [i for w in words[k:k + n] for i in w]
            joined = wordlist.decode(logp[rows])
            margin = joined[1] - sum(score(k + i) + (space_evidence(gaps[k + i]) if i < n - 1 else 0.0)
                                     for i in range(n))
            if wordlist.listed(joined[0]) and margin > 0 and (best is None or margin > best[0]):
                best = (margin, n, joined)
        if best is not None:
            n = best[1]
            words[k:k + n] = [[i for w in words[k:k + n] for i in w]]
            readings[k:k + n] = [best[2]]
            del gaps[k:k + n - 1]
            continue
        k += 1
    return words, readings


def space_evidence(gap):
    """Log-odds that a gap of `gap` space thresholds (>= 1) is a word space."""
    return SPACE_EVIDENCE + SPACE_EVIDENCE_SLOPE * max(gap - 1.0, 0.0)


def _split_run_on_words(words, readings, logp, wordlist):
    """Words written too close together read as one long off-list token ("PAGECAMERA"): split it where
    a sequence of listed words explains the ink better (dynamic programming over split points, each
    split paying MISSED_SPACE). Single letters may only be the words A and I. Returns (words, labels)."""
    out_w, out_l = [], []
    lone = _lone_prior()
    for w, (lab, whole) in zip(words, readings):
        n = len(w)
        if n < 5 or wordlist.listed(lab) or (lab >= N_LETTERS).all():
            out_w.append(w)
            out_l.append(lab)
            continue
        lp = logp[w]
        best = np.full(n + 1, -np.inf)
        best[0], back, reading = 0.0, [0] * (n + 1), [None] * (n + 1)
        for j in range(1, n + 1):
            for i in range(max(0, j - MAX_WORD), j):
                if j - i == 1:
                    k = int((lp[i] + lone).argmax())
                    lab_ij, s = np.array([k]), lp[i, k] + lone[k]
                else:
                    lab_ij, s = wordlist.decode(lp[i:j])
                s += best[i] + (MISSED_SPACE if i > 0 else 0.0)
                if s > best[j]:
                    best[j], back[j], reading[j] = s, i, lab_ij
        if best[n] <= whole:
            out_w.append(w)
            out_l.append(lab)
            continue
        pieces, j = [], n
        while j > 0:
            pieces.append((back[j], j, reading[j]))
            j = back[j]
        for i, j, lab_ij in reversed(pieces):
            out_w.append(w[i:j])
            out_l.append(lab_ij)
    return out_w, out_l
