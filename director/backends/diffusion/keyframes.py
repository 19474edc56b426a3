"""Keyframe backends on diffusers, each holding characters and places to their references.

- ``qwen-image-edit`` (default): QwenImageEditPlusPipeline, a multi-reference image edit; the
  characters in frame and the location plate go in as pictures and the prompt names them.
- ``sdxl-ip-adapter``: text-to-image with an IP-Adapter loaded by ``load_ip_adapter``; one
  adapter image per character with its own scale and, for two or more, a regional mask each.
- ``flux-kontext``: FLUX.1 Kontext [dev] editing from a composite of the references; its
  weights are non-commercial, so a project must acknowledge that.

Every backend: one model load per render, seeds per try, a consistency score per character
(CLIP) with retries below the threshold, and the best take kept.
"""
from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from director.backends.diffusion import common
from director.backends.diffusion.prompts import frame_prompt, negative_prompt, sheet_prompt
from director.backends.models import ModelNeed
from director.backends.types import FrameRequest, Made, SheetRequest
from director.store import steps

log = logging.getLogger("director.keyframes")
SEED_STRIDE = 7919  # try k uses seed + k * SEED_STRIDE


class KeyframeConfig(common.DiffusersConfig):
    kind: ClassVar[str] = "keyframes"
    multiple: ClassVar[int] = 16

    scorer: str | None = Field(default="openai/clip-vit-base-patch32",
                               description="CLIP vision model scoring identity; null turns the check off")
    threshold: float = Field(default=0.75, ge=0, le=1, description="lowest acceptable similarity per character")
    tries: int = Field(default=3, ge=1, le=10, description="takes per shot while below the threshold")
    max_references: int = Field(default=3, ge=1, le=8)

    def needs(self) -> list[ModelNeed]:
        needs = super().needs()
        if self.scorer:
            needs.append(ModelNeed(self.scorer, "scorer", self.name))
        return needs


class QwenEditConfig(KeyframeConfig):
    name: ClassVar[str] = "qwen-image-edit"
    version: ClassVar[str] = "1"
    license: ClassVar[str] = "Apache-2.0 (Qwen-Image-Edit weights)"
    target: ClassVar[str] = "director.backends.diffusion.keyframes:QwenEditBackend"
    pipeline_class: ClassVar[str] = "QwenImageEditPlusPipeline"
    default_model: ClassVar[str] = "Qwen/Qwen-Image-Edit-2509"

    steps: int = 40
    guidance: float = Field(default=4.0, description="true_cfg_scale")
    reference_side: int = Field(default=1024, ge=16, le=2048,
                                description="references enter the VAE at about this^2 pixels (lower saves memory)")
    condition_side: int = Field(default=384, ge=16, le=1024, description="references seen by the VL encoder")


class SDXLIPAdapterConfig(KeyframeConfig):
    name: ClassVar[str] = "sdxl-ip-adapter"
    version: ClassVar[str] = "4"  # 4: a prompt past CLIP's 77 tokens read in 75-token windows (it was cut off)
    license: ClassVar[str] = "CreativeML Open RAIL++-M (SDXL), Apache-2.0 (IP-Adapter)"
    target: ClassVar[str] = "director.backends.diffusion.keyframes:SDXLIPAdapterBackend"
    pipeline_class: ClassVar[str] = "StableDiffusionXLPipeline"
    default_model: ClassVar[str] = "stabilityai/stable-diffusion-xl-base-1.0"
    multiple: ClassVar[int] = 8

    guidance: float = 6.0
    ip_adapter: str = "h94/IP-Adapter"
    ip_subfolder: str = "sdxl_models"
    ip_weight: str = "ip-adapter_sdxl_vit-h.safetensors"
    image_encoder: str = Field(default="models/image_encoder", description="folder inside ip_adapter")
    ip_scale: float = Field(default=0.6, ge=0, le=2, description="identity strength per character")
    ip_scales: dict[str, float] = Field(default_factory=dict, description="per character id")

    def needs(self) -> list[ModelNeed]:
        return super().needs() + [ModelNeed(self.ip_adapter, "ip-adapter", self.name,  # not its SD 1.5 models
                                            files=(f"{self.ip_subfolder}/{self.ip_weight}", f"{self.image_encoder}/*"))]


