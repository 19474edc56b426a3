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
             "skipped: no CUDA device here (the diffusers backends and their GPU benchmark are not built yet)")
        return
    save("gpu", {"skipped": "the diffusers keyframe/video backends are not in director yet"},
         "skipped: CUDA is present but director has no diffusers backend to time yet")


if __name__ == "__main__":
    main()
