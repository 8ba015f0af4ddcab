"""Image processor -> model -> numpy post-processing for SegFormer (semantic segmentation), DPT (depth) and SuperPoint
(keypoints) on a real image: TensorFlow and Flax give PyTorch's results (the models themselves are checked against
transformers by tests/test_parity.py, the post-processing by tests/test_detection_segmentation.py)."""

import functools

import numpy as np
import pytest
from conftest import FIXTURES
from PIL import Image

import autoload
from autoload.image_processing import DPTImageProcessor, SegformerImageProcessor, SuperPointImageProcessor

CASES = {
    "segmentation": ("segformer/SegformerForSemanticSegmentation", "AutoModelForSemanticSegmentation",
                     SegformerImageProcessor, {"height": 32, "width": 48}, "post_process_semantic_segmentation"),
    "depth": ("dpt/DPTForDepthEstimation", "AutoModelForDepthEstimation", DPTImageProcessor,
              {"height": 32, "width": 32}, "post_process_depth_estimation"),
    "keypoints": ("superpoint/SuperPointForKeypointDetection", "AutoModelForKeypointDetection",
                  SuperPointImageProcessor, {"height": 32, "width": 48}, "post_process_keypoint_detection"),
}  # fmt: skip
FRAMEWORKS = {"torch": ("", "pt"), "tf": ("TF", "tf"), "flax": ("Flax", "np")}


@functools.cache  # PyTorch's result serves both other frameworks
def pipeline(case: str, framework: str):
    folder, auto, processor_class, size, post = CASES[case]
    prefix, tensors = FRAMEWORKS[framework]
    image = Image.open(FIXTURES / "images" / "rgb.png").convert("RGB")
    processor = processor_class(size=size)
    model = getattr(autoload, prefix + auto).from_pretrained(FIXTURES / "models" / folder)
    inputs = processor(image, return_tensors=tensors)
    if framework == "torch":
        import torch

        with torch.no_grad():
            outputs = model(**inputs)
    else:
        outputs = model(**inputs)
    result = getattr(processor, post)(outputs, target_sizes=[image.size[::-1]])[0]
    return {k: np.asarray(v) for k, v in result.items()} if isinstance(result, dict) else {"map": np.asarray(result)}


@pytest.mark.parametrize("framework", ["tf", "flax"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_pipeline_matches_pytorch(case, framework):
    pytest.importorskip("torch")
    pytest.importorskip({"tf": "tensorflow", "flax": "flax"}[framework])
    expected, got = pipeline(case, "torch"), pipeline(case, framework)
    assert sorted(got) == sorted(expected)
    for key, want in expected.items():
        assert got[key].shape == want.shape and got[key].dtype == want.dtype, key
        if want.dtype.kind in "iub":
            np.testing.assert_array_equal(got[key], want, err_msg=key)
        else:
            np.testing.assert_allclose(got[key], want, atol=1e-4, rtol=0, err_msg=key)
    if case == "keypoints":
        assert len(expected["keypoints"]) > 0  # the fixture's weights find keypoints in the image