class FluxKontextConfig(KeyframeConfig):
    name: ClassVar[str] = "flux-kontext"
    version: ClassVar[str] = "1"
    license: ClassVar[str] = "FLUX.1 [dev] Non-Commercial License"
    target: ClassVar[str] = "director.backends.diffusion.keyframes:FluxKontextBackend"
    pipeline_class: ClassVar[str] = "FluxKontextPipeline"
    default_model: ClassVar[str] = "black-forest-labs/FLUX.1-Kontext-dev"

    steps: int = 28
    guidance: float = 2.5


class KeyframeBackend:
    """The loop every keyframe backend shares; subclasses make one picture from references."""

    def __init__(self, config: KeyframeConfig):
        self.config = config
        self.lock = threading.Lock()  # one pipeline, one scheduler state: calls take turns
        self.pipe = common.load_pipeline(config, self.load_extra, self.prepare)
        self.scorer = None
        if config.scorer:
            from director.backends.diffusion.consistency import ClipScorer
            self.scorer = ClipScorer(config.scorer, self.pipe.director_device)

    # subclasses -----------------------------------------------------------
    @staticmethod
    def load_extra(folder: Path) -> dict:
        """Components to hand ``from_pretrained`` instead of loading them from the folder."""
        return {}

    def prepare(self, pipe) -> None:
        """Adapters to load before the pipeline is placed (offload hooks are built over what is there)."""

    def generate(self, prompt: str, negative: str, references: list, width: int, height: int, seed: int,
                 labels: list[str]):
        """One picture held to ``references``; ``labels`` names each (a character's id, or "location")."""
        raise NotImplementedError

    def prompt_notes(self, prompt: str, negative: str) -> list[str]:
        """What the model cannot read of the prompt (said in the keyframe's notes)."""
        return []

    # shared ---------------------------------------------------------------
    def references(self, req: FrameRequest) -> tuple[list[tuple[str, str]], dict[str, str]]:
        """(label, path) of the pictures this frame is held to, and how the prompt names each."""
        refs: list[tuple[str, str]] = [(f.id, f.refs[0]) for f in req.figures if f.refs]
        if req.location_refs and len(refs) < self.config.max_references:
            refs.append(("location", req.location_refs[0]))
        refs = refs[:self.config.max_references]
        return refs, {label: f"picture {i + 1}" for i, (label, _) in enumerate(refs)}

    def render(self, req: FrameRequest, out: Path) -> Made:
        from PIL import Image
        refs, named = self.references(req)
        prompt = frame_prompt(req, named)
        negative = negative_prompt(req.negative, "deformed face, extra limbs, text, watermark")
        width, height = common.native_size(req.width, req.height, self.config.resolution, self.config.multiple)
        images = [Image.open(path).convert("RGB") for _, path in refs]
        labels = [label for label, _ in refs]
        scored = [(f.id, f.refs) for f in req.figures if f.refs]
        takes = []
        for attempt in range(self.config.tries):
            seed = req.seed + attempt * SEED_STRIDE
            with self.lock:
                image = common.with_oom_retry(self.pipe, self.config, lambda: self.generate(
                    prompt, negative, images, width, height, seed, labels), f"keyframe {req.shot_id}")
                frame = common.fit(image, req.width, req.height)
                scores = self.scorer.score(frame, scored) if self.scorer and scored else {}
            worst = min(scores.values()) if scores else 1.0
            takes.append((worst, attempt, seed, frame, scores))
            if worst >= self.config.threshold:
                break
        steps.gpu_done()
        worst, attempt, seed, frame, scores = max(takes, key=lambda t: (t[0], -t[1]))
        frame.save(out / "keyframe.png", compress_level=1)
        notes = self.prompt_notes(prompt, negative)
        if scores and worst < self.config.threshold:
            notes.append(f"keyframe {req.shot_id}: best consistency {worst:.2f} after {len(takes)} tries is below "
                         f"the threshold {self.config.threshold:.2f}; regenerate with a new seed or add references")
        return Made({"image": "keyframe.png"},
                    report={"seed": seed, "tries": len(takes), "take": attempt, "scores": scores},
                    info={"width": req.width, "height": req.height, "native": [width, height],
                          "take_scores": [round(t[0], 4) for t in takes], "references": [p for _, p in refs],
                          "prompt": prompt}, notes=tuple(notes))

    def sheet(self, req: SheetRequest, out: Path) -> Made:
        from PIL import Image
        width, height = common.native_size(req.width, req.height, self.config.resolution, self.config.multiple)
        canvas = Image.new("RGB", (width, height), (200, 200, 200))
        with self.lock:
            image = common.with_oom_retry(self.pipe, self.config, lambda: self.generate(
                sheet_prompt(req), negative_prompt(req.negative, "text, watermark"), [canvas], width, height,
                req.seed, []), f"reference sheet {req.id}")
        steps.gpu_done()
        common.fit(image, req.width, req.height).save(out / "sheet.png", compress_level=1)
        return Made({"image": "sheet.png"}, info={"seed": req.seed, "native": [width, height]})


