from .base import BaseImageProcessor


class CLIPImageProcessor(BaseImageProcessor):
    """Resize the short side to shortest_edge (bicubic), center-crop, rescale, normalise with CLIP's stats."""

    defaults = {**BaseImageProcessor.defaults, "size": {"shortest_edge": 224}, "resample": 3, "do_center_crop": True,
                "crop_size": {"height": 224, "width": 224}, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                "image_std": [0.26862954, 0.26130258, 0.27577711], "do_convert_rgb": True}  # fmt: skip


CLIPFeatureExtractor = CLIPImageProcessor
