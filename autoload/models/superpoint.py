"""SuperPoint: a VGG-style convolutional encoder with a keypoint decoder (scores per pixel from 65-way softmax cells,
non-maximum suppression, a threshold, border removal, top-k) and a descriptor decoder (L2-normalised descriptors
sampled bilinearly at the keypoints)."""

from __future__ import annotations

from ..configuration import PretrainedConfig

CELL = 8  # each encoder position scores an 8 x 8 cell of pixels (64 classes plus "no keypoint")


class SuperPointConfig(PretrainedConfig):
    model_type = "superpoint"

    def __init__(
        self,
        encoder_hidden_sizes=(64, 64, 128, 128),
        decoder_hidden_size=256,
        keypoint_decoder_dim=65,
        descriptor_decoder_dim=256,
        keypoint_threshold=0.005,
        max_keypoints=-1,
        nms_radius=4,
        border_removal_distance=4,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.encoder_hidden_sizes = list(encoder_hidden_sizes)
        self.decoder_hidden_size = decoder_hidden_size
        self.keypoint_decoder_dim = keypoint_decoder_dim
        self.descriptor_decoder_dim = descriptor_decoder_dim
        self.keypoint_threshold = keypoint_threshold
        self.max_keypoints = max_keypoints
        self.nms_radius = nms_radius
        self.border_removal_distance = border_removal_distance
        self.initializer_range = initializer_range

    def check_sizes(self) -> None:
        """What the decoders need: 65 keypoint classes (an 8 x 8 cell and "none"), at least two encoder blocks,
        a non-negative NMS radius."""
        if self.keypoint_decoder_dim != CELL * CELL + 1:
            raise ValueError(
                f"SuperPointConfig: keypoint_decoder_dim must be {CELL * CELL + 1} (an {CELL}x{CELL} cell of pixels "
                f"plus 'no keypoint'), got {self.keypoint_decoder_dim}."
            )
        if len(self.encoder_hidden_sizes) < 2:
            raise ValueError(
                f"SuperPointConfig: encoder_hidden_sizes needs at least two blocks, got {self.encoder_hidden_sizes}."
            )
        if self.nms_radius < 0:
            raise ValueError(f"SuperPointConfig: nms_radius must be >= 0 (got {self.nms_radius}).")


CONFIG_CLASS = SuperPointConfig
ARCHITECTURES = {"MODEL_FOR_KEYPOINT_DETECTION": "SuperPointForKeypointDetection"}
BACKENDS = ("torch", "tf", "flax")