class QwenEditBackend(KeyframeBackend):
    def __init__(self, config: QwenEditConfig):
        super().__init__(config)
        # The pipeline reads its reference sizes from module constants; one model per process, so set them here.
        module = importlib.import_module(type(self.pipe).__module__)
        module.VAE_IMAGE_SIZE = config.reference_side ** 2
        module.CONDITION_IMAGE_SIZE = config.condition_side ** 2

    @staticmethod
    def load_extra(folder: Path) -> dict:
        """Without torchvision (CPU-only machines) build the processor on the PIL image backend."""
        import importlib.util
        if importlib.util.find_spec("torchvision") is not None:
            return {}
        from transformers import AutoTokenizer
        try:  # transformers 5's image-processor split
            from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
        except ImportError:  # 4.x (pyproject allows >=4.57): its slow processor is the PIL/numpy one
            from transformers import Qwen2VLImageProcessor as Qwen2VLImageProcessorPil
        image_processor = Qwen2VLImageProcessorPil.from_pretrained(str(folder / "processor"), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(folder / "tokenizer"), local_files_only=True)
        return {"processor": image_only_qwen_processor(image_processor, tokenizer)}

    def generate(self, prompt, negative, references, width, height, seed, labels):
        result = self.pipe(image=references or [self._blank(width, height)], prompt=prompt, negative_prompt=negative,
                           true_cfg_scale=self.config.guidance, num_inference_steps=self.config.steps,
                           height=height, width=width, generator=common.generator(self.pipe, seed),
                           **steps.diffusers_callback(self.config.steps))
        return result.images[0]

    @staticmethod
    def _blank(width, height):
        from PIL import Image
        return Image.new("RGB", (width, height), (200, 200, 200))


class FluxKontextBackend(KeyframeBackend):
    def generate(self, prompt, negative, references, width, height, seed, labels):
        image = contact_strip(references, width, height) if references else QwenEditBackend._blank(width, height)
        result = self.pipe(image=image, prompt=prompt, guidance_scale=self.config.guidance,
                           num_inference_steps=self.config.steps, height=height, width=width,
                           max_area=width * height, _auto_resize=False, generator=common.generator(self.pipe, seed),
                           **steps.diffusers_callback(self.config.steps))
        return result.images[0]


