"""Reference tokenizer folders for the decoder LLMs and SigLIP, written with transformers 4.57.6.

    python scripts/reference/make_decoder_tokenizers.py tests/fixtures/tokenizers

Run it in an environment that has transformers 4.57.6, tokenizers and sentencepiece (never a dependency of
autoload). No Hub access is needed: small vocabularies are trained here on CORPUS (sentencepiece BPE with byte
fallback for Gemma, Unigram for SigLIP, byte-level BPE with the `tokenizers` library for Qwen and GPT-NeoX and
the GPT-2 layout OPT and GPT-J use); Phi-3 and Mixtral reuse the llama folder's tokenizer.model. Each folder
holds the files a checkpoint of that family has, configured as the Hub checkpoints configure them, and a
cases.json (the format tests/test_tokenizer_parity.py reads) with:

- `cases`: tokenizer calls and what transformers' AutoTokenizer returned (or `error`),
- `decoding`: decode / convert_ids_to_tokens / batch_decode results, `decode_cases` with decode options,
- `option_cases`: calls on the tokenizer loaded with extra keyword arguments (add_eos_token, …),
- `chat`: apply_chat_template calls and their results.

and which classes AutoTokenizer picks with use_fast=False (`slow_class`) and from config.json's model_type
alone (`model_type_class`, `other_model_types`).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
from typing import Any, Literal

import sentencepiece as spm
import transformers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chat_templates  # noqa: E402

assert transformers.__version__ == "4.57.6", transformers.__version__

CORPUS = """Hello, world! Loading checkpoints is fun, and loading them quickly is even more fun.
The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away into the forest.
Tokenizers split text into pieces: words, sub-words, bytes and special tokens that mark turns.
A model reads the ids, predicts the next token, and the tokenizer decodes the ids back into text.
Python code: def add(a, b): return a + b  # adds two numbers and returns the result
In 2024 the library had 1,234 contributors, 56 releases and 7.5 million downloads per month.
Call me at 555-0199 or write to the team; meetings start at 10:30 and end at 11:45 every Monday.
Ça marche très bien — même avec des accents! Le café est prêt, la crème brûlée aussi.
Über den Wolken muss die Freiheit wohl grenzenlos sein, sagte der Müller zu den Bäckern.
El niño comió una manzana y bebió agua fría en la mañana del sábado.
São Paulo e Lisboa são cidades grandes; a população cresce a cada ano.
Москва — столица России, а Киев — столица Украины.
日本語のテキストも処理できます。東京は日本の首都です。
中文和英文混合的句子也很常见，例如机器学习和深度学习。
한국어 문장도 토큰화할 수 있습니다.
الطقس جميل اليوم في المدينة، والناس في الحدائق.
Emoji appear in chats 🙂 and in posts 🚀 but rarely in books.
System prompts tell the assistant how to behave. The user asks a question and the assistant answers it.
You are a helpful assistant. What is the weather like in Paris today? It is sunny and warm.
The answer is 42. The capital of France is Paris. The capital of Germany is Berlin.
Machine learning models learn patterns from data; deep learning uses neural networks with many layers.
Transformers use attention: every token looks at every other token and mixes their values.
Let me think step by step. First, read the question. Then, find the facts. Finally, answer clearly.
The function get_current_weather takes a location and a unit, and returns the temperature.
HTML escapes such as <b>bold</b> & "quotes" should survive a round trip through JSON.
supercalifragilisticexpialidocious is a long word that tokenizers must split into many pieces.
numbers 0 1 2 3 4 5 6 7 8 9 10 11 12 100 1000 3.14159 2.71828 -1 +1 50% 1/2
""".splitlines()

STANDARD_TEXTS = [
    "Hello, world! Loading checkpoints is fun.",
    "The quick brown fox jumps over the lazy dog.",
    "Ça marche très bien — même avec des accents!",
    "الطقس جميل اليوم في المدينة.",
    "日本語のテキストも処理できます。",
    "emoji 🙂 in the middle",
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines",
    "",
    "supercalifragilisticexpialidocioussupercalifragilisticexpialidocioussupercalifragilisticexpialidocious",
    "unknown ☃ ⨀ characters",
    "a [MASK] and <mask> and </s> inside",
]
EXTRA_TEXTS = [
    "Call 555-0123 at 10:45, pay $1,234.56 in 2024 (or 3.14159e-10).",
    "中文和English混合，还有数字１２３和全角字符。",
    "👩‍💻 writes code 🚀🚀 — naïve café, Ærøskøbing, São Paulo",
    "multiple    spaces\n\n\nand\t\ttabs   end",
    "MiXeD CaSe, Punctuation!?; (brackets) [square] {curly} \"quotes\" 'single' _under_ a-b",
]
PAIR = ("Hello, world! Loading checkpoints is fun.", "The quick brown fox jumps over the lazy dog.")
BATCH = ["Hello, world! Loading checkpoints is fun.", "The quick brown fox jumps over the lazy dog.",
         "Ça marche très bien — même avec des accents!"]  # fmt: skip


def calls(specials_text: str) -> list[tuple]:
    """(text, text_pair, call kwargs) for one family; specials_text holds the family's own markers."""
    texts = STANDARD_TEXTS + EXTRA_TEXTS + [specials_text]
    result = []
    for text in texts:
        result += [(text, None, {}), (text, None, {"add_special_tokens": False})]
    result += [
        (PAIR[0], PAIR[1], {}),
        (PAIR[0], None, {"truncation": True, "max_length": 8}),
        (STANDARD_TEXTS[2], PAIR[1], {"truncation": "only_second", "max_length": 12}),
        (STANDARD_TEXTS[2], PAIR[1], {"truncation": "longest_first", "max_length": 14}),
        (STANDARD_TEXTS[2], PAIR[1], {"truncation": "only_first", "max_length": 16}),
        (BATCH, None, {"padding": True}),
        (BATCH, None, {"padding": "max_length", "max_length": 16, "truncation": True}),
        (BATCH, None, {"padding": True, "padding_side": "left", "return_length": True}),
        (BATCH, None, {"padding": True, "padding_side": "right", "pad_to_multiple_of": 8}),
        (BATCH, [PAIR[1]] * 3, {"padding": "longest", "truncation": True, "max_length": 20}),
        (PAIR[1], None, {"return_special_tokens_mask": True}),
        (PAIR[1], None, {"return_offsets_mapping": True}),
        (STANDARD_TEXTS[2], None, {"return_offsets_mapping": True}),
        (EXTRA_TEXTS[1], None, {"return_offsets_mapping": True}),
        (EXTRA_TEXTS[3], None, {"return_offsets_mapping": True}),
        (specials_text, None, {"return_offsets_mapping": True, "return_special_tokens_mask": True}),
        (PAIR[0], None, {"truncation": True, "max_length": 8, "stride": 2, "return_overflowing_tokens": True}),
        (PAIR[0], PAIR[1], {"return_token_type_ids": True, "return_attention_mask": False}),
        (PAIR[0], None, {"text_target": PAIR[1]}),
        (specials_text, None, {"split_special_tokens": True}),
    ]
    return result


