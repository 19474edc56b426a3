"""Does a keyframe keep its characters? CLIP image-embedding similarity against their references.

Each character in frame is compared on candidate crops: the whole frame and the band where the
layout places that character (left to right, as the shot lists them); the best crop counts. A
person detector would give tighter crops; the band crops keep the scorer to one permissive model
(CLIP, MIT) that ``director models`` can list and fetch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from director.backends.models import ModelNeed, local_folder, require_local

if TYPE_CHECKING:
    import torch


class ClipScorer:
    def __init__(self, model: str, device: str):
        from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

        folder = local_folder(model)
        if folder is None:
            require_local([ModelNeed(model, "scorer", "keyframes")])
        self.device = device
        self.processor = CLIPImageProcessor.from_pretrained(str(folder), local_files_only=True)
        self.model = CLIPVisionModelWithProjection.from_pretrained(str(folder), local_files_only=True).to(device).eval()
        self._refs: dict[str, "torch.Tensor"] = {}

    def embed(self, images) -> "torch.Tensor":
        import torch
        with torch.inference_mode():
            pixels = self.processor(images=[im.convert("RGB") for im in images], return_tensors="pt").pixel_values
            out = self.model(pixel_values=pixels.to(self.device, self.model.dtype)).image_embeds.float()
        return torch.nn.functional.normalize(out, dim=-1)

    def ref_embeddings(self, paths: tuple[str, ...]):
        from PIL import Image
        missing = [p for p in paths if p not in self._refs]
        if missing:
            for path, emb in zip(missing, self.embed([Image.open(p) for p in missing])):
                self._refs[path] = emb
        import torch
        return torch.stack([self._refs[p] for p in paths])

    def score(self, frame, figures: list[tuple[str, tuple[str, ...]]]) -> dict[str, float]:
        """Per character id: the best cosine similarity of any candidate crop to any of its references."""
        crops = [frame] + bands(frame, len(figures))
        embs = self.embed(crops)
        scores = {}
        for i, (ident, refs) in enumerate(figures):
            if not refs:
                continue
            candidates = embs[[0, 1 + i]] if len(figures) > 1 else embs[:2]
            sims = candidates @ self.ref_embeddings(refs).T
            scores[ident] = round(float(sims.max()), 4)
        return scores


def bands(frame, n: int) -> list:
    """Where the layout puts n characters: n overlapping vertical bands, left to right."""
    if n <= 1:
        w, h = frame.size
        return [frame.crop((w // 8, 0, w - w // 8, h * 3 // 4))]
    w, h = frame.size
    width = w * 0.6 if n == 2 else w / n * 1.4
    out = []
    for i in range(n):
        centre = w * (0.22 + 0.56 * i / (n - 1))
        left = int(max(0, min(w - width, centre - width / 2)))
        out.append(frame.crop((left, 0, int(left + width), h)))
    return out