class SDXLIPAdapterBackend(KeyframeBackend):
    def prepare(self, pipe) -> None:
        """The IP-Adapter (and its CLIP image encoder) join the pipeline *before* offload hooks are built:
        loaded after them, the encoder would stay on the CPU unhooked, and a later ``pipe.to`` would undo
        model offload (and raise under sequential offload)."""
        from director.backends.models import local_folder
        config: SDXLIPAdapterConfig = self.config
        folder = local_folder(config.ip_adapter)
        pipe.load_ip_adapter(str(folder), subfolder=config.ip_subfolder, weight_name=config.ip_weight,
                             image_encoder_folder=config.image_encoder, local_files_only=True)

    def references(self, req: FrameRequest):
        # IP-Adapter holds people; the place comes from the prompt.
        refs = [(f.id, f.refs[0]) for f in req.figures if f.refs][:self.config.max_references]
        return refs, {}

    def generate(self, prompt, negative, references, width, height, seed, labels):
        config: SDXLIPAdapterConfig = self.config
        kwargs = {}
        if references and labels:
            scales = [config.ip_scales.get(label, config.ip_scale) for label in labels]
            if len(references) > 1:  # one scale per character, each held to its band of the frame by a mask
                self.pipe.set_ip_adapter_scale([scales])
                kwargs["ip_adapter_image"] = [list(references)]
                kwargs["cross_attention_kwargs"] = {"ip_adapter_masks": [region_masks(len(references), width, height)]}
            else:  # unmasked, the attention processor multiplies by the scale itself: a number, not a list
                self.pipe.set_ip_adapter_scale(scales[0])
                kwargs["ip_adapter_image"] = [references[0]]
        else:  # a sheet or an empty plate: no identity to hold
            self.pipe.set_ip_adapter_scale(0.0)
            kwargs["ip_adapter_image"] = [references[0] if references else QwenEditBackend._blank(width, height)]
        text = clip_windows(self.pipe, prompt, negative)
        if text is None:  # within CLIP's 77 tokens: the pipeline's own encoding
            text = {"prompt": prompt, "negative_prompt": negative}
        else:
            text = encode_windows(self.pipe, text)
        result = self.pipe(**text, guidance_scale=config.guidance, num_inference_steps=config.steps, height=height,
                           width=width, generator=common.generator(self.pipe, seed),
                           **steps.diffusers_callback(self.config.steps), **kwargs)
        return result.images[0]

    def prompt_notes(self, prompt: str, negative: str) -> list[str]:
        windows = clip_windows(self.pipe, prompt, negative)
        if windows is None or not windows.left_out:
            return []
        return [f"the keyframe prompt is longer than SDXL reads ({CLIP_WINDOWS} windows of "
                f"{windows.width} tokens); left out: {'. '.join(windows.left_out)}. Shorten the shot's prompt or "
                "the characters' descriptions"]


CLIP_WINDOWS = 3  # SDXL reads a long prompt in up to three 75-token windows (225 tokens), each encoded as CLIP was


@dataclass(frozen=True)
class Windows:
    """A prompt (and its negative) packed whole part by whole part into CLIP windows."""

    prompt: tuple[str, ...]  # each window's text
    negative: tuple[str, ...]
    width: int  # tokens a window holds between its start and end tokens
    left_out: tuple[str, ...] = ()


def clip_windows(pipe, prompt: str, negative: str) -> Windows | None:
    """``prompt`` and ``negative`` as windows of text that each fit CLIP's context, or None when both fit one (the
    pipeline's own path). diffusers cuts an SDXL prompt at 77 tokens, and the shot's prompt names its framing,
    action, place, every character with their description and the look (~120-200 tokens with two characters): the
    descriptions and the look were never read. The prompt's parts (``frame_prompt`` joins them with ". ") are packed
    whole into windows where they fit (a part longer than a window is split by tokens), in the prompt's order; what
    does not fit in ``CLIP_WINDOWS`` windows is left out and said."""
    tokenizers = [t for t in (pipe.tokenizer, getattr(pipe, "tokenizer_2", None)) if t is not None]
    width = min(t.model_max_length for t in tokenizers) - 2

    def count(text: str) -> int:
        return max(len(t(text, add_special_tokens=False, verbose=False).input_ids) for t in tokenizers)

    if count(prompt) <= width and count(negative) <= width:
        return None

    def split(part: str) -> list[str]:
        """A part longer than a window, in pieces that fit: by words, and a word too long (Chinese has no spaces)
        by characters."""
        pieces, piece = [], ""
        units = [(w, sep) for word in part.split()
                 for w, sep in ([(word, " ")] if count(word) <= width else [(c, "") for c in word])]
        for unit, sep in units:
            joined = f"{piece}{sep}{unit}" if piece else unit
            if piece and count(joined) > width:
                pieces.append(piece)
                joined = unit
            piece = joined
        return pieces + [piece] if piece else pieces

    def pack(text: str) -> tuple[list[str], list[str]]:
        windows: list[str] = []
        for whole in (p.strip() for p in text.replace(". ", ".\n").splitlines()):
            for part in ([whole] if count(whole) <= width else split(whole)) if whole else ():
                if windows and count(f"{windows[-1]} {part}") <= width:
                    windows[-1] = f"{windows[-1]} {part}"
                else:
                    windows.append(part)
        return windows[:CLIP_WINDOWS], windows[CLIP_WINDOWS:]

    kept, left = pack(prompt)
    against, _ = pack(negative)
    return Windows(tuple(kept), tuple(against[:len(kept)]) + ("",) * max(0, len(kept) - len(against)), width,
                   tuple(left))


