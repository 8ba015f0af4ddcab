"""Checks on model configs from checkpoints, done before anything is sized by them.

Two stages. `check_config_dict` runs on the raw JSON of a config.json, before a config object exists: the
fields that size a model (hidden_size, vocab_size, num_hidden_layers …), the token ids, the labels and
model_type must have the right types and ranges. `check_config_against_weights` runs when a model is loaded
from weights, before the model is built: the sizes must be plausible for the checkpoint's total number of
weights (which the readers know from headers alone), so a config claiming a 10**12-token vocabulary or a
million layers is refused instead of exhausting memory or time. Both raise CheckpointFormatError naming the
file, the field and the value expected.
"""

from __future__ import annotations

import functools
import inspect
import math
import reprlib
from collections.abc import Mapping

from .errors import CheckpointFormatError

MAX_SIZE = 2**31 - 1  # no dimension of a real model comes near this
MAX_LABELS = 10**5  # num_labels builds (and copies) an id2label dict of that many entries when the file gives none

# Width of the model: the first of these a config has (aliases such as GPT-2's n_embd resolve through
# attribute_map). Every count below costs at least this many weights per unit.
_WIDTH_FIELDS = ("hidden_size", "d_model", "n_embd", "dim", "embed_dim")
# Rows of a matrix whose other side is the width: embeddings, position tables, classifier outputs.
_ROW_FIELDS = ("vocab_size", "type_vocab_size", "max_position_embeddings", "n_positions", "max_source_positions",
               "max_target_positions", "relative_attention_num_buckets", "num_mel_bins", "projection_dim",
               "classifier_proj_size", "codevector_dim", "proj_codevector_dim", "xvector_output_dim",
               "pooler_output_size", "output_hidden_size", "intermediate_size", "d_ff", "n_inner", "hidden_dim",
               "encoder_ffn_dim", "decoder_ffn_dim", "embedding_size")  # fmt: skip
# Repeated layers: each holds at least width × width weights (an attention projection or a 1×1 convolution).
_LAYER_FIELDS = ("num_hidden_layers", "n_layer", "n_layers", "num_layers", "num_decoder_layers", "encoder_layers",
                 "decoder_layers", "num_adapter_layers", "depths")  # fmt: skip
# Other sizes: positive integers (or lists of them) held to the plain bound.
_OTHER_SIZE_FIELDS = ("num_attention_heads", "n_head", "n_heads", "num_heads", "encoder_attention_heads",
                      "decoder_attention_heads", "num_key_value_heads", "d_kv", "head_dim", "hidden_sizes",
                      "image_size", "patch_size", "num_channels", "window_size", "encoder_stride", "num_stages",
                      "conv_dim", "conv_kernel", "conv_stride", "tdnn_dim", "tdnn_kernel", "tdnn_dilation",
                      "num_conv_pos_embeddings", "num_conv_pos_embedding_groups", "num_codevectors_per_group",
                      "num_codevector_groups", "num_feat_extract_layers", "adapter_kernel_size", "adapter_stride",
                      "relative_attention_max_distance", "sliding_window", "max_window_layers")  # fmt: skip
SIZE_FIELDS = (*_WIDTH_FIELDS, *_ROW_FIELDS, *_LAYER_FIELDS, *_OTHER_SIZE_FIELDS)
# Fields that may also be 0 (a model without token types, an empty adapter) or null (derived from others).
_MAY_BE_ZERO = {"type_vocab_size", "relative_attention_num_buckets", "relative_attention_max_distance",
                "sliding_window", *_LAYER_FIELDS, "max_window_layers"}  # fmt: skip
_MAY_BE_NULL = {"n_inner", "num_key_value_heads", "head_dim", "num_decoder_layers", "sliding_window",
                "max_window_layers", "pooler_output_size", "output_hidden_size", "hidden_sizes", "depths"}  # fmt: skip
TOKEN_ID_FIELDS = ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "decoder_start_token_id",
                   "forced_bos_token_id", "forced_eos_token_id")  # fmt: skip