def plain(value):
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def run_call(tokenizer, text, pair, call) -> dict:
    case = {"call": call, "text": text, "text_pair": pair}
    try:
        args = (text,) if pair is None else (text, pair)
        output = tokenizer(*args, **call)
        case["expected"] = {key: plain(value) for key, value in output.items()}
    except Exception as exc:  # noqa: BLE001 - the reference records that transformers raised
        case["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return case


DECODE_OPTIONS = [
    {"skip_special_tokens": True},
    {"clean_up_tokenization_spaces": True},
    {"clean_up_tokenization_spaces": False},
    {"skip_special_tokens": True, "clean_up_tokenization_spaces": True},
    {"spaces_between_special_tokens": False},
    {"spaces_between_special_tokens": True, "skip_special_tokens": False},
]


def decoding(tokenizer, decode_text: str) -> dict:
    ids = tokenizer(decode_text)["input_ids"]
    return {
        "ids": ids,
        "decode": tokenizer.decode(ids),
        "decode_skip_special": tokenizer.decode(ids, skip_special_tokens=True),
        "tokens": tokenizer.convert_ids_to_tokens(ids),
        "batch_decode": tokenizer.batch_decode([tokenizer(t)["input_ids"] for t in BATCH]),
    }


def decode_cases(tokenizer, texts: list[str]) -> list[dict]:
    cases = []
    for text in texts:
        ids = tokenizer(text)["input_ids"]
        for options in [{}, *DECODE_OPTIONS]:
            cases.append({"ids": ids, "kwargs": options, "expected": tokenizer.decode(ids, **options)})
    cases.append({"ids": ids[1], "kwargs": {}, "expected": tokenizer.decode(ids[1])})
    return cases


def slow_class_of(folder: str) -> str | None:
    """The class use_fast=False gives; None where transformers raises (GPT-NeoX names a class it lacks)."""
    try:
        return type(AutoTokenizer.from_pretrained(folder, use_fast=False)).__name__
    except ValueError:
        return None


def class_for_model_type(folder: str, model_type: str) -> str:
    """The class AutoTokenizer picks when tokenizer_config.json names none and config.json gives model_type."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "folder")
        shutil.copytree(folder, copy)
        config_path = os.path.join(copy, "tokenizer_config.json")
        config = json.load(open(config_path, encoding="utf-8"))
        config.pop("tokenizer_class", None)
        write_json(config_path, config)
        write_json(os.path.join(copy, "config.json"), {"model_type": model_type})
        return type(AutoTokenizer.from_pretrained(copy)).__name__


def write_cases(folder: str, model_types: list[str], specials_text: str, decode_text: str,
                option_loads: list[dict], chat: list[dict], extra_calls: tuple = ()) -> None:  # fmt: skip
    """cases.json; model_types[0] is the folder's own model_type, the others use the same tokenizer class."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    reference = {
        "class": type(tokenizer).__name__,
        "slow_class": slow_class_of(folder),
        "model_type": model_types[0],
        "model_type_class": class_for_model_type(folder, model_types[0]),
        "other_model_types": {model_type: class_for_model_type(folder, model_type) for model_type in model_types[1:]},
        "cases": [run_call(tokenizer, *call) for call in calls(specials_text) + list(extra_calls)],
        "decoding": decoding(tokenizer, decode_text),
        "decode_cases": decode_cases(tokenizer, [decode_text, specials_text, EXTRA_TEXTS[3], STANDARD_TEXTS[6]]),
        "option_cases": [],
        "chat": [],
    }
    for load in option_loads:
        loaded = AutoTokenizer.from_pretrained(folder, **load)
        for text, pair, call in [(specials_text, None, {}), (PAIR[0], PAIR[1], {}), (BATCH, None, {"padding": True}),
                                  *extra_calls]:
            case = run_call(loaded, text, pair, call)
            case["load"] = load
            reference["option_cases"].append(case)
    for item in chat:
        reference["chat"].append(chat_case(tokenizer, **item))
    write_compact(os.path.join(folder, "cases.json"), reference)
    print(f"{folder}: {reference['class']}, {len(reference['cases'])} cases, {len(reference['chat'])} chat cases")