def encode_windows(pipe, windows: Windows) -> dict:
    """The SDXL pipeline's text inputs for ``windows``: each window encoded as ``encode_prompt`` encodes a prompt
    (start and end tokens, padded to 77, the penultimate layer of both encoders side by side), the windows one after
    another along the sequence (the UNet's cross-attention takes any length), the pooled embedding (what the UNet's
    added conditioning reads) from the first window, as the A1111 and compel conventions do."""
    import torch
    try:
        from diffusers.utils.torch_utils import get_module_execution_device
    except ImportError:  # older diffusers: the pipeline's device
        def get_module_execution_device(module):
            return pipe._execution_device

    pairs = [(t, e) for t, e in ((pipe.tokenizer, pipe.text_encoder), (pipe.tokenizer_2, pipe.text_encoder_2))
             if t is not None and e is not None]

    def encode(texts: tuple[str, ...]):
        hidden, pooled = [], None
        for tokenizer, encoder in pairs:
            ids = tokenizer(list(texts), padding="max_length", max_length=tokenizer.model_max_length,
                            truncation=True, return_tensors="pt").input_ids
            with torch.no_grad():
                out = encoder(ids.to(get_module_execution_device(encoder)), output_hidden_states=True)
            if out[0].ndim == 2:  # the projection encoder's text embedding: its first window's
                pooled = out[0][:1]
            states = out.hidden_states[-2]  # (windows, 77, width)
            hidden.append(states.reshape(1, -1, states.shape[-1]))
        return torch.cat(hidden, dim=-1), pooled

    embeds, pooled = encode(windows.prompt)
    negative, negative_pooled = encode(windows.negative)
    return {"prompt_embeds": embeds, "pooled_prompt_embeds": pooled, "negative_prompt_embeds": negative,
            "negative_pooled_prompt_embeds": negative_pooled}


def region_masks(n: int, width: int, height: int):
    """One mask per character: the vertical band the layout gives them, left to right."""
    from PIL import Image, ImageDraw
    from diffusers.image_processor import IPAdapterMaskProcessor
    masks = []
    for i in range(n):
        mask = Image.new("L", (width, height), 0)
        left, right = int(width * i / n), int(width * (i + 1) / n)
        ImageDraw.Draw(mask).rectangle([left, 0, right, height], fill=255)
        masks.append(mask)
    tensor = IPAdapterMaskProcessor().preprocess(masks, height=height, width=width)
    return tensor.reshape(1, n, tensor.shape[-2], tensor.shape[-1])


def contact_strip(images: list, width: int, height: int):
    """References side by side on one canvas: Kontext edits from a single image."""
    from PIL import Image
    canvas = Image.new("RGB", (width, height), (200, 200, 200))
    cell = width // len(images)
    for i, image in enumerate(images):
        canvas.paste(common.fit(image, cell, height), (i * cell, 0))
    return canvas


def image_only_qwen_processor(image_processor, tokenizer):
    """Qwen2-VL's processor for text and images only.

    The stock ``Qwen2VLProcessor`` insists on a video processor, which needs torchvision, which
    has no CPU wheel on PyPI; the edit pipeline never passes video, so this one leaves it out.
    """
    from transformers import Qwen2VLProcessor
    from transformers.processing_utils import ProcessorMixin

    class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            self.image_token, self.video_token = "<|image_pad|>", "<|video_pad|>"
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            self.video_processor = None
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    return ImageOnlyQwen2VLProcessor(image_processor=image_processor, tokenizer=tokenizer)