# Model types whose embeddings take pad_token_id as their padding index (as in transformers 4.57): there a
# pad id outside the vocabulary fails when the model is built.
_PAD_IN_EMBEDDINGS = {"bert", "roberta", "distilbert", "bart", "llama", "mistral", "qwen2", "whisper", "xlm-roberta",
                      "electra", "albert", "deberta-v2", "modernbert", "mbart", "marian", "pegasus"}  # fmt: skip
_FLOOR = 2**22  # sizes this small are cheap to build whatever the checkpoint holds
_SLACK = 4  # a model may hold some weights its checkpoint lacks (a new head), not many times more

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 60
_short.maxlist = _short.maxdict = 6


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _field_error(path, field: str, value, expected: str) -> CheckpointFormatError:
    return CheckpointFormatError(
        f"{path}: the field {field!r} is {_short.repr(value)}; expected {expected}. Fix the config or re-download it."
    )


def check_config_dict(data: dict, path, prefix: str = "") -> None:
    """Types and ranges of the fields of a config.json that size a model, name its labels or its type."""
    model_type = data.get("model_type")
    if model_type is not None and not isinstance(model_type, str):
        raise _field_error(path, prefix + "model_type", model_type, "a string naming the architecture, like \"bert\"")
    architectures = data.get("architectures")
    if architectures is not None and not (isinstance(architectures, list)
                                          and all(isinstance(a, str) for a in architectures)):  # fmt: skip
        raise _field_error(path, prefix + "architectures", architectures, "a list of class names")
    config_class = known_config_class(model_type)
    nullable = getattr(config_class, "nullable_fields", ())
    for field in SIZE_FIELDS:
        if field in data and not (data[field] is None and field in nullable):
            _check_size(data[field], path, prefix + field, field)
    for field in TOKEN_ID_FIELDS:
        value = data.get(field)
        ids = value if isinstance(value, list) and field in ("eos_token_id", "forced_eos_token_id") else [value]
        if not all(v is None or (_is_int(v) and -MAX_SIZE <= v <= MAX_SIZE) for v in ids):
            raise _field_error(path, prefix + field, value, "a token id (an integer) or null")
    _check_labels(data, path, prefix)
    for key, value in data.items():
        if _is_probability_field(key) and value is not None and not (isinstance(value, (int, float)) and 0 <= value <= 1):
            raise _field_error(path, prefix + key, value, "a probability, a number from 0 to 1")
    for key, value in data.items():  # nested configs: text_config, vision_config, encoder, decoder …
        if isinstance(value, dict) and (key.endswith("_config") or key in ("encoder", "decoder")):
            check_config_dict(value, path, prefix=f"{prefix}{key}.")


def _is_probability_field(key: str) -> bool:
    """Dropout rates and other probabilities (hidden_dropout_prob, attn_pdrop, layerdrop, mask_time_prob …)."""
    return ("dropout" in key or key.endswith(("_prob", "_pdrop", "layerdrop", "drop_path_rate"))) and (
        "temperature" not in key)  # fmt: skip


def _check_size(value, path, name: str, field: str) -> None:
    low = 0 if field in _MAY_BE_ZERO else 1
    expected = f"an integer from {low} to {MAX_SIZE}"
    if value is None and field in _MAY_BE_NULL:
        return
    if isinstance(value, list) and field not in _WIDTH_FIELDS:  # depths, hidden_sizes, conv_dim, image_size …
        if not value or not all(_is_int(v) and low <= v <= MAX_SIZE for v in value):
            raise _field_error(path, name, value, f"{expected}, or a list of them")
        return
    if not (_is_int(value) and low <= value <= MAX_SIZE):
        raise _field_error(path, name, value, expected)


