"""GPU timings (production-size models with random weights vs plain diffusers): runs where CUDA is."""
from __future__ import annotations

from bench.common import save


def main() -> None:
    try:
        import torch

        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    if not cuda:
        save("gpu", {"skipped": "no CUDA device on this machine"},
             "skipped: no CUDA device here (the voice path's RTF is in `python -m bench voice`, on any device)")
        return
    save("gpu", {"skipped": "the production-size diffusers timing (keyframes, video, music) is not written yet"},
         "skipped: CUDA is present, but the diffusers timing benchmark is not written yet (no GPU was lent "
         "while the backends were built); `python -m bench voice` times the Coqui path on this GPU")


if __name__ == "__main__":
    main()
