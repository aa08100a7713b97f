"""The torch device a `--device` option names, checked before any work: a wrong or absent device is one clear line,
not a CUDA traceback halfway through a run. Every verb with a `--device` flag resolves it here."""
from __future__ import annotations

from tts_codec.errors import UserError

SUPPORTED = ("cpu", "cuda", "cuda:N")


def resolve_device(name: str, option: str = "--device") -> str:
    """The canonical device string (`cpu`, `cuda`, `cuda:1`) for `name`, if this machine has it.

    Args:
        name: what the user gave, e.g. "cpu", "cuda", "cuda:0" (case and surrounding blanks are ignored).
        option: the flag to name in errors.
    Raises:
        UserError: an unknown device name, a device type tts_codec does not run on, CUDA on a machine without a
            usable CUDA device, or a CUDA index beyond the devices present.
    """
    import torch

    text = name.strip().lower()
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise UserError(f"{option} {name!r}: not a device name; use one of {', '.join(SUPPORTED)}") from None
    if device.type == "cpu":
        return "cpu"
    if device.type != "cuda":
        raise UserError(f"{option} {name!r}: device type {device.type!r} is not supported; use one of "
                        f"{', '.join(SUPPORTED)}")
    if not torch.cuda.is_available():
        why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA device is visible"
        raise UserError(f"{option} {name!r}: CUDA is not available ({why}, torch {torch.__version__}); "
                        "use --device cpu")
    count = torch.cuda.device_count()
    if device.index is not None and device.index >= count:
        raise UserError(f"{option} {name!r}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
    return str(device)
