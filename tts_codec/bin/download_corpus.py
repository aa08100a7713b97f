"""Download a corpus for its recipe: resumable, checksum- and archive-checked, never fetching what is complete.

  ears:        --root EARS_ROOT --archive_dir downloads/ears_zip [--speakers p001-p107]
  librispeech: --root DIR (LibriSpeech/ is created inside) --archive_dir downloads --subsets test-clean,...
  voxbox:      --root VOXBOX_ROOT [--corpora a,b]   (huggingface_hub; needs HF_HUB_OFFLINE=0)
  url:         --url URL --dest FILE [--checksum md5:HEX] [--extract_to DIR]   (one file, e.g. a mirror)

An interrupted run resumes where it stopped (HTTP Range on `<file>.part`); a checksum mismatch deletes the part;
a corrupt archive is moved to `<file>.corrupt`; each is one error line and a non-zero exit.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from tts_codec.cli import positive_int, run_main, str2bool
from tts_codec.errors import UserError


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the docstring's layout and show defaults."""


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=_Formatter)
    p.add_argument("corpus", choices=["ears", "librispeech", "voxbox", "url"])
    p.add_argument("--root", help="where the corpus goes")
    p.add_argument("--archive_dir", help="ears, librispeech: where the archives are stored while extracting")
    p.add_argument("--keep_archives", type=str2bool, default=True, help="keep archives after extraction")
    p.add_argument("--speakers", default="p001-p107", help="ears: speakers (range or comma list)")
    p.add_argument("--subsets", default="train-clean-100,dev-clean,test-clean", help="librispeech: comma list")
    p.add_argument("--corpora", default="", help="voxbox: sub-corpora (comma list; empty = all, ~100k h)")
    p.add_argument("--url", help="url: the file to fetch")
    p.add_argument("--dest", help="url: the local file")
    p.add_argument("--checksum", help="url: md5:HEX or sha256:HEX")
    p.add_argument("--extract_to", help="url: extract the archive into this directory")
    p.add_argument("--retries", type=positive_int, default=5, help="resume attempts after a dropped connection")
    return p


def _require(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if not getattr(args, name):
            raise UserError(f"{args.corpus} needs --{name}")


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    if args.corpus == "url":
        from tts_codec.recipes.download import download, fetch_archive

        _require(args, "url", "dest")
        if args.extract_to:
            fetch_archive(args.url, args.dest, args.extract_to, args.checksum, retries=args.retries)
        else:
            download(args.url, args.dest, args.checksum, retries=args.retries)
    elif args.corpus == "ears":
        from tts_codec.eval.protocols import parse_speakers
        from tts_codec.recipes.ears import download_ears

        _require(args, "root", "archive_dir")
        download_ears(args.root, parse_speakers(args.speakers), args.archive_dir, args.keep_archives)
    elif args.corpus == "librispeech":
        from tts_codec.recipes.librispeech import download_librispeech

        _require(args, "root", "archive_dir")
        download_librispeech(args.root, _names(args.subsets), args.archive_dir, args.keep_archives)
    else:
        from tts_codec.recipes.voxbox import download_voxbox

        _require(args, "root")
        download_voxbox(args.root, _names(args.corpora))
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