# --- chat templates ----------------------------------------------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a city — «café» <b>&'quotes'</b>",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city, e.g. São Paulo"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}


def get_current_temperature(location: str, unit: str = "celsius") -> float:
    """
    Get the current temperature at a location.

    Args:
        location: The location to get the temperature for, in the format "City, Country"
        unit: The unit to return the temperature in. (choices: ["celsius", "fahrenheit"])

    Returns:
        The current temperature at the specified location in the specified units, as a float.
    """
    return 22.0


def multiply(a: float, b: int | None = None, values: list[str] | None = None) -> float:
    """
    A function that multiplies two numbers

    Args:
        a: The first number to multiply
        b: The second number to multiply
        values: Extra labels, unused
    """
    return a * (b or 1)


def plan_trip(city: Literal["Paris", "Rome"], days: tuple[int, str], budget: dict[str, float],
              flexible: bool | str = False, notes: Any = None) -> list[dict]:  # fmt: skip
    """
    Plan a trip.

    Args:
        city: Where to go
        days: How many days, and a label
            for them (this description spans two lines)
        budget: Money per category
        flexible: Whether the dates may move
        notes: Anything else
    """
    return []


# Python functions the tests define identically (tests/test_tokenizer_support.py) and pass as tools.
TOOL_FUNCTIONS = {"get_current_temperature": get_current_temperature, "multiply": multiply, "plan_trip": plan_trip}

USER_ONLY = [{"role": "user", "content": "Hello, how are you?"}]
MULTI_TURN = [
    {"role": "user", "content": "Hello, how are you?"},
    {"role": "assistant", "content": "  I'm doing great. How can I help you today?  "},
    {"role": "user", "content": "What is 2 + 2? Réponds en français 🙂"},
]
WITH_SYSTEM = [{"role": "system", "content": "You are a helpful assistant."}, *MULTI_TURN]
PREFILL = [*MULTI_TURN, {"role": "assistant", "content": "La réponse est"}]
TOOL_CALLS = [
    {"role": "system", "content": "You are a weather bot."},
    {"role": "user", "content": "What's the weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_current_weather", "arguments": {"location": "Paris, France"}}}
    ]},
    {"role": "tool", "content": "22 degrees, sunny"},
    {"role": "tool", "content": "{\"humidity\": 40}"},
    {"role": "user", "content": "Thanks!"},
]  # fmt: skip
THINKING = [
    {"role": "user", "content": "What is 2 + 2?"},
    {"role": "assistant", "content": "<think>\nTwo plus two is four.\n</think>\n\nIt is 4."},
    {"role": "user", "content": "And 3 + 3?"},
]
GEMMA3_MULTIMODAL = [
    {"role": "system", "content": [{"type": "text", "text": "Describe images briefly."}]},
    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "  What is in this picture?  "}]},
]
DOCUMENTS = [{"title": "Paris", "text": "Paris is the capital of France."},
             {"title": "Berlin", "text": "Berlin is the capital of Germany."}]  # fmt: skip


