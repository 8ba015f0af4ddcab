"""Every vision family of autoload on one image: detect objects, segment it (panoptic, semantic, instance,
universal), estimate depth, super-resolve it, find keypoints, generate a mask from a point prompt, detect objects
from text queries and classify a (still) video, each with its Auto class, its processor and its post-processing.

    python examples/vision_tasks.py                      # PyTorch
    python examples/vision_tasks.py --framework tf       # or flax
    python examples/vision_tasks.py --image my.jpg

By default the checkpoints are the tiny random ones of the test fixtures (tests/fixtures/models/<type>/<Class>/,
processors under tests/fixtures/image_processors/ or processors/), so the results are random but every step runs
in seconds. A Hub id works the same way: `AutoModelForObjectDetection.from_pretrained("facebook/detr-resnet-50")`
with `AutoImageProcessor.from_pretrained("facebook/detr-resnet-50")`; `--checkpoint-root` points at a folder laid
out like tests/fixtures (models/<type>/<Class>/ and image_processors/<type>/ or processors/<type>/).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import autoload

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
PREFIX = {"torch": "", "tf": "TF", "flax": "Flax"}
TENSORS = {"torch": "pt", "tf": "tf", "flax": "np"}
# The tiny fixture models take small inputs; real checkpoints use their processors' own sizes.
TINY_SIZES = {
    "detr": {"size": {"shortest_edge": 32, "longest_edge": 48}},
    "segformer": {"size": {"height": 32, "width": 48}},
    "maskformer": {"size": {"shortest_edge": 32, "longest_edge": 48}},
    "dpt": {"size": {"height": 32, "width": 32}},
    "superpoint": {"size": {"height": 32, "width": 48}},
    "sam": {"size": {"longest_edge": 32}, "pad_size": {"height": 32, "width": 32}},
    "owlvit": {"size": {"height": 32, "width": 32}, "crop_size": {"height": 32, "width": 32}},
    "videomae": {"size": {"shortest_edge": 16}, "crop_size": {"height": 16, "width": 16}},
}
TINY_SWIN2SR_INPUT = (24, 18)  # the tiny Swin2SR upscales a thumbnail; a real one takes the whole image


class Runner:
    def __init__(self, framework: str, root: Path, image: Image.Image, threshold: float):
        self.framework, self.root, self.image, self.threshold = framework, root, image, threshold
        self.tiny = root == FIXTURES
        self.target_sizes = [image.size[::-1]]  # (height, width) per image

    def model(self, auto: str, model_type: str, folder: str):
        auto_class = getattr(autoload, PREFIX[self.framework] + auto)
        return auto_class.from_pretrained(self.root / "models" / model_type / folder)

    def processor(self, model_type: str, auto: str = "AutoImageProcessor"):
        folder = self.root / ("processors" if auto == "AutoProcessor" else "image_processors") / model_type
        sizes = TINY_SIZES.get(model_type, {}) if self.tiny else {}
        return getattr(autoload, auto).from_pretrained(folder, **sizes)

    def run(self, model, **inputs):
        if self.framework == "torch":
            import torch

            with torch.no_grad():
                return model(**inputs)
        return model(**inputs)

    def detect(self, model_type: str, folder: str, auto: str):
        processor, model = self.processor(model_type), self.model(auto, model_type, folder)
        outputs = self.run(model, **processor(self.image, return_tensors=TENSORS[self.framework]))
        return processor, model, outputs


def object_detection(r: Runner) -> str:
    processor, model, outputs = r.detect("detr", "DetrForObjectDetection", "AutoModelForObjectDetection")
    found = processor.post_process_object_detection(outputs, threshold=r.threshold, target_sizes=r.target_sizes)[0]
    return describe_boxes(found, model.config.id2label)


def image_segmentation(r: Runner) -> str:
    processor, _, outputs = r.detect("detr", "DetrForSegmentation", "AutoModelForImageSegmentation")
    found = processor.post_process_panoptic_segmentation(outputs, threshold=r.threshold, target_sizes=r.target_sizes)
    return describe_segments(found[0])


def semantic_segmentation(r: Runner) -> str:
    processor, _, outputs = r.detect("segformer", "SegformerForSemanticSegmentation",
                                     "AutoModelForSemanticSegmentation")  # fmt: skip
    classes = np.asarray(processor.post_process_semantic_segmentation(outputs, target_sizes=r.target_sizes)[0])
    return f"class map {classes.shape[0]}x{classes.shape[1]}, classes present {np.unique(classes).tolist()}"


def instance_segmentation(r: Runner) -> str:
    processor, _, outputs = r.detect("maskformer", "MaskFormerForInstanceSegmentation",
                                     "AutoModelForInstanceSegmentation")  # fmt: skip
    found = processor.post_process_instance_segmentation(outputs, threshold=r.threshold, target_sizes=r.target_sizes)
    return describe_segments(found[0])


def universal_segmentation(r: Runner) -> str:
    processor, _, outputs = r.detect("maskformer", "MaskFormerForInstanceSegmentation",
                                     "AutoModelForUniversalSegmentation")  # fmt: skip
    found = processor.post_process_panoptic_segmentation(outputs, threshold=r.threshold, target_sizes=r.target_sizes)
    return describe_segments(found[0])


def depth_estimation(r: Runner) -> str:
    processor, _, outputs = r.detect("dpt", "DPTForDepthEstimation", "AutoModelForDepthEstimation")
    found = processor.post_process_depth_estimation(outputs, target_sizes=r.target_sizes)[0]
    depth = np.asarray(found["predicted_depth"])
    return f"depth map {depth.shape[0]}x{depth.shape[1]}, range {depth.min():.3f} to {depth.max():.3f}"


def image_to_image(r: Runner) -> str:
    processor = r.processor("swin2sr")
    model = r.model("AutoModelForImageToImage", "swin2sr", "Swin2SRForImageSuperResolution")
    image = r.image.resize(TINY_SWIN2SR_INPUT) if r.tiny else r.image
    outputs = r.run(model, **processor(image, return_tensors=TENSORS[r.framework]))
    # the output covers the input padded to the window size: crop it back to the input times the upscale factor
    width, height = image.size
    scale = model.config.upscale
    restored = np.asarray(outputs.reconstruction)[0][:, : height * scale, : width * scale]
    pixels = (np.clip(restored, 0, 1).transpose(1, 2, 0) * 255).round().astype(np.uint8)
    upscaled = Image.fromarray(pixels)
    return f"{width}x{height} -> {upscaled.size[0]}x{upscaled.size[1]} (x{scale})"


def keypoint_detection(r: Runner) -> str:
    processor, _, outputs = r.detect("superpoint", "SuperPointForKeypointDetection", "AutoModelForKeypointDetection")
    found = processor.post_process_keypoint_detection(outputs, target_sizes=r.target_sizes)[0]
    scores = np.asarray(found["scores"])
    best = f", best score {scores.max():.3f}" if len(scores) else ""
    return f"{len(scores)} keypoints{best}"


def mask_generation(r: Runner) -> str:
    processor = r.processor("sam", "AutoProcessor")
    model = r.model("AutoModelForMaskGeneration", "sam", "SamModel")
    width, height = r.image.size
    inputs = processor(r.image, input_points=[[[[width / 2, height / 2]]]], return_tensors=TENSORS[r.framework])
    prompts = {k: v for k, v in inputs.items() if k not in ("original_sizes", "reshaped_input_sizes")}
    outputs = r.run(model, **prompts)
    masks = processor.post_process_masks(np.asarray(outputs.pred_masks), np.asarray(inputs["original_sizes"]),
                                         np.asarray(inputs["reshaped_input_sizes"]))[0]  # fmt: skip
    masks, scores = np.asarray(masks)[0], np.asarray(outputs.iou_scores)[0, 0]
    best = int(scores.argmax())
    return (f"{len(masks)} masks {masks.shape[1]}x{masks.shape[2]} for the centre point; best IoU score "
            f"{scores[best]:.3f} covers {masks[best].mean():.1%} of the image")  # fmt: skip


def zero_shot_object_detection(r: Runner) -> str:
    processor = r.processor("owlvit", "AutoProcessor")
    model = r.model("AutoModelForZeroShotObjectDetection", "owlvit", "OwlViTForObjectDetection")
    queries = [["a photo of a cat", "a photo of a dog"]]
    inputs = dict(processor(text=queries, images=r.image, return_tensors="np"))
    vocab = model.config.text_config.vocab_size
    if r.tiny and inputs["input_ids"].max() >= vocab:
        # the tiny random checkpoint knows 99 tokens, fewer than its test tokenizer: fold the ids into them
        inputs["input_ids"] = inputs["input_ids"] % vocab
    outputs = r.run(model, **as_tensors(inputs, r.framework))
    found = processor.post_process_grounded_object_detection(
        outputs, threshold=r.threshold, target_sizes=r.target_sizes, text_labels=queries
    )[0]
    return describe_boxes(found, None)


def video_classification(r: Runner) -> str:
    processor = r.processor("videomae")
    model = r.model("AutoModelForVideoClassification", "videomae", "VideoMAEForVideoClassification")
    frames = [r.image] * model.config.num_frames  # 16 frames for real VideoMAE checkpoints
    outputs = r.run(model, **processor([frames], return_tensors=TENSORS[r.framework]))
    logits = np.asarray(outputs.logits)[0]
    best = int(logits.argmax())
    return f"{len(frames)} frames -> top class {model.config.id2label[best]!r} (logit {logits[best]:.3f})"


def as_tensors(inputs: dict, framework: str) -> dict:
    if framework == "torch":
        import torch

        return {k: torch.from_numpy(np.asarray(v)) for k, v in inputs.items()}
    if framework == "tf":
        import tensorflow as tf

        return {k: tf.convert_to_tensor(np.asarray(v)) for k, v in inputs.items()}
    return {k: np.asarray(v) for k, v in inputs.items()}


def describe_boxes(found: dict, id2label: dict | None) -> str:
    scores = np.asarray(found["scores"])
    if not len(scores):
        return "no boxes above the threshold"
    best = int(scores.argmax())
    label = int(np.asarray(found["labels"])[best])
    name = found["text_labels"][best] if found.get("text_labels") else (id2label or {}).get(label, label)
    box = ", ".join(f"{x:.0f}" for x in np.asarray(found["boxes"])[best])
    return f"{len(scores)} boxes; best {name!r} score {scores[best]:.3f} at [{box}]"


def describe_segments(found: dict) -> str:
    segmentation = np.asarray(found["segmentation"])
    return f"{len(found['segments_info'])} segments in a {segmentation.shape[0]}x{segmentation.shape[1]} map"


FAMILIES = {
    "ObjectDetection": object_detection,
    "ImageSegmentation": image_segmentation,
    "SemanticSegmentation": semantic_segmentation,
    "InstanceSegmentation": instance_segmentation,
    "UniversalSegmentation": universal_segmentation,
    "DepthEstimation": depth_estimation,
    "ImageToImage": image_to_image,
    "KeypointDetection": keypoint_detection,
    "MaskGeneration": mask_generation,
    "ZeroShotObjectDetection": zero_shot_object_detection,
    "VideoClassification": video_classification,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--framework", choices=sorted(PREFIX), default="torch")
    parser.add_argument("--image", type=Path, default=FIXTURES / "images" / "rgb.png")
    parser.add_argument("--checkpoint-root", type=Path, default=FIXTURES)
    parser.add_argument("--threshold", type=float, default=0.1, help="score threshold of detections and segments")
    parser.add_argument("--only", nargs="*", choices=sorted(FAMILIES), help="run only these families")
    args = parser.parse_args(argv)
    image = Image.open(args.image).convert("RGB")
    runner = Runner(args.framework, args.checkpoint_root.resolve(), image, args.threshold)
    failed = 0
    for family, task in FAMILIES.items():
        if args.only and family not in args.only:
            continue
        try:
            print(f"{family}: {task(runner)}", flush=True)
        except Exception as error:  # report every family, then fail
            failed += 1
            print(f"{family}: FAILED {type(error).__name__}: {error}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
