"""Text tokenizers for the LMs: a sentencepiece BPE trained on the recipe's text, served through transformers.

The BPE is trained with `sentencepiece` (byte fallback, so no character is ever unknown; no normalisation, so the
ids are a pure function of the text), then wrapped in a `tokenizers` pipeline that reproduces sentencepiece's ids
exactly (tests compare the two) and saved as a transformers tokenizer directory: the same layout and loading call
(`AutoTokenizer.from_pretrained(dir)`) as an official Spark-TTS `LLM/` directory. The sentencepiece model is kept
beside it as `bpe.model`.
"""
from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any, Iterable

from tts_codec.errors import UserError

log = logging.getLogger(__name__)

SPM_FILE = "bpe.model"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
UNK = "<unk>"
META = "\u2581"  # sentencepiece's word-boundary mark


def train_sentencepiece(texts: Iterable[str], vocab_size: int, character_coverage: float = 1.0) -> bytes:
    """Train a byte-fallback sentencepiece BPE on `texts` and return the serialized model.

    The vocabulary holds `<unk>`, the 256 byte pieces, the corpus characters and the merges, so `vocab_size` must
    exceed 256 + the number of distinct characters.
    """
    import sentencepiece as spm

    lines = [t.strip() for t in texts if t and t.strip()]
    if not lines:
        raise UserError("no training text for the BPE (every text line is empty)")
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=model, vocab_size=int(vocab_size), model_type="bpe",
            character_coverage=character_coverage, byte_fallback=True, unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1,
            normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
            split_digits=True, num_threads=1, minloglevel=2, max_sentence_length=1 << 16,
        )
    except RuntimeError as err:
        reason = str(err).splitlines()[-1]
        raise UserError(f"--vocab_size {vocab_size}: sentencepiece cannot train on this text ({reason})") from None
    return model.getvalue()


def fast_tokenizer_from_spm(spm_path: str | Path, special_tokens: Iterable[str] = ()) -> Any:
    """A transformers fast tokenizer with the ids of the sentencepiece BPE at `spm_path`.

    `special_tokens` are appended after the BPE vocabulary (the last one becomes the EOS, the first the pad).
    """
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers
    from tokenizers.models import BPE
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import SentencePieceExtractor

    pieces = SentencePieceExtractor(str(spm_path)).extract(BPE)
    backend = Tokenizer(BPE(pieces["vocab"], pieces["merges"], unk_token=UNK, fuse_unk=True, byte_fallback=True))
    # sentencepiece adds a dummy prefix and marks spaces; normalising each text span (added tokens are matched on
    # the raw text) gives the same pieces as sentencepiece on that span alone.
    backend.normalizer = normalizers.Sequence([normalizers.Prepend(META), normalizers.Replace(" ", META)])
    backend.decoder = decoders.Sequence([decoders.Replace(META, " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(" ", 1, 0)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token=UNK)
    specials = list(special_tokens)
    if specials:  # added in the given order, then named
        tokenizer.add_tokens([AddedToken(t, normalized=False, special=True) for t in specials], special_tokens=True)
        tokenizer.pad_token, tokenizer.eos_token = specials[0], specials[-1]
    return tokenizer


def save_tokenizer(tokenizer: Any, out_dir: str | Path) -> None:
    """Save in the layout of an official LLM dir, loadable by transformers 4.x as well as this one.

    transformers 5 names its tokenizers-backed class `TokenizersBackend`; 4.x knows the same thing as
    `PreTrainedTokenizerFast`, which 5 still accepts.
    """
    out_dir = Path(out_dir)
    tokenizer.save_pretrained(str(out_dir))
    config_path = out_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config.pop("backend", None)
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_tokenizer(path: str | Path) -> Any:
    """The tokenizer of a local directory, offline; a missing or broken dir is a UserError.

    Ours (`tokenizer_class: PreTrainedTokenizerFast`, see `save_tokenizer`) is loaded as exactly that: in an LLM dir
    beside a Qwen2 `config.json`, transformers 5's `AutoTokenizer` would build a `Qwen2Tokenizer` from the model
    type instead, whose byte-level pre-tokenizer drops the sentencepiece word boundaries and every non-ASCII
    character, so the ids at synthesis would differ from the ids the LM was trained on. Other tokenizers (an
    official Spark-TTS `LLM/` dir) go through `AutoTokenizer`.
    """
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    path = Path(path)
    if not (path / "tokenizer_config.json").is_file() and not (path / "tokenizer.json").is_file():
        raise UserError(f"{path}: no tokenizer_config.json or tokenizer.json; not a tokenizer directory")
    try:
        if _tokenizer_class(path) == "PreTrainedTokenizerFast":
            return PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True)
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: cannot load the tokenizer ({type(err).__name__}: {err})") from None


def _tokenizer_class(path: Path) -> str | None:
    """`tokenizer_class` of the dir's tokenizer_config.json (None when absent or unreadable: AutoTokenizer decides)."""
    try:
        return json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8")).get("tokenizer_class")
    except (OSError, ValueError, AttributeError):
        return None