def chat_case(tokenizer, conversation, **kwargs) -> dict:
    """One apply_chat_template call; `tool_functions` names Python functions passed as tools."""
    case = {"conversation": conversation, "kwargs": dict(kwargs)}
    call = dict(kwargs)
    if "tool_functions" in call:
        call["tools"] = [TOOL_FUNCTIONS[name] for name in call.pop("tool_functions")]
    try:
        output = tokenizer.apply_chat_template(conversation, **call)
        if hasattr(output, "keys"):
            output = {key: plain(value) for key, value in output.items()}
        else:
            output = plain(output)
        case["expected"] = output
    except Exception as exc:  # noqa: BLE001
        case["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return case


def common_chat(conversation, *, system_ok=True) -> list[dict]:
    items = [
        {"conversation": USER_ONLY, "tokenize": False},
        {"conversation": USER_ONLY, "tokenize": False, "add_generation_prompt": True},
        {"conversation": conversation, "tokenize": False, "add_generation_prompt": True},
        {"conversation": conversation, "add_generation_prompt": True},
        {"conversation": conversation, "add_generation_prompt": True, "return_dict": True},
        {"conversation": [USER_ONLY, conversation], "add_generation_prompt": True, "return_dict": True,
         "padding": True},
        {"conversation": [USER_ONLY, conversation], "tokenize": False},
        {"conversation": conversation, "return_dict": True, "truncation": True, "max_length": 10},
        {"conversation": PREFILL, "tokenize": False, "continue_final_message": True},
        {"conversation": PREFILL, "continue_final_message": True},
        {"conversation": PREFILL, "tokenize": False, "continue_final_message": True, "add_generation_prompt": True},
        {"conversation": USER_ONLY, "tokenize": False, "return_dict": True},
        {"conversation": MULTI_TURN, "chat_template": chat_templates.DOCUMENTS, "documents": DOCUMENTS,
         "tokenize": False},
        {"conversation": WITH_SYSTEM, "chat_template": chat_templates.TOJSON_OPTIONS, "tools": [WEATHER_TOOL],
         "tokenize": False},
        {"conversation": WITH_SYSTEM, "chat_template": chat_templates.TOJSON_OPTIONS,
         "tool_functions": ["get_current_temperature", "multiply", "plan_trip"], "tokenize": False},
        {"conversation": MULTI_TURN + [{"role": "assistant", "content": "Quatre."}],
         "chat_template": chat_templates.QWEN2_5_WITH_GENERATION, "return_dict": True,
         "return_assistant_tokens_mask": True},
        {"conversation": [MULTI_TURN + [{"role": "assistant", "content": "Quatre."}], USER_ONLY],
         "chat_template": chat_templates.QWEN2_5_WITH_GENERATION, "return_dict": True,
         "return_assistant_tokens_mask": True, "padding": True},
        {"conversation": MULTI_TURN, "chat_template": chat_templates.QWEN2_5_WITH_GENERATION,
         "return_assistant_tokens_mask": True},
    ]  # fmt: skip
    if system_ok:
        items.append({"conversation": WITH_SYSTEM, "tokenize": False, "add_generation_prompt": True})
    else:
        items.append({"conversation": WITH_SYSTEM, "tokenize": False})  # the template raises
    return items


# --- vocabularies ------------------------------------------------------------------------------------


def train_sentencepiece(path: str, **options) -> None:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 3), model_writer=model, num_threads=1, hard_vocab_limit=False, **options
    )
    with open(path, "wb") as f:
        f.write(model.getvalue())


def train_byte_level(vocab_size: int, *, qwen: bool, special: list[str]) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    if qwen:
        pattern = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
                   r"""\s*[\r\n]+|\s+(?!\S)|\s+""")  # fmt: skip
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
             pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
        )  # fmt: skip
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 3, trainer=trainer)
    return tokenizer


