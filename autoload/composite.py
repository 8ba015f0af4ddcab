"""Models made of whole models (VisionEncoderDecoder's `encoder` and `decoder`, LLaVA's towers): what every
backend needs to know about the parts, decided here once."""

from __future__ import annotations

from collections.abc import Mapping

from .loading import RenamedMapping


def strip_part_prefix(state: Mapping, part: str, prefix: str) -> Mapping:
    """Checkpoint names of a base-model part as the model names them: transformers' TF classes keep the part's
    base prefix (`encoder.vit.embeddings…` in a TFVisionEncoderDecoderModel's tf_model.h5) where the PyTorch
    state dict has none (`encoder.embeddings…`)."""
    if not prefix:
        return state
    nested = f"{part}.{prefix}."
    if not any(key.startswith(nested) for key in state):
        return state
    return RenamedMapping(state, {(f"{part}." + key[len(nested):] if key.startswith(nested) else key): key
                                  for key in state})  # fmt: skip


def split_part_kwargs(kwargs: dict, part: str) -> tuple[dict, dict]:
    """(the keyword arguments named `<part>_…` without that prefix, the others): how from_encoder_decoder_pretrained
    and the forward pass route keyword arguments to one part."""
    dotted = part + "_"
    mine = {k[len(dotted):]: v for k, v in kwargs.items() if k.startswith(dotted)}
    return mine, {k: v for k, v in kwargs.items() if not k.startswith(dotted)}


def pretrained_parts(backend: str, encoder_source, decoder_source, kwargs: dict,
                     decoder_family: str = "MODEL_FOR_CAUSAL_LM") -> tuple:
    """(encoder, decoder, remaining kwargs) for from_encoder_decoder_pretrained: the encoder as its AutoModel, the
    decoder as its causal LM with is_decoder and add_cross_attention set. `encoder_model=` / `decoder_model=`
    pass a built part; other `encoder_…` / `decoder_…` keyword arguments go to that part's from_pretrained."""
    from . import registry
    from .auto.config import AutoConfig

    encoder_kwargs, kwargs = split_part_kwargs(kwargs, "encoder")
    decoder_kwargs, kwargs = split_part_kwargs(kwargs, "decoder")
    encoder, decoder = encoder_kwargs.pop("model", None), decoder_kwargs.pop("model", None)
    if encoder is None:
        if encoder_source is None:
            raise ValueError("from_encoder_decoder_pretrained needs encoder_pretrained_model_name_or_path (or "
                             "encoder_model=).")  # fmt: skip
        config = encoder_kwargs.pop("config", None) or AutoConfig.from_pretrained(encoder_source)
        encoder = registry.model_class_for("MODEL", backend, config).from_pretrained(
            encoder_source, config=config, **encoder_kwargs)
    if decoder is None:
        if decoder_source is None:
            raise ValueError("from_encoder_decoder_pretrained needs decoder_pretrained_model_name_or_path (or "
                             "decoder_model=).")  # fmt: skip
        config = decoder_kwargs.pop("config", None) or AutoConfig.from_pretrained(decoder_source)
        config.is_decoder, config.add_cross_attention = True, True
        decoder = registry.model_class_for(decoder_family, backend, config).from_pretrained(
            decoder_source, config=config, **decoder_kwargs)
    return encoder, decoder, kwargs


def diff_dict_with_parts(config, parts: tuple[str, ...], keep: tuple[str, ...] = ()) -> dict:
    """config.json as transformers writes a composite config: the top-level fields that differ from a bare
    PretrainedConfig's, and each part's own diff (without its transformers_version)."""
    from .configuration import PretrainedConfig

    full = config.to_dict()
    base = PretrainedConfig().to_dict()
    always = {"model_type", "transformers_version", "architectures", *keep}
    data = {k: v for k, v in full.items() if k in always or k not in base or v != base[k]}
    for part in parts:
        data[part] = _part_diff(getattr(config, part), base)
    return data


def _part_diff(part, base: dict) -> dict:
    """A part's fields that a bare PretrainedConfig lacks or that differ from its own class's defaults (its
    model_type always)."""
    try:
        defaults = type(part)().to_dict()
    except (TypeError, ValueError):  # a class that needs arguments: compare with the bare config
        defaults = base
    return {k: v for k, v in part.to_dict().items()
            if k == "model_type" or (k != "transformers_version" and (k not in base or v != defaults.get(k, base[k])))}


def sub_config(value, owner: str, field: str, default_type: str | None = None, **defaults):
    """A part's config from a config object, a dict naming its model_type (or `default_type`), or None (then
    `default_type` built with `defaults`)."""
    from . import registry
    from .configuration import PretrainedConfig

    if isinstance(value, PretrainedConfig):
        return value
    if value is None and default_type is not None:
        return registry.config_class_for(default_type)(**defaults)
    if not isinstance(value, dict):
        raise ValueError(f"{owner}.{field} must be a config or a dict of its fields, got {value!r}.")
    value = dict(value)
    model_type = value.pop("model_type", default_type)
    if not isinstance(model_type, str):
        raise ValueError(f"{owner}.{field} needs a model_type naming the architecture, got {model_type!r}.")
    return registry.config_class_for(model_type).from_dict(value)