def _check_labels(data: dict, path, prefix: str) -> None:
    id2label = data.get("id2label")
    if id2label is not None:
        if not isinstance(id2label, dict):
            raise _field_error(path, prefix + "id2label", id2label, "an object mapping label ids to names")
        for key in id2label:
            if not (isinstance(key, str) and key.strip().lstrip("-").isdigit() and len(key) < 12):
                raise _field_error(path, f"{prefix}id2label key {_short.repr(key)}", key,
                                   "label ids written as integers, like \"0\"")  # fmt: skip
    label2id = data.get("label2id")
    if label2id is not None:
        if not isinstance(label2id, dict):
            raise _field_error(path, prefix + "label2id", label2id, "an object mapping label names to ids")
        for name, value in label2id.items():
            if not (_is_int(value) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()
                                       and len(value) < 12)):  # fmt: skip
                raise _field_error(path, f"{prefix}label2id[{_short.repr(name)}]", value, "an integer label id")
    num_labels = data.get("num_labels")
    if num_labels is not None and not (_is_int(num_labels) and 1 <= num_labels <= MAX_LABELS):
        raise _field_error(path, prefix + "num_labels", num_labels, f"an integer from 1 to {MAX_LABELS}")


# Fields checked on their own above, or whose type legitimately varies.
# (LLaVA's vision_feature_layer is a layer index or a list of them; LlavaConfig checks it.)
_NOT_BY_DEFAULT = {*SIZE_FIELDS, *TOKEN_ID_FIELDS, "id2label", "label2id", "num_labels", "architectures", "model_type",
                   "transformers_version", "dtype", "torch_dtype", "problem_type", "vision_feature_layer"}  # fmt: skip
# Fields whose null means "off" or "the other value" in transformers 4.57 (Gemma 2's soft-capping, ModernBERT's
# local rotary base falling back to the global one, no activation in ELECTRA's sequence summary), and DETR's
# `backbone` (a checkpoint name; null when backbone_config gives the backbone). A config class lists the fields
# only it lets be null in `nullable_fields`.
_NULLABLE = {"attn_logit_softcapping", "final_logit_softcapping", "local_rope_theta", "backbone",
             "summary_activation"}  # fmt: skip
# An integer default of a rate (ALBERT's dropouts are 0) does not make 0.1 wrong.
_RATE_WORDS = ("dropout", "_prob", "_rate")


def check_config_types(data: dict, config_class, path, prefix: str = "") -> None:
    """Every other field of a known config class must have the type of its default (a number where the default
    is a number, a string where it is a string …), so a value of the wrong type is refused here, naming the file
    and field, rather than failing obscurely when the model is built. Null is accepted where the default is."""
    defaults = _defaults_of(config_class)
    sub_configs = getattr(config_class, "sub_configs", {}) or {}
    for key, value in data.items():
        if key in sub_configs and isinstance(value, dict):
            check_config_types(value, sub_configs[key], path, f"{prefix}{key}.")
        elif key in defaults and key not in _NOT_BY_DEFAULT and key not in sub_configs:
            if value is None and (key in _NULLABLE or key in getattr(config_class, "nullable_fields", ())):
                continue
            default = defaults[key]
            if type(default) is int and any(word in key for word in _RATE_WORDS):
                default = float(default)
            check_type(value, default, path, prefix + key)


def check_type(value, default, path, name: str) -> None:
    """`value` of the kind of `default` (bool, number, string, list or object); anything when the default is
    null; null when the default is a list or an object."""
    if default is None:
        return
    if isinstance(default, bool):
        fits, expected = value is None or isinstance(value, (bool, int)), "true or false (or null)"
    elif isinstance(default, int):
        fits, expected = _is_int(value), "an integer"
    elif isinstance(default, float):
        fits, expected = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif isinstance(default, str):
        fits, expected = isinstance(value, str), "a string"
    elif isinstance(default, (list, tuple)):
        fits, expected = value is None or isinstance(value, list), "a list (or null)"
    elif isinstance(default, dict):
        fits, expected = value is None or isinstance(value, dict), "an object (or null)"
    else:
        return
    if not fits:
        raise _field_error(path, name, value, f"{expected}, like its default {_short.repr(default)}")


@functools.cache
def _defaults_of(config_class) -> dict:
    try:
        instance = config_class()
    except Exception:  # noqa: BLE001 - a config class that cannot be built without arguments: no defaults to go by
        return {}
    return {key: value for key, value in vars(instance).items() if not key.startswith("_")}


