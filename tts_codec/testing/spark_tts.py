"""Test factories for Spark-TTS inference: a tiny codec + tiny LM pair of directories, and a scripted LM that
emits chosen tokens (well-formed or garbage) so that parsing, retries and refusals can be tested exactly."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from tts_codec.testing.codec_dirs import save_tiny_model
from tts_codec.testing.spark_lm import make_official_llm_dir


def make_tts_dirs(root: str | Path, seed: int = 0) -> tuple[Path, Path]:
    """`root/codec` (the tiny BiCodec) and `root/LLM` (a tiny random Qwen2 in the official layout)."""
    root = Path(root)
    return save_tiny_model(root / "codec", seed=seed), make_official_llm_dir(root / "LLM", seed=seed)


class ScriptedLM(torch.nn.Module):
    """Wraps a causal LM and overrides its next-token choice with scripts.

    `rounds` is a list of rounds, one per `generate` call (the last repeats); a round lists one script (token ids)
    per batch row (cycled). Row r emits its script, then `eos_id` forever. The wrapped model still runs, so
    caching and padding behave as in a real model. `last_inputs` holds the unpadded prompts of the last call.
    """

    def __init__(self, model: torch.nn.Module, rounds: Sequence[Sequence[Sequence[int]]], eos_id: int):
        super().__init__()
        self.model, self.rounds, self.eos_id, self.calls = model, [list(r) for r in rounds], int(eos_id), 0
        self._prompt_len = 0

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.model, name)

    def generate(self, input_ids: torch.Tensor, **kwargs):
        self._round = self.rounds[min(self.calls, len(self.rounds) - 1)]
        self.calls += 1
        self._prompt_len = input_ids.shape[1]
        self.last_inputs = [row[mask.bool()].tolist() for row, mask in zip(input_ids, kwargs["attention_mask"])]
        kwargs["logits_processor"] = [*kwargs.get("logits_processor", []), self._force]
        return self.model.generate(input_ids=input_ids, **kwargs)

    def _force(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        step = input_ids.shape[1] - self._prompt_len
        out = torch.full_like(scores, float("-inf"))
        for row in range(scores.shape[0]):
            script = self._round[row % len(self._round)]
            out[row, script[step] if step < len(script) else self.eos_id] = 0.0
        return out


def make_tts_test_set(root: str | Path, duration: float = 1.0) -> tuple[Path, Path]:
    """A test set `root/test` (2 speakers x 2 utterances of `duration` s, text, utt2gender and the other stage-3
    labels) and its zero-shot clone list `root/test_clone` (meta.lst, trials, enroll.scp)."""
    from tts_codec.attributes import LEVELS
    from tts_codec.bin import make_eval_list
    from tts_codec.data.datadir import DataDir
    from tts_codec.data.table import write_table
    from tts_codec.testing.datadirs import make_data_dir

    root = Path(root)
    data = make_data_dir(root, "test", num_speakers=2, utts_per_speaker=2, duration=duration)
    utts = DataDir.load(data).utt_ids
    write_table(data / "utt2pitch", {u: LEVELS[i % 5] for i, u in enumerate(utts)})
    write_table(data / "utt2speed", {u: LEVELS[(i + 2) % 5] for i, u in enumerate(utts)})
    write_table(data / "utt2pitch_value", {u: 200 + 10 * i for i, u in enumerate(utts)})
    write_table(data / "utt2speed_value", {u: 3 + i for i, u in enumerate(utts)})
    make_eval_list.main(["clone", "--data_dir", str(data), "--out_dir", str(root / "test_clone")])
    return data, root / "test_clone"
