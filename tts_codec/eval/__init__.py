"""Evaluation: offline metrics (WER, SIM, EER, PESQ/STOI, mel distance, DNSMOS, attributes, RTF), the scorer
registry, evaluation protocols and the on-disk score format. See ../shared/specs/evaluation.md and score_dir.py."""
