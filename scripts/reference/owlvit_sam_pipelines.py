"""End-to-end references of transformers 4.57.6 for OWL-ViT and SAM: the image processor on real test images
(sized down to the tiny fixture models), the model fixture's checkpoint, and the post-processing users call
(OWL-ViT's grounded and image-guided detection, SAM's post_process_masks). Written to
tests/fixtures/prompted_vision_pipelines/<case>/: expected.npz (processor outputs, model outputs and results,
flattened) and case.json (images, processor overrides and call arguments).

Run in the side environment that has transformers: `python scripts/reference/owlvit_sam_pipelines.py`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
import transformers
from PIL import Image

assert transformers.__version__ == "4.57.6", transformers.__version__

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
OUT = FIXTURES / "prompted_vision_pipelines"
IMAGES = ["rgb.png", "gray.png"]


def images(names, rgb: bool = False):
    loaded = [Image.open(FIXTURES / "images" / name) for name in names]
    return [image.convert("RGB") for image in loaded] if rgb else loaded


def save(name: str, case: dict, arrays: dict) -> None:
    folder = OUT / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    np.savez_compressed(folder / "expected.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    (folder / "case.json").write_text(json.dumps(case, indent=1) + "\n")
    print(name, {k: np.asarray(v).shape for k, v in arrays.items()})


def detections(prefix: str, results: list[dict]) -> dict:
    found = {}
    for i, result in enumerate(results):
        for key in ("scores", "labels", "boxes"):
            if result.get(key) is not None:
                found[f"{prefix}_{i}_{key}"] = result[key].numpy()
    return found


def owlvit() -> None:
    overrides = {"size": {"height": 32, "width": 32}, "crop_size": {"height": 32, "width": 32}}
    processor = transformers.OwlViTImageProcessor.from_pretrained(FIXTURES / "processors" / "owlvit", **overrides)
    checkpoint = FIXTURES / "models" / "owlvit" / "OwlViTForObjectDetection"
    model = transformers.OwlViTForObjectDetection.from_pretrained(checkpoint).eval()
    text = dict(np.load(checkpoint / "inputs.npz"))
    # OWL-ViT's image processor takes 3-channel images: the gray one is converted first, as a user would
    pixels = processor(images=images(IMAGES, rgb=True), return_tensors="pt")["pixel_values"]
    queries = processor(images=images(IMAGES[::-1], rgb=True), return_tensors="pt")["pixel_values"]
    sizes = torch.tensor([image.size[::-1] for image in images(IMAGES)])
    with torch.no_grad():
        outputs = model(input_ids=torch.from_numpy(text["input_ids"]),
                        attention_mask=torch.from_numpy(text["attention_mask"]), pixel_values=pixels)
        guided = model.image_guided_detection(pixel_values=pixels, query_pixel_values=queries)
    found = {"pixel_values": pixels.numpy(), "query_pixel_values": queries.numpy(), "logits": outputs.logits.numpy(),
             "pred_boxes": outputs.pred_boxes.numpy(), "guided_logits": guided.logits.numpy(),
             "guided_target_pred_boxes": guided.target_pred_boxes.numpy()}
    found |= detections("text", processor.post_process_object_detection(outputs, threshold=0.0, target_sizes=sizes))
    found |= detections("guided", processor.post_process_image_guided_detection(guided, threshold=0.0,
                                                                                nms_threshold=0.3, target_sizes=sizes))
    save("owlvit", {"images": IMAGES, "query_images": IMAGES[::-1], "convert_rgb": True, "overrides": overrides,
                    "checkpoint": "owlvit/OwlViTForObjectDetection", "target_sizes": sizes.tolist()}, found)


def sam() -> None:
    overrides = {"size": {"longest_edge": 32}, "pad_size": {"height": 32, "width": 32}}
    image_processor = transformers.SamImageProcessor.from_pretrained(FIXTURES / "processors" / "sam", **overrides)
    processor = transformers.SamProcessor(image_processor)
    model = transformers.SamModel.from_pretrained(FIXTURES / "models" / "sam" / "SamModel").eval()
    points = [[[400.0, 200.0], [100.0, 50.0]], [[150.0, 30.0], [20.0, 80.0]]]
    labels = [[1, 0], [1, 1]]
    boxes = [[[50.0, 40.0, 500.0, 400.0]], [[10.0, 10.0, 190.0, 90.0]]]
    inputs = processor(images=images(IMAGES), input_points=[[p] for p in points], input_labels=[[lab] for lab in labels],
                       input_boxes=boxes, return_tensors="pt")
    with torch.no_grad():
        outputs = model(**{k: v for k, v in inputs.items() if k not in ("original_sizes", "reshaped_input_sizes")})
    found = {k: v.numpy() for k, v in inputs.items()}
    found |= {"iou_scores": outputs.iou_scores.numpy(), "pred_masks": outputs.pred_masks.numpy()}
    masks = processor.post_process_masks(outputs.pred_masks, inputs["original_sizes"], inputs["reshaped_input_sizes"])
    found |= {f"masks_{i}": m.numpy() for i, m in enumerate(masks)}  # boolean, at the original image sizes
    save("sam", {"images": IMAGES, "convert_rgb": False, "overrides": overrides, "checkpoint": "sam/SamModel", "input_points": points,
                 "input_labels": labels, "input_boxes": boxes}, found)


if __name__ == "__main__":
    owlvit()
    sam()