def write_compact(path: str, data: dict) -> None:
    """JSON with one list item a line: small files that still diff well."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list):
            items = ",\n".join(json.dumps(item, ensure_ascii=False) for item in value)
            parts.append(f"{json.dumps(key)}: [\n{items}\n]")
        else:
            parts.append(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(parts) + "\n}\n")


def write_json(path: str, data) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.write("\n")


def save_vocab_merges(tokenizer: Tokenizer, folder: str) -> None:
    tokenizer.model.save(folder)


def added(content: str, special: bool = True, **flags) -> dict:
    return {"content": content, "lstrip": flags.get("lstrip", False), "normalized": flags.get("normalized", False),
            "rstrip": flags.get("rstrip", False), "single_word": False, "special": special}  # fmt: skip


def save_from_hub_style(hub: str, out: str) -> None:
    """Load hub-style files with transformers and write the folder its save_pretrained produces."""
    shutil.rmtree(out, ignore_errors=True)
    AutoTokenizer.from_pretrained(hub).save_pretrained(out)


# --- families ----------------------------------------------------------------------------------------

GEMMA_USER_SYMBOLS = ["<mask>", "[@BOS@]", "<unused0>", "<unused1>", "<unused2>", "<start_of_turn>", "<end_of_turn>"]


def gemma(out: str, tmp: str, *, gemma3: bool) -> None:
    hub = os.path.join(tmp, "gemma3" if gemma3 else "gemma")
    os.makedirs(hub)
    symbols = GEMMA_USER_SYMBOLS + (["<start_of_image>", "<end_of_image>", "<image_soft_token>"] if gemma3 else [])
    # Gemma's model: pad/eos/bos/unk at 0-3, identity normalization, no dummy prefix, digits split one by one.
    # The Gemma 1/2 corpus has no tab, so (as in the first Gemma releases) "\t" exists only as <0x09>.
    train_sentencepiece(
        os.path.join(hub, "tokenizer.model"), model_type="bpe", vocab_size=1400 if gemma3 else 1200,
        byte_fallback=True, split_digits=True, allow_whitespace_only_pieces=True, remove_extra_whitespaces=False,
        add_dummy_prefix=False, normalization_rule_name="identity", character_coverage=0.995,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
        unk_piece="<unk>", user_defined_symbols=symbols + (["\t", "\t\t"] if gemma3 else []),
    )  # fmt: skip
    config = {
        "add_bos_token": True, "add_eos_token": False, "bos_token": "<bos>", "eos_token": "<eos>",
        "pad_token": "<pad>", "unk_token": "<unk>", "clean_up_tokenization_spaces": False, "legacy": None,
        "model_max_length": 1000000000000000019884624838656, "sp_model_kwargs": {},
        "spaces_between_special_tokens": False, "tokenizer_class": "GemmaTokenizer", "use_default_system_prompt": False,
        "additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"],
        "chat_template": chat_templates.GEMMA3 if gemma3 else chat_templates.GEMMA,
    }  # fmt: skip
    if gemma3:
        del config["additional_special_tokens"]
        extra = {"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>"}
        config.update(extra, extra_special_tokens=extra, processor_class="Gemma3Processor")
    write_json(os.path.join(hub, "tokenizer_config.json"), config)
    name = "gemma3" if gemma3 else "gemma"
    folder = os.path.join(out, name)
    save_from_hub_style(hub, folder)
    conversation = GEMMA3_MULTIMODAL if gemma3 else MULTI_TURN
    chat = common_chat(MULTI_TURN, system_ok=gemma3)
    chat.append({"conversation": conversation, "tokenize": False, "add_generation_prompt": True})
    chat.append({"conversation": [{"role": "assistant", "content": "Hi"}], "tokenize": False})  # roles must alternate
    specials = "<start_of_turn>user\nHello  there\t!<end_of_turn>\n<start_of_turn>model\n<mask> <unused1>"
    if gemma3:
        specials += " <start_of_image><image_soft_token><end_of_image>"
    model_types = ["gemma3_text", "gemma3", "gemma3n", "gemma3n_text"] if gemma3 else ["gemma", "gemma2"]
    write_cases(folder, model_types, specials, "<start_of_turn>user\nThe quick brown fox.<end_of_turn>",
                [{"add_eos_token": True}, {"add_bos_token": False, "add_eos_token": True}], chat)  # fmt: skip


QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
                "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]  # fmt: skip
QWEN_PLAIN_ADDED = ["<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
                    "<|repo_name|>", "<|file_sep|>"]  # fmt: skip
QWEN3_PLAIN_ADDED = ["<tool_response>", "</tool_response>", "<think>", "</think>"]


def qwen(out: str, tmp: str, *, qwen3: bool) -> None:
    name = "qwen3" if qwen3 else "qwen2"
    hub = os.path.join(tmp, name)
    os.makedirs(hub)
    backend = train_byte_level(1000, qwen=True, special=[])
    save_vocab_merges(backend, hub)
    size = backend.get_vocab_size()
    plain_added = QWEN_PLAIN_ADDED + (QWEN3_PLAIN_ADDED if qwen3 else [])
    decoder = {str(size + i): added(token) for i, token in enumerate(QWEN_SPECIAL)}
    decoder.update({str(size + len(QWEN_SPECIAL) + i): added(t, special=False) for i, t in enumerate(plain_added)})
    config = {
        "add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": decoder,
        "additional_special_tokens": QWEN_SPECIAL[1:], "bos_token": None,
        "chat_template": chat_templates.QWEN3 if qwen3 else chat_templates.QWEN2_5,
        "clean_up_tokenization_spaces": False, "eos_token": "<|im_end|>", "errors": "replace",
        "model_max_length": 131072 if not qwen3 else 40960, "pad_token": "<|endoftext|>", "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer", "unk_token": None,
    }  # fmt: skip
    write_json(os.path.join(hub, "tokenizer_config.json"), config)
    folder = os.path.join(out, name)
    save_from_hub_style(hub, folder)
    chat = common_chat(WITH_SYSTEM)
    chat += [
        {"conversation": WITH_SYSTEM, "tools": [WEATHER_TOOL], "tokenize": False, "add_generation_prompt": True},
        {"conversation": USER_ONLY, "tools": [WEATHER_TOOL], "tokenize": False, "add_generation_prompt": True},
        {"conversation": TOOL_CALLS, "tools": [WEATHER_TOOL], "tokenize": False, "add_generation_prompt": True},
        {"conversation": TOOL_CALLS, "tool_functions": ["get_current_temperature", "multiply"], "tokenize": False},
        {"conversation": TOOL_CALLS, "tools": [WEATHER_TOOL], "add_generation_prompt": True, "return_dict": True},
    ]
    if qwen3:
        chat += [
            {"conversation": THINKING, "tokenize": False, "add_generation_prompt": True},
            {"conversation": THINKING, "tokenize": False, "add_generation_prompt": True, "enable_thinking": False},
            {"conversation": THINKING, "tokenize": False, "add_generation_prompt": True, "enable_thinking": True},
            {"conversation": THINKING + [{"role": "assistant", "content": "6", "reasoning_content": "3+3=6"}],
             "tokenize": False},
            {"conversation": THINKING, "add_generation_prompt": True, "enable_thinking": False},
        ]  # fmt: skip
    specials = "<|im_start|>user\nHi there  <|im_end|>\n<|im_start|>assistant\n<tool_call>{}</tool_call><|endoftext|>"
    if qwen3:
        specials += "<think>\nhmm\n</think>\n\n"
    model_types = ["qwen3", "qwen3_moe"] if qwen3 else ["qwen2", "qwen2_moe"]
    write_cases(folder, model_types, specials, "<|im_start|>user\nThe quick brown fox.<|im_end|>",
                [{"split_special_tokens": True}, {"add_prefix_space": True}], chat)  # fmt: skip


PHI3_ADDED = ["<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>", "<|placeholder3|>",
              "<|placeholder4|>", "<|system|>", "<|end|>", "<|placeholder5|>", "<|placeholder6|>",
              "<|user|>"]  # fmt: skip


def llama_family(out: str, tmp: str, llama_model: str, *, phi3: bool) -> None:
    name = "phi3" if phi3 else "mixtral"
    hub = os.path.join(tmp, name)
    os.makedirs(hub)
    shutil.copy(llama_model, os.path.join(hub, "tokenizer.model"))
    decoder = {"0": added("<unk>"), "1": added("<s>"), "2": added("</s>")}
    size = spm.SentencePieceProcessor(model_file=llama_model).get_piece_size()
    if phi3:
        for i, token in enumerate(PHI3_ADDED):
            decoder[str(size + i)] = added(token, rstrip=token != "<|endoftext|>")
        config = {
            "add_bos_token": False, "add_eos_token": False, "bos_token": "<s>", "eos_token": "<|endoftext|>",
            "legacy": False, "model_max_length": 4096, "pad_token": "<|endoftext|>", "padding_side": "left",
            "chat_template": chat_templates.PHI3,
        }  # fmt: skip
    else:
        config = {
            "add_bos_token": True, "add_eos_token": False, "additional_special_tokens": [], "bos_token": "<s>",
            "eos_token": "</s>", "legacy": True, "model_max_length": 1000000000000000019884624838656,
            "pad_token": None, "spaces_between_special_tokens": False, "chat_template": chat_templates.MIXTRAL,
        }  # fmt: skip
    config.update(added_tokens_decoder=decoder, clean_up_tokenization_spaces=False, sp_model_kwargs={},
                  tokenizer_class="LlamaTokenizer", unk_token="<unk>", use_default_system_prompt=False)  # fmt: skip
    write_json(os.path.join(hub, "tokenizer_config.json"), config)
    folder = os.path.join(out, name)
    save_from_hub_style(hub, folder)
    os.remove(os.path.join(folder, "tokenizer.model"))  # the tests take it from the llama folder
    # save_pretrained writes "add_prefix_space": null, which the Hub files do not have; with it, transformers
    # builds another pre-tokenizer from tokenizer.model alone than the one saved in tokenizer.json.
    saved_config = json.load(open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8"))
    if saved_config.get("add_prefix_space", False) is None:
        del saved_config["add_prefix_space"]
    write_json(os.path.join(folder, "tokenizer_config.json"), saved_config)
    chat = common_chat(MULTI_TURN, system_ok=True)
    chat.append({"conversation": [{"role": "assistant", "content": "Hi"}], "tokenize": False})
    if phi3:
        specials = "<|user|>\nHello  there <|end|>\n<|assistant|>\nHi!<|end|><|endoftext|>"
    else:
        specials = "[INST] Hello  there [/INST] Hi!</s> <s>"
    # write_cases loads the saved folder, which needs the model file back for the cases.
    shutil.copy(llama_model, os.path.join(folder, "tokenizer.model"))
    model_types = ["phi3"] if phi3 else ["mixtral", "mistral", "llama"]
    write_cases(folder, model_types, specials, specials, [{"add_eos_token": True}], chat)
    os.remove(os.path.join(folder, "tokenizer.model"))


def gpt_neox(out: str, tmp: str) -> None:
    folder = os.path.join(out, "gpt-neox")
    os.makedirs(folder)
    backend = train_byte_level(1000, qwen=False, special=["<|endoftext|>", "<|padding|>"])
    backend.post_processor = processors.ByteLevel(trim_offsets=True)
    # The GPT-NeoX-20B vocabulary ends with runs of spaces added as plain (normalized) tokens.
    backend.add_tokens([AddedToken(" " * n, normalized=True) for n in (24, 16, 8, 4, 2)])
    backend.save(os.path.join(folder, "tokenizer.json"))
    write_json(os.path.join(folder, "special_tokens_map.json"),
               {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"})  # fmt: skip
    write_json(os.path.join(folder, "tokenizer_config.json"), {
        "add_prefix_space": False, "bos_token": "<|endoftext|>", "clean_up_tokenization_spaces": True,
        "eos_token": "<|endoftext|>", "model_max_length": 1000000000000000019884624838656,
        "tokenizer_class": "GPTNeoXTokenizer", "unk_token": "<|endoftext|>",
    })  # fmt: skip
    specials = "<|endoftext|>code:\n        indented    line<|padding|>"
    write_cases(folder, ["gpt_neox"], specials, PAIR[1] + "<|endoftext|>",
                [{"add_bos_token": True, "add_eos_token": True}, {"pad_token": "<|padding|>"}],
                common_chat(MULTI_TURN)[12:15])  # fmt: skip


def gpt2_layout(tokenizer: Tokenizer, folder: str, first: list[str]) -> None:
    """vocab.json with `first` at ids 0.. then the trained vocabulary, and merges.txt, as GPT-2 files are laid out."""
    vocab = tokenizer.get_vocab()
    ordered = first + [token for token, _ in sorted(vocab.items(), key=lambda item: item[1]) if token not in first]
    write_json(os.path.join(folder, "vocab.json"), {token: index for index, token in enumerate(ordered)})
    state = json.loads(tokenizer.to_str())
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for merge in state["model"]["merges"]:
            f.write((merge if isinstance(merge, str) else " ".join(merge)) + "\n")


def opt(out: str, tmp: str) -> None:
    """facebook/opt-*: GPT-2 BPE, fairseq's <s> <pad> </s> <unk> first, </s> as BOS added at the start."""
    folder = os.path.join(out, "opt")
    os.makedirs(folder)
    backend = train_byte_level(1000, qwen=False, special=[])
    gpt2_layout(backend, folder, ["<s>", "<pad>", "</s>", "<unk>"])

    def token(content):
        return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": True, "rstrip": False,
                "single_word": False}  # fmt: skip

    write_json(os.path.join(folder, "special_tokens_map.json"), {
        "bos_token": {k: v for k, v in token("</s>").items() if k != "__type"},
        "eos_token": {k: v for k, v in token("</s>").items() if k != "__type"},
        "pad_token": {k: v for k, v in token("<pad>").items() if k != "__type"},
        "unk_token": {k: v for k, v in token("</s>").items() if k != "__type"},
    })  # fmt: skip
    write_json(os.path.join(folder, "tokenizer_config.json"), {
        "errors": "replace", "unk_token": token("</s>"), "bos_token": token("</s>"), "eos_token": token("</s>"),
        "pad_token": token("<pad>"), "add_prefix_space": False, "special_tokens_map_file": None,
        "name_or_path": "patrickvonplaten/opt-30b", "add_bos_token": True,
    })  # fmt: skip
    write_json(os.path.join(folder, "config.json"),
               {"model_type": "opt", "architectures": ["OPTForCausalLM"], "bos_token_id": 2, "eos_token_id": 2,
                "pad_token_id": 1})  # fmt: skip
    write_cases(folder, ["opt"], "</s>Hello <pad> there</s><unk>", PAIR[1],
                [{"add_bos_token": False}, {"add_prefix_space": True}], common_chat(MULTI_TURN)[12:15])  # fmt: skip


