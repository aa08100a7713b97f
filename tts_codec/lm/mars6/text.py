"""MARS6 text front-end (mars6_snac.md §3): a byte-fallback sentencepiece BPE (stage 4, 512 ids by default, the
specials included) and the encoder string `<|startoftext|>[<quality>]{text}<|endoftext|>`.

The quality prefix names the source audio's sample rate; each known tag is one special token, so the tag never
mixes with the text's pieces. Inference always asks for `[48000]` (the best quality).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from tts_codec.atomic import replace_dir
from tts_codec.errors import UserError
from tts_codec.lm.text_frontend import TextFrontend, load_text_frontend, save_text_frontend
from tts_codec.lm.text_tokenizer import SPM_FILE, fast_tokenizer_from_spm, load_tokenizer, save_tokenizer, \
    train_sentencepiece

START, END = "<|startoftext|>", "<|endoftext|>"
QUALITY_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
INFERENCE_QUALITY = 48000


def quality_tag(rate: int) -> str:
    """The special token of one source sample rate, e.g. `[48000]`."""
    if int(rate) not in QUALITY_RATES:
        raise UserError(f"quality prefix {rate}: not one of {list(QUALITY_RATES)}")
    return f"[{int(rate)}]"


SPECIALS = (START, *(quality_tag(r) for r in QUALITY_RATES), END)


class Mars6Text:
    """Text -> encoder ids with a loaded MARS6 tokenizer (a transformers tokenizer dir) and its text front end."""

    def __init__(self, tokenizer: Any, frontend: TextFrontend | None = None):
        missing = [t for t in SPECIALS if tokenizer.convert_tokens_to_ids(t) in (None, tokenizer.unk_token_id)]
        if missing:
            raise UserError(f"text tokenizer: not a MARS6 tokenizer (no {missing[0]}); run stage 4 with "
                            "--model_family mars6")
        self.tokenizer = tokenizer
        self.frontend = frontend or TextFrontend()

    @classmethod
    def load(cls, path: str | Path) -> "Mars6Text":
        return cls(load_tokenizer(path), load_text_frontend(path))

    def __len__(self) -> int:
        return len(self.tokenizer)

    def encode(self, text: str, quality: int = INFERENCE_QUALITY) -> list[int]:
        """Ids of `<|startoftext|>[quality]text<|endoftext|>`."""
        text = self.frontend(text.strip())
        return self.tokenizer(f"{START}{quality_tag(quality)}{text}{END}", add_special_tokens=False)[
            "input_ids"]


def train_mars6_tokenizer(texts: Iterable[str], vocab_size: int, out_dir: str | Path, overwrite: bool = False,
                          inputs: Iterable[str | Path] = (), frontend: TextFrontend | None = None) -> Any:
    """Train the BPE (on the texts after `frontend`) so that BPE + specials = `vocab_size` ids, save the tokenizer
    dir with the front end's `text_frontend.json`, return the tokenizer."""
    frontend = frontend or TextFrontend()
    try:
        model = train_sentencepiece([frontend(t.strip()) for t in texts], int(vocab_size) - len(SPECIALS))
    except UserError as err:
        raise UserError(f"--vocab_size {vocab_size} (BPE {int(vocab_size) - len(SPECIALS)} + {len(SPECIALS)} MARS6 "
                        f"specials): {err}") from None
    with replace_dir(out_dir, inputs=inputs, overwrite=overwrite, what="tokenizer dir") as tmp:
        (tmp / SPM_FILE).write_bytes(model)
        tokenizer = fast_tokenizer_from_spm(tmp / SPM_FILE, SPECIALS)
        save_tokenizer(tokenizer, tmp)
        save_text_frontend(frontend, tmp)
        Mars6Text.load(tmp)
    return tokenizer
