"""Fine-tuning a codec generator: start from a trained model directory and freeze the parts that make the tokens.

With the encoder and quantizers frozen (weights fixed, kept in eval mode so that dead-code resets and batch
statistics cannot move either), the tokens of every utterance stay exactly those of the starting model, so a
language model trained on them stays valid while the decoder is improved, e.g. by an adversarial phase.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

from torch import nn

from tts_codec.errors import UserError


def load_generator_weights(generator: nn.Module, model_dir: str | os.PathLike) -> None:
    """Copy the weights of the model directory `model_dir` (the codec's `from_pretrained` format) into `generator`.

    Raises UserError naming the directory when it cannot be loaded or its shapes differ from the training config.
    """
    if not os.path.isdir(model_dir):
        raise UserError(f"init_from: {model_dir} is not a directory (expected a trained codec's model/ dir)")
    loader = getattr(type(generator), "from_pretrained", None)
    if loader is None:
        raise UserError(f"init_from: {type(generator).__name__} cannot load a model directory")
    source = loader(model_dir)
    try:
        generator.load_state_dict(source.state_dict(), strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[1].strip() if len(str(err).splitlines()) > 1 else str(err)
        raise UserError(f"init_from: {model_dir} does not match the training config's codec ({first})") from None


def freeze_submodules(generator: nn.Module, names: Sequence[str]) -> list[nn.Module]:
    """Stop gradients into the named submodules of `generator` (e.g. "encoder", "quantizer"); returns them so that
    the caller keeps them in eval mode. Unknown names raise UserError listing the top-level ones."""
    frozen = []
    for name in names:
        try:
            module = generator.get_submodule(str(name))
        except AttributeError:
            known = ", ".join(n for n, _ in generator.named_children())
            raise UserError(f"config freeze: {type(generator).__name__} has no submodule {name!r} (top level: {known})"
                            ) from None
        module.requires_grad_(False)
        frozen.append(module)
    return frozen


def finetune_options(config: dict[str, Any]) -> tuple[str | None, list[str]]:
    """The `init_from` (a model dir or None) and `freeze` (submodule names) keys of a training config, checked."""
    init_from = config.get("init_from")
    if init_from is not None and not isinstance(init_from, (str, os.PathLike)):
        raise UserError(f"config init_from: expected a model directory path, got {init_from!r}")
    freeze = config.get("freeze") or []
    if isinstance(freeze, str) or not all(isinstance(n, str) and n for n in freeze):
        raise UserError(f"config freeze: expected a list of submodule names, got {freeze!r}")
    return (str(init_from) if init_from is not None else None), list(freeze)