def gptj(out: str, tmp: str) -> None:
    """EleutherAI/gpt-j-6b: GPT-2 files, <|extratoken_N|> entries in added_tokens.json, a tokenizer.json."""
    folder = os.path.join(out, "gptj")
    os.makedirs(folder)
    backend = train_byte_level(1000, qwen=False, special=[])
    gpt2_layout(backend, folder, [])
    vocab = json.load(open(os.path.join(folder, "vocab.json"), encoding="utf-8"))
    vocab["<|endoftext|>"] = len(vocab)
    write_json(os.path.join(folder, "vocab.json"), vocab)
    extra = {f"<|extratoken_{i}|>": len(vocab) + i - 1 for i in range(1, 13)}
    write_json(os.path.join(folder, "added_tokens.json"), extra)
    write_json(os.path.join(folder, "special_tokens_map.json"),
               {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"})  # fmt: skip
    write_json(os.path.join(folder, "tokenizer_config.json"), {
        "unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
        "add_prefix_space": False, "model_max_length": 2048, "special_tokens_map_file": None, "name_or_path": "gpt2",
        "tokenizer_class": "GPT2Tokenizer",
    })  # fmt: skip
    # tokenizer.json as transformers converts these files (the Hub repo has one too).
    loaded = AutoTokenizer.from_pretrained(folder)
    loaded.backend_tokenizer.save(os.path.join(folder, "tokenizer.json"))
    write_cases(folder, ["gptj"], "<|endoftext|>Hello<|extratoken_3|> there <|extratoken_12|>", PAIR[1],
                [{"add_bos_token": True}], common_chat(MULTI_TURN)[12:15])  # fmt: skip


def siglip(out: str, tmp: str) -> None:
    """google/siglip-*: a SentencePiece Unigram model, text lower-cased, punctuation removed, 64 tokens."""
    hub = os.path.join(tmp, "siglip")
    os.makedirs(hub)
    train_sentencepiece(
        os.path.join(hub, "spiece.model"), model_type="unigram", vocab_size=900, character_coverage=0.9995,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        normalization_rule_name="nmt_nfkc",
    )  # fmt: skip
    tokenizer = transformers.SiglipTokenizer(os.path.join(hub, "spiece.model"), model_input_names=["input_ids"])
    folder = os.path.join(out, "siglip")
    shutil.rmtree(folder, ignore_errors=True)
    tokenizer.save_pretrained(folder)
    specials = "A photo of </s> two  <unk> cats!! </s>"
    # SigLIP checkpoints are used with padding="max_length": every text padded to model_max_length (64).
    max_length_calls = [
        (BATCH, None, {"padding": "max_length"}),
        (BATCH, None, {"padding": "max_length", "truncation": True}),
        (STANDARD_TEXTS[9] * 3, None, {"padding": "max_length", "truncation": True}),
    ]
    write_cases(folder, ["siglip"], specials, "a photo of a cat", [{"do_lower_case": False}, {"model_max_length": 16}],
                common_chat(MULTI_TURN)[12:15], max_length_calls)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="tests/fixtures/tokenizers")
    args = parser.parse_args()
    llama_model = os.path.join(args.out, "llama", "tokenizer.model")
    for name in ("gemma", "gemma3", "qwen2", "qwen3", "phi3", "mixtral", "gpt-neox", "opt", "gptj", "siglip"):
        shutil.rmtree(os.path.join(args.out, name), ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        gemma(args.out, tmp, gemma3=False)
        gemma(args.out, tmp, gemma3=True)
        qwen(args.out, tmp, qwen3=False)
        qwen(args.out, tmp, qwen3=True)
        llama_family(args.out, tmp, llama_model, phi3=True)
        llama_family(args.out, tmp, llama_model, phi3=False)
        gpt_neox(args.out, tmp)
        opt(args.out, tmp)
        gptj(args.out, tmp)
        siglip(args.out, tmp)


if __name__ == "__main__":
    main()