def known_config_class(model_type):
    """The config class registered for `model_type`, or None."""
    from . import registry

    if not isinstance(model_type, str):
        return None
    try:
        return registry.config_class_for(model_type)
    except ValueError:
        return None


# -- against the weights ---------------------------------------------------------------------------------
def total_elements(weights: Mapping) -> int:
    """The number of weights in a checkpoint, from the readers' headers (no tensor is read)."""
    get_shape = getattr(weights, "shape", None)
    total = 0
    for name in weights:
        shape = get_shape(name) if callable(get_shape) else getattr(weights[name], "shape", ())
        total += math.prod(shape)
    return total


def check_config_against_weights(config, weights: Mapping, config_file, weights_file) -> None:
    """Refuse config sizes that would build a model far larger than the checkpoint `weights` (before building
    it): a size alone, or times the model's width (rows of a width-wide matrix), or times its square (layers),
    must stay within a few times the checkpoint's total number of weights."""
    total = total_elements(weights)
    budget = _SLACK * total + _FLOOR
    for name, sub in _configs(config):
        _check_plausible(sub, name, budget, total, config_file, weights_file)


def _configs(config, prefix: str = ""):
    yield prefix, config
    for key, value in vars(config).items():
        if hasattr(value, "to_dict") and hasattr(value, "model_type"):  # a nested PretrainedConfig
            yield from _configs(value, f"{prefix}{key}.")


def _value(config, field: str):
    try:
        return getattr(config, field)
    except AttributeError:
        return None


