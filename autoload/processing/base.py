"""ProcessorMixin: loads, saves and delegates to a processor's parts (a tokenizer plus an image processor
or feature extractor), each from its own files in the same folder."""

from __future__ import annotations

import json
import os

from ..atomic_save import saves_atomically
from ..errors import CheckpointNotFoundError
from ..hub import HubOptions, cached_file
from ..hub_push import PushToHubMixin
from ..json_files import read_json_file

PROCESSOR_CONFIG_NAME = "processor_config.json"
LEGACY_CHAT_TEMPLATE_NAME = "chat_template.json"


class ProcessorMixin(PushToHubMixin):
    # attribute name -> the Auto class that loads it ("tokenizer" -> AutoTokenizer …)
    parts: dict[str, str] = {}
    # Settings of the processor itself (LLaVA's patch_size …), kept in processor_config.json.
    processor_attributes: tuple[str, ...] = ()
    chat_template = None  # a Jinja template (or {name: template}) for apply_chat_template

    def __init__(self, **parts):
        for name in self.parts:
            if parts.get(name) is None:
                raise ValueError(f"{type(self).__name__} needs a {name}.")
            setattr(self, name, parts[name])

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        import autoload

        loaded = {}
        for name, auto_name in cls.parts.items():
            try:
                loaded[name] = getattr(autoload, auto_name).from_pretrained(pretrained_model_name_or_path, **kwargs)
            except (OSError, ValueError) as exc:
                where = os.fspath(pretrained_model_name_or_path)
                raise CheckpointNotFoundError(
                    f"{cls.__name__} needs a {name} but {where} has none that {auto_name} can load ({exc}). "
                    f"Add the {name}'s files, or load the parts separately."
                ) from exc
        options = hub_options(kwargs)
        settings = read_processor_config(pretrained_model_name_or_path, options)
        values = {name: settings[name] for name in cls.processor_attributes if name in settings}
        values.update({name: kwargs[name] for name in cls.processor_attributes if name in kwargs})
        processor = cls(**loaded, **values)
        template = read_processor_chat_template(pretrained_model_name_or_path, options, settings)
        if template is not None:
            processor.chat_template = template
        return processor

    @saves_atomically  # staged: an interrupted save never leaves a mix of old and new files
    def save_pretrained(self, save_directory, **kwargs) -> list[str]:
        os.makedirs(save_directory, exist_ok=True)
        written = []
        for name in self.parts:
            result = getattr(self, name).save_pretrained(save_directory)
            written += list(result) if isinstance(result, (list, tuple)) else []
        # Each part's own config records which processor it belongs to, as transformers writes it.
        for config_name in ("tokenizer_config.json", "preprocessor_config.json"):
            path = os.path.join(save_directory, config_name)
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    data = json.load(f)
                data["processor_class"] = type(self).__name__
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(data, f, indent=2, sort_keys=True)
        if self.processor_attributes:
            path = os.path.join(save_directory, PROCESSOR_CONFIG_NAME)
            config = {name: getattr(self, name) for name in self.processor_attributes}
            with open(path, "w", encoding="utf-8") as f:
                f.write(json.dumps({**config, "processor_class": type(self).__name__}, indent=2, sort_keys=True) + "\n")
            written.append(path)
        if self.chat_template is not None:
            from ..tokenization.chat_template import write_template_files

            written += write_template_files(self.chat_template, os.fspath(save_directory))
        return written

    def apply_chat_template(self, conversation, chat_template=None, **kwargs):
        """Render a conversation (messages whose content lists text and images) with the processor's chat template;
        with tokenize=True also load the images it names and run the processor on them (see chat.py)."""
        from .chat import apply_chat_template

        return apply_chat_template(self, conversation, chat_template=chat_template, **kwargs)

    # Decoding always belongs to the tokenizer.
    def batch_decode(self, *args, **kwargs):
        return self.tokenizer.batch_decode(*args, **kwargs)

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{n}={type(getattr(self, n)).__name__}' for n in self.parts)})"


def hub_options(kwargs: dict) -> HubOptions:
    return HubOptions(**{k: kwargs[k] for k in HubOptions.KEYS if k in kwargs and kwargs[k] is not None})


def read_processor_config(source, options: HubOptions) -> dict:
    """processor_config.json of a folder or Hub repo ({} without one)."""
    path = cached_file(source, PROCESSOR_CONFIG_NAME, options, required=False)
    return read_json_file(path, fix="Re-download or re-save the processor") if path else {}


def read_processor_chat_template(source, options: HubOptions, settings: dict):
    """The processor's chat template: chat_template.jinja (and additional_chat_templates/), else the older
    chat_template.json, else a "chat_template" in processor_config.json; None without one."""
    from ..tokenization.loading import read_chat_template_files

    templates = read_chat_template_files(source, options)
    if templates:
        return templates["default"] if list(templates) == ["default"] else templates
    path = cached_file(source, LEGACY_CHAT_TEMPLATE_NAME, options, required=False)
    if path:
        template = read_json_file(path, fix="Re-download or re-save the processor").get("chat_template")
        if template is not None:
            return template
    return settings.get("chat_template")
