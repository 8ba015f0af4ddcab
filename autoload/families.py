"""The task families of the Auto API: each maps a config to the model class for one task.

A family key is transformers' mapping name without `_MAPPING` (MODEL, MODEL_FOR_MASKED_LM, ...); the
suffix builds the Auto class names: AutoModel{suffix}, TFAutoModel{suffix}, FlaxAutoModel{suffix}.
"""

FAMILIES: dict[str, str] = {
    "MODEL": "",
    "MODEL_FOR_PRETRAINING": "ForPreTraining",
    "MODEL_FOR_CAUSAL_LM": "ForCausalLM",
    "MODEL_FOR_MASKED_LM": "ForMaskedLM",
    "MODEL_FOR_MASK_GENERATION": "ForMaskGeneration",
    "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM": "ForSeq2SeqLM",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION": "ForSequenceClassification",
    "MODEL_FOR_MULTIPLE_CHOICE": "ForMultipleChoice",
    "MODEL_FOR_NEXT_SENTENCE_PREDICTION": "ForNextSentencePrediction",
    "MODEL_FOR_TOKEN_CLASSIFICATION": "ForTokenClassification",
    "MODEL_FOR_QUESTION_ANSWERING": "ForQuestionAnswering",
    "MODEL_FOR_TEXT_ENCODING": "ForTextEncoding",
    "MODEL_FOR_DEPTH_ESTIMATION": "ForDepthEstimation",
    "MODEL_FOR_IMAGE_CLASSIFICATION": "ForImageClassification",
    "MODEL_FOR_VIDEO_CLASSIFICATION": "ForVideoClassification",
    "MODEL_FOR_KEYPOINT_DETECTION": "ForKeypointDetection",
    "MODEL_FOR_MASKED_IMAGE_MODELING": "ForMaskedImageModeling",
    "MODEL_FOR_OBJECT_DETECTION": "ForObjectDetection",
    "MODEL_FOR_IMAGE_SEGMENTATION": "ForImageSegmentation",
    "MODEL_FOR_IMAGE_TO_IMAGE": "ForImageToImage",
    "MODEL_FOR_SEMANTIC_SEGMENTATION": "ForSemanticSegmentation",
    "MODEL_FOR_INSTANCE_SEGMENTATION": "ForInstanceSegmentation",
    "MODEL_FOR_UNIVERSAL_SEGMENTATION": "ForUniversalSegmentation",
    "MODEL_FOR_ZERO_SHOT_IMAGE_CLASSIFICATION": "ForZeroShotImageClassification",
    "MODEL_FOR_ZERO_SHOT_OBJECT_DETECTION": "ForZeroShotObjectDetection",
    "MODEL_FOR_AUDIO_CLASSIFICATION": "ForAudioClassification",
    "MODEL_FOR_AUDIO_FRAME_CLASSIFICATION": "ForAudioFrameClassification",
    "MODEL_FOR_CTC": "ForCTC",
    "MODEL_FOR_SPEECH_SEQ_2_SEQ": "ForSpeechSeq2Seq",
    "MODEL_FOR_AUDIO_XVECTOR": "ForAudioXVector",
    "MODEL_FOR_TEXT_TO_SPECTROGRAM": "ForTextToSpectrogram",
    "MODEL_FOR_TEXT_TO_WAVEFORM": "ForTextToWaveform",
    "MODEL_FOR_TABLE_QUESTION_ANSWERING": "ForTableQuestionAnswering",
    "MODEL_FOR_DOCUMENT_QUESTION_ANSWERING": "ForDocumentQuestionAnswering",
    "MODEL_FOR_VISUAL_QUESTION_ANSWERING": "ForVisualQuestionAnswering",
    "MODEL_FOR_VISION_2_SEQ": "ForVision2Seq",
    "MODEL_FOR_IMAGE_TEXT_TO_TEXT": "ForImageTextToText",
    "MODEL_FOR_BACKBONE": "Backbone",
    "MODEL_WITH_LM_HEAD": "WithLMHead",  # deprecated in transformers; derived, see with_lm_head.py
}

BACKENDS = ("torch", "tf", "flax")
CLASS_PREFIX = {"torch": "", "tf": "TF", "flax": "Flax"}


def auto_class_name(family: str, backend: str) -> str:
    if family == "MODEL_FOR_BACKBONE":
        return CLASS_PREFIX[backend] + "AutoBackbone"
    return f"{CLASS_PREFIX[backend]}AutoModel{FAMILIES[family]}"


AUTO_CLASS_NAMES: dict[str, tuple[str, str]] = {
    auto_class_name(family, backend): (family, backend) for family in FAMILIES for backend in BACKENDS
}