def _check_plausible(config, prefix: str, budget: int, total: int, config_file, weights_file) -> None:
    def refuse(field: str, value, need: int, how: str, limit: int):
        raise CheckpointFormatError(
            f"{config_file}: the field {prefix + field!r} is {_short.repr(value)}, which would need about {need} "
            f"weights ({how}), but {weights_file} holds {total} in all; expected {prefix + field} <= {limit}. The "
            "config does not belong to these weights: fix it or re-download the checkpoint."
        )

    width = next((v for f in _WIDTH_FIELDS if _is_int(v := _value(config, f)) and v > 0), None)
    if width is None:
        sizes = _value(config, "hidden_sizes")
        width = min(sizes) if isinstance(sizes, (list, tuple)) and sizes and all(map(_is_int, sizes)) else None
    fields = [f for f in dict.fromkeys(SIZE_FIELDS) if _value(config, f) is not None]
    for field in fields:
        value = _value(config, field)
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not all(_is_int(v) for v in values):
            continue  # a type error the config class reports itself
        biggest = max(values, default=0)
        if biggest > budget:
            refuse(field, value, biggest, "the size itself", budget)
        if width is None:
            continue
        if field in _ROW_FIELDS and biggest * width > budget:
            refuse(field, value, biggest * width, f"{field} x width {width}", budget // width)
        if field in _LAYER_FIELDS:
            layers = sum(values)
            if layers * width * width > budget:
                refuse(field, value, layers * width * width, f"layers x width {width} squared", budget // width**2)
    heads = _value(config, "num_attention_heads")
    if (_is_int(width) and _is_int(heads) and heads > 0 and _value(config, "head_dim") is None
            and _value(config, "hidden_size") == width and width % heads):  # fmt: skip
        raise CheckpointFormatError(
            f"{config_file}: the field {prefix + 'num_attention_heads'!r} is {heads}, which does not divide "
            f"hidden_size {width}; expected a divisor of {width}. Fix the config or re-download the checkpoint."
        )
    labels = len(getattr(config, "id2label", None) or {})
    if width is not None and labels * width > budget:
        refuse("num_labels", labels, labels * width, f"labels x width {width}", budget // width)
    _check_pad_token(config, prefix, config_file)
    _derive_options(config, config_file)


def _derive_options(config, config_file) -> None:
    """Run what a config class offers to derive and check the options its model is built from (methods named
    `*_options`, and `check_sizes`), so that a value the model cannot honour is refused naming config.json,
    before anything is built."""
    for name in sorted(dir(type(config))):
        if name.startswith("_") or not (name.endswith("_options") or name == "check_sizes"):
            continue
        function = inspect.getattr_static(type(config), name, None)
        if not inspect.isfunction(function):  # properties, class attributes: not a derivation to run
            continue
        required = [p for p in list(inspect.signature(function).parameters.values())[1:]
                    if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]  # fmt: skip
        if required:
            continue
        try:
            function(config)
        except CheckpointFormatError:
            raise
        except (ValueError, TypeError, ZeroDivisionError) as exc:
            raise CheckpointFormatError(f"{config_file}: {exc} The model this config describes cannot be built; "
                                        "fix the config or re-download the checkpoint.") from exc  # fmt: skip


def _check_pad_token(config, prefix: str, config_file) -> None:
    pad, vocab = _value(config, "pad_token_id"), _value(config, "vocab_size")
    if type(config).model_type not in _PAD_IN_EMBEDDINGS or not (_is_int(pad) and _is_int(vocab)):
        return
    if not -vocab <= pad < vocab:
        raise CheckpointFormatError(
            f"{config_file}: the field {prefix + 'pad_token_id'!r} is {pad}, outside the vocabulary of vocab_size "
            f"{vocab}; expected a token id from 0 to {vocab - 1}. Fix the config or re-download the checkpoint."
        )


# -- preprocessor_config.json -------------------------------------------------------------------------------------
MAX_IMAGE_SIDE = 16384
MAX_IMAGE_PIXELS = 2**26  # 8192 x 8192: about 800 MB as three float32 planes
_IMAGE_SIZE_FIELDS = ("size", "crop_size", "pad_size", "mask_size", "mask_pad_size", "max_size", "min_size",
                      "image_size", "size_divisor", "size_divisibility", "patch_size", "max_patches",
                      "shortest_edge", "longest_edge")  # fmt: skip
_AUDIO_LIMITS = {"sampling_rate": 10**6, "feature_size": 2**14, "num_mel_bins": 2**14, "n_fft": 2**16,
                 "win_length": 2**16, "hop_length": 2**16, "chunk_length": 3600, "n_samples": 2**28,
                 "nb_max_frames": 2**24, "max_length": 2**28}  # fmt: skip
_AUDIO_MAY_BE_NULL = {"n_samples", "nb_max_frames", "max_length", "win_length"}  # derived from the others when null
MAX_SPECTROGRAM = 2**26  # frames x frequency bins of one padded input
_SIZE_KEYS = ({"height", "width"}, {"shortest_edge"}, {"shortest_edge", "longest_edge"}, {"longest_edge"},
              {"max_height", "max_width"})  # the size dicts image processors understand  # fmt: skip


def check_preprocessor_config(data: dict, path) -> None:
    """Sizes in an image processor's or feature extractor's config, refused before any image or audio buffer is
    sized by them (a 60000 x 60000 resize target would allocate tens of gigabytes)."""
    for field in _IMAGE_SIZE_FIELDS:
        value = data.get(field)
        if value is None:
            continue
        sides = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else [
            (None, value)]  # fmt: skip
        low = 1 if field in ("size", "crop_size") else 0  # an image is resized or cropped to these
        for key, side in sides:
            name = field if key is None else f"{field}[{key!r}]"
            if not (_is_int(side) and low <= side <= MAX_IMAGE_SIDE):
                if isinstance(value, dict) and isinstance(side, bool):
                    continue  # flags kept beside the sizes by some processors
                raise _field_error(path, name, side, f"an integer from {low} to {MAX_IMAGE_SIDE} (pixels)")
        if isinstance(value, dict) and _is_int(value.get("height")) and _is_int(value.get("width")):
            if value["height"] * value["width"] > MAX_IMAGE_PIXELS:
                raise _field_error(path, field, value, f"height x width at most {MAX_IMAGE_PIXELS} pixels")
    for field, limit in _AUDIO_LIMITS.items():
        value = data.get(field, 1)
        if (value is not None or field not in _AUDIO_MAY_BE_NULL) and not (_is_int(value) and 1 <= value <= limit):
            raise _field_error(path, field, value, f"an integer from 1 to {limit}")
    n_fft, hop = data.get("n_fft"), data.get("hop_length")
    samples = max(data.get("n_samples") or 0, (data.get("chunk_length") or 0) * (data.get("sampling_rate") or 0))
    if _is_int(n_fft) and _is_int(hop) and samples:
        size = (samples // hop + 1) * (n_fft // 2 + 1)
        if size > MAX_SPECTROGRAM:
            raise _field_error(path, "n_samples / hop_length", samples // hop,
                               f"spectrograms of at most {MAX_SPECTROGRAM} values ({size} asked for)")  # fmt: skip
    if _is_int(n_fft) and _is_int(data.get("feature_size")) and (n_fft // 2 + 1) * data["feature_size"] > MAX_SPECTROGRAM:
        raise _field_error(path, "feature_size", data["feature_size"], f"at most {MAX_SPECTROGRAM // (n_fft // 2 + 1)} "
                           f"mel bins for n_fft {n_fft}")  # fmt: skip

    _check_preprocessor_values(data, path)


def _check_preprocessor_values(data: dict, path) -> None:
    """The processor named by the file must exist, and its fields have the types of the class's defaults."""
    name = data.get("image_processor_type") or data.get("feature_extractor_type")
    defaults = {}
    if name is not None:
        processor_class = _preprocessor_class(name)
        if processor_class is None:
            field = "image_processor_type" if data.get("image_processor_type") else "feature_extractor_type"
            from .feature_extraction.auto import known_class_names

            raise _field_error(path, field, name, f"an image processor or feature extractor class (Known: "
                               f"{', '.join(known_class_names())}); register your own with "
                               "AutoImageProcessor.register or AutoFeatureExtractor.register")  # fmt: skip
        defaults = getattr(processor_class, "defaults", {})
        for key, default in defaults.items():
            if key in data and key not in _IMAGE_SIZE_FIELDS and key not in _AUDIO_LIMITS:
                check_type(data[key], default, path, key)
    for key in ("image_mean", "image_std"):
        value = data.get(key)
        values = value if isinstance(value, list) else [value]
        if value is not None and not (len(values) == (3 if isinstance(value, list) else 1) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)):  # fmt: skip
            raise _field_error(path, key, value, "a number, or a list of 3 numbers (one per RGB channel)")
    for key in ("padding_side", "truncation_side"):
        if key in data and data[key] not in ("left", "right"):
            raise _field_error(path, key, data[key], '"left" or "right"')
    resample = data.get("resample")
    if resample is not None and not (_is_int(resample) and 0 <= resample <= 5):
        raise _field_error(path, "resample", resample, "one of Pillow's filters, an integer from 0 to 5")
    for flag, needs in (("do_resize", "size"), ("do_center_crop", "crop_size"), ("do_rescale", "rescale_factor"),
                        ("do_normalize", "image_mean"), ("do_normalize", "image_std")):  # fmt: skip
        settings = {**defaults, **data}  # a field the file leaves out takes the class default
        if settings.get(flag) is True and needs in settings and settings[needs] is None:
            raise _field_error(path, needs, None, f"a value, since {flag} is true")
    for key in ("size", "crop_size"):
        value = data.get(key)
        if isinstance(value, list) and len(value) != 2:
            raise _field_error(path, key, value, "an integer, a [height, width] pair or an object of sizes")
        sides = {k for k, v in value.items() if not isinstance(v, bool)} if isinstance(value, dict) else None
        if sides is not None and sides not in _SIZE_KEYS:
            raise _field_error(path, key, value, "an object with the keys height and width, or shortest_edge (and "
                               "longest_edge), or longest_edge, or max_height and max_width")  # fmt: skip


def _preprocessor_class(name):
    if not isinstance(name, str):
        return None
    from .feature_extraction.auto import feature_extractor_class

    try:
        return feature_extractor_class(name)  # knows the image processors too
    except (ValueError, KeyError, ImportError, AttributeError):
        return None
