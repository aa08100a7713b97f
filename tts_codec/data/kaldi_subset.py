"""The selections of Kaldi's utils/subset_data_dir.sh `<src> <N> <dest>` forms, reproduced exactly.

Default ("random"): subset_scp.pl's deterministic halving, N lines spread evenly over utt2spk. `--per-spk`: at most N
utterances per speaker, evenly spaced in its spk2utt line. `--speakers`: spk2utt lines shuffled as
shuffle_list.pl does (Perl's rand() after srand(0), i.e. drand48, keys compared as strings), taken while fewer
than N utterances are chosen. `--shortest`: the N shortest utterances (`sort -n -k2` of their lengths).
"""
from __future__ import annotations

from typing import Mapping, Sequence

_DRAND48_A, _DRAND48_C, _DRAND48_MOD = 0x5DEECE66D, 0xB, 1 << 48


def spread(items: Sequence[str], n: int) -> list[str]:
    """n of `items` chosen by subset_scp.pl's recursive halving (no --first/--last): an even, fixed spread."""
    chosen: list[str] = []

    def select(start: int, end: int, needed: int) -> None:
        if end - start == 1:
            if needed > 0:
                chosen.append(items[start])
            return
        half = (end - start) // 2
        select(start, start + half, needed // 2)
        select(start + half, end, needed - needed // 2)

    if n > 0:
        select(0, len(items), n)
    return chosen


def per_speaker(spk2utt: Mapping[str, Sequence[str]], n: int) -> list[str]:
    """At most n utterances of each speaker, every `skip`-th one from the start (Kaldi's awk in --per-spk)."""
    chosen = []
    for utts in spk2utt.values():
        skip = 1
        while n * (skip + 1) <= len(utts):
            skip += 1
        chosen += list(utts[: n * skip : skip])
    return chosen


def perl_shuffle(lines: Sequence[str], seed: int = 0) -> list[str]:
    """The order shuffle_list.pl gives: each line keyed by Perl's rand() (drand48 after srand(seed)), keys sorted
    as strings (Perl prints doubles with 15 significant digits)."""
    state = (seed << 16) | 0x330E
    keyed = []
    for line in lines:
        state = (_DRAND48_A * state + _DRAND48_C) % _DRAND48_MOD
        keyed.append((f"{state / _DRAND48_MOD:.15g}", line))
    return [line for _, line in sorted(keyed, key=lambda pair: pair[0])]


def whole_speakers(spk2utt: Mapping[str, Sequence[str]], n: int) -> list[str]:
    """The utterances of speakers taken in shuffle_list.pl's order while fewer than n utterances are chosen."""
    chosen: list[str] = []
    for spk in perl_shuffle(list(spk2utt)):
        if len(chosen) >= n:
            break
        chosen += list(spk2utt[spk])
    return chosen


def shortest(lengths: Mapping[str, str], n: int) -> list[str]:
    """The n utterances with the smallest length, ties by the whole line in C order (`sort -n -k2 | head -n`)."""
    def key(utt: str) -> tuple[float, bytes]:
        return _leading_number(lengths[utt]), f"{utt} {lengths[utt]}".encode()

    return sorted(lengths, key=key)[:n]


def _leading_number(value: str) -> float:
    """`sort -n`'s value of a field: its leading number, 0 if it has none."""
    digits = ""
    for ch in value.strip():
        if ch.isdigit() or ch == "." and "." not in digits or ch == "-" and not digits:
            digits += ch
        else:
            break
    try:
        return float(digits)
    except ValueError:
        return 0.0
