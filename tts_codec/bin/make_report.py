"""Write RESULTS.md and a static HTML listening page (<out_dir>/html/index.html) from one or more score dirs.

Example (two systems side by side):
    python -m tts_codec.bin.make_report --score_dir exp/a/score --score_dir exp/b/score --name deep --name shallow \
        --ref_dir data/test --out_dir exp/report --title "EARS zero-shot"
"""
from __future__ import annotations

import argparse
import datetime
import logging
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.atomic import atomic_write, refuse_to_clobber
from tts_codec.cli import new_parser, positive_int, run_main, str2bool
from tts_codec.errors import UserError
from tts_codec.eval.report import ScoreDir, load_score_dir
from tts_codec.eval.report.html_page import write_listening_page
from tts_codec.eval.report.reference_runs import load_reference_runs, reference_section
from tts_codec.eval.report.results_md import git_commit, render_results_md

log = logging.getLogger("make_report")


def get_parser() -> argparse.ArgumentParser:
    parser = new_parser(__doc__)
    parser.add_argument("--score_dir", action="append", required=True, help="score dir; repeat to compare systems")
    parser.add_argument("--name", action="append", default=None,
                        help="system name per --score_dir (default: <parent>/<dir> of the score dir)")
    parser.add_argument("--ref_dir", default=None, help="reference Kaldi data dir (default: from summary.json)")
    parser.add_argument("--gen_scp", action="append", default=None,
                        help="generated wav.scp (or dir of <utt>.wav) per --score_dir (default: from summary.json)")
    parser.add_argument("--out_dir", required=True, help="writes RESULTS.md and html/ here")
    parser.add_argument("--title", default=None, help="experiment name (default: the --out_dir name)")
    parser.add_argument("--max_rows", type=positive_int, default=100, help="utterances on the listening page")
    parser.add_argument("--worst_by", default="auto",
                        help="metric whose worst utterances fill half the rows (auto = WER/CER column; none)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled rows")
    parser.add_argument("--html", type=str2bool, default=True, help="build the listening page")
    parser.add_argument("--reference_runs", default=None,
                        help="TSV of measured runs (system, setup, metric means) to set beside the first system's "
                             "means, e.g. a recipe's long runs beside a short demo run "
                             "(format: tts_codec.eval.report.reference_runs)")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace an existing report")
    return parser


def _per_system(values: list[str] | None, n: int, flag: str) -> list[str | None]:
    if values is None:
        return [None] * n
    if len(values) != n:
        raise UserError(f"{flag} given {len(values)} times for {n} --score_dir")
    return values


def _resolve(
    given: str | None, from_summary: str | None, flag: str, sdir: ScoreDir, required: bool = True
) -> str | None:
    """The path given on the command line, else the one summary.json records; it must exist."""
    path = given or from_summary
    if not path:
        if not required:
            log.warning("no %s given and %s names none: no reference audio", flag, sdir.path / "summary.json")
            return None
        raise UserError(f"{flag} is required: {sdir.path / 'summary.json'} does not name it")
    if not Path(path).exists():
        source = flag if given else f"{sdir.path / 'summary.json'} ({flag[2:]})"
        raise UserError(f"{source}: {path} does not exist")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    out_dir = Path(args.out_dir)
    refuse_to_clobber(out_dir / "RESULTS.md", args.overwrite, "report")
    if args.html:
        refuse_to_clobber(out_dir / "html", args.overwrite, "listening page")
    references = load_reference_runs(args.reference_runs) if args.reference_runs else []
    names = _per_system(args.name, len(args.score_dir), "--name")
    systems = [load_score_dir(path, name) for path, name in zip(args.score_dir, names)]
    if len({s.name for s in systems}) < len(systems):
        raise UserError(f"system names must differ, got {[s.name for s in systems]}; pass --name per --score_dir")
    title = args.title or out_dir.resolve().name
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = git_commit()
    text = render_results_md(systems, title, "html/index.html" if args.html else None, date=date, commit=commit)
    if references:
        text += "\n" + "\n".join(reference_section(systems[0], references, args.reference_runs)) + "\n"
    if args.html:
        ref_dir = _resolve(args.ref_dir, systems[0].ref_dir, "--ref_dir", systems[0], required=False)
        gen_scps = [_resolve(g, s.gen_scp, "--gen_scp", s)
                    for g, s in zip(_per_system(args.gen_scp, len(systems), "--gen_scp"), systems)]
        index = write_listening_page(
            out_dir / "html", systems, ref_dir, gen_scps, title, max_rows=args.max_rows, worst_by=args.worst_by,
            seed=args.seed, header={"date": date, "git commit": commit or "unavailable"}, overwrite=args.overwrite,
        )
        log.info("wrote %s", index)
    with atomic_write(out_dir / "RESULTS.md") as handle:
        handle.write(text)
    log.info("wrote %s", out_dir / "RESULTS.md")
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
