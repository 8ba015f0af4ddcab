"""Chat-template behaviour the transformers reference cases (tests/test_tokenizer_parity.py) cannot pin down:
the date helper, and the errors for tools that cannot become JSON schemas."""

from __future__ import annotations

from datetime import datetime

import pytest
from test_tokenizer_support import materialize

from autoload.tokenization import AutoTokenizer
from autoload.tokenization.tool_schema import DocstringParsingException, TypeHintParsingException, get_json_schema

CHAT = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def qwen(tmp_path_factory):
    return AutoTokenizer.from_pretrained(materialize("qwen2", tmp_path_factory.mktemp("qwen2")))


def test_strftime_now_is_todays_date(qwen):
    template = "{{ strftime_now('%Y-%m-%d') }}|{{ messages[0]['content'] }}"
    before = datetime.now().strftime("%Y-%m-%d")
    text = qwen.apply_chat_template(CHAT, chat_template=template, tokenize=False)
    assert text in {f"{before}|Hi", f"{datetime.now().strftime('%Y-%m-%d')}|Hi"}


def test_get_chat_template_returns_the_shipped_template(qwen):
    assert qwen.get_chat_template() == qwen.chat_template
    assert qwen.get_chat_template("{{ 1 }}") == "{{ 1 }}"


def test_tools_that_are_not_schemas_or_functions_are_refused(qwen):
    with pytest.raises(ValueError, match="JSON schema"):
        qwen.apply_chat_template(CHAT, tools=["get_weather"], tokenize=False)


def test_functions_need_docstrings_and_type_hints():
    def undocumented(city: str):
        return city

    def half_documented(city: str, days: int):
        """Plan.

        Args:
            city: Where
        """

    def untyped(city):
        """Plan.

        Args:
            city: Where
        """

    with pytest.raises(DocstringParsingException, match="no docstring"):
        get_json_schema(undocumented)
    with pytest.raises(DocstringParsingException, match="'days'"):
        get_json_schema(half_documented)
    with pytest.raises(TypeHintParsingException, match="no type hint"):
        get_json_schema(untyped)


def test_template_syntax_error_is_a_value_error(qwen):
    with pytest.raises(ValueError, match="not valid Jinja"):
        qwen.apply_chat_template(CHAT, chat_template="{% for m in messages %}", tokenize=False)


def test_templates_are_saved_as_jinja_files_and_read_back(tmp_path, qwen):
    templates = {"default": qwen.chat_template, "tool_use": "T{{ tools | length }}", "rag": "R{{ documents | length }}"}
    qwen.chat_template = templates
    try:
        written = qwen.save_pretrained(tmp_path / "saved")
        legacy = qwen.save_pretrained(tmp_path / "legacy", save_jinja_files=False)
    finally:
        qwen.chat_template = templates["default"]
    names = sorted(path.split("saved/")[1] for path in written if "chat_template" in path)
    assert names == ["additional_chat_templates/rag.jinja", "additional_chat_templates/tool_use.jinja",
                     "chat_template.jinja"]  # fmt: skip
    assert "chat_template" not in (tmp_path / "saved" / "tokenizer_config.json").read_text(encoding="utf-8")
    for folder in ("saved", "legacy"):
        reloaded = AutoTokenizer.from_pretrained(tmp_path / folder)
        assert reloaded.chat_template == templates
        assert reloaded.apply_chat_template(CHAT, tools=[{"name": "x"}], tokenize=False) == "T1"
        assert reloaded.apply_chat_template(CHAT, chat_template="rag", documents=[{}], tokenize=False) == "R1"
    assert not any("chat_template" in path for path in legacy)
