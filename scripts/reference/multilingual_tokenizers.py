"""Reference data for the SentencePiece and MPNet tokenizers (XLM-R, MPNet, DeBERTa-v2, ALBERT, mT5, Marian,
mBART, mBART-50, Pegasus), written with transformers 4.57.6 into tests/fixtures/tokenizers/<name>/.

No Hub access is needed: small SentencePiece models (a few hundred pieces) and a small WordPiece vocabulary
are trained here on the multilingual corpus below, transformers' classes are built from them and saved with
save_pretrained, and every case is run through the tokenizer transformers' AutoTokenizer loads from the saved
folder (the fast class from tokenizer.json; MarianTokenizer, which only exists as a pure-Python class).

Run with a Python that has transformers 4.57.6, tokenizers and sentencepiece (never a dependency of autoload):

    python scripts/reference/multilingual_tokenizers.py [name ...]

cases.json holds what the other reference folders hold (`class`, `cases`, `decoding`, `slow_class`,
`slow_disagrees_on`) plus `model_type` and `model_type_class` (the class AutoTokenizer picks from a config.json
with that model_type and no tokenizer_class), `decode_cases` (decode calls with their keyword arguments) and,
per case, optional `attributes` (tokenizer attributes set before the call, e.g. src_lang) and `context`
("as_target_tokenizer": the call is made twice inside that context manager, `expected_next` is the second).
`bare` holds cases for folders that keep only some of the saved files (no tokenizer_config.json, as many Hub
checkpoints) next to a config.json with the model_type: `files`, the `class` AutoTokenizer picks, `cases`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import sentencepiece as spm
import transformers
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import AutoTokenizer

assert transformers.__version__ == "4.57.6", transformers.__version__
transformers.logging.set_verbosity_error()

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tokenizers"

# --- corpus --------------------------------------------------------------------------------------------

SENTENCES = [
    "Hello, world! Loading checkpoints is fun.",
    "The quick brown fox jumps over the lazy dog.",
    "Machine translation turns one language into another, sentence by sentence.",
    "Tokenizers split text into pieces; models read the pieces as numbers.",
    "She sold 1,250 tickets for 3,500 dollars on 12 March 2024.",
    "The population grew from 1,000,000 to 2,500,000 in 30 years (about 3.2% a year).",
    "Call me at 555-0199 or write to the office at 42 Baker Street.",
    "Ça marche très bien — même avec des accents!",
    "Le café est près de la fenêtre, à côté du théâtre.",
    "Nous avons traduit le document en français et en anglais.",
    "Où est la gare? Je voudrais un billet pour Genève, s'il vous plaît.",
    "Die Größe der Straße überrascht die Besucher aus München.",
    "Wir übersetzen heute viele Sätze ins Deutsche.",
    "El niño comió una manzana en la mañana y luego jugó al fútbol.",
    "¿Dónde está la biblioteca? ¡Está cerca del río!",
    "Vremea este frumoasă astăzi în București și în Iași.",
    "Traducerea automată funcționează bine pentru limba română.",
    "Привет, мир! Как дела? Москва — столица России.",
    "Машинный перевод помогает людям понимать друг друга.",
    "Καλημέρα κόσμε! Η Αθήνα είναι όμορφη.",
    "الطقس جميل اليوم في المدينة.",
    "مرحبا بالعالم، هذه جملة عربية قصيرة.",
    "नमस्ते दुनिया, यह एक छोटा वाक्य है।",
    "日本語のテキストも処理できます。",
    "東京は日本の首都です。今日は天気がいいですね。",
    "中文分词测试：你好，世界！我们今天学习机器翻译。",
    "北京是中国的首都，上海是一个大城市。",
    "한국어 문장도 있습니다. 서울은 큰 도시입니다.",
    "emoji 🙂 in the middle 🚀🎉 of a sentence.",
    "Naïve coöperation with the façade of the résumé.",
    "Ångström, Øresund and Æsir are Nordic words.",
    "Numbers like 3.14159, 2.71828 and 1,000 appear often.",
    "Version 4.57.6 was released; version 5.0 is next.",
    "UPPER CASE and lower case and MiXeD CaSe words.",
    "It's a well-known fact that don't and can't are contractions.",
    'The naïve café owner said: "Bonjour!" and left.',
    "ｆｕｌｌ ｗｉｄｔｈ letters and numbers like １２３ are normalised.",
    "Translation models such as Marian, mBART and Pegasus read these sentences.",
    "Multilingual encoders such as XLM-RoBERTa, DeBERTa and ALBERT learn from many languages.",
]


def corpus_lines() -> list[str]:
    """The sentences, each also lower-cased and with a running number, so common pieces are frequent."""
    lines = []
    for repeat in range(6):
        for index, sentence in enumerate(SENTENCES):
            lines.append(sentence)
            lines.append(sentence.lower())
            lines.append(f"{index * 7 + repeat},{repeat}00 {sentence.split()[0]} {repeat}.{index}")
    return lines


# A few SentencePiece normalisation rules (instead of the large nmt_nfkc table) keep most models small while
# still exercising the precompiled character map: full-width ASCII, no-break and ideographic spaces, tabs and
# newlines, two ligatures and the ellipsis.
def normalization_rules() -> str:
    rules = [(0xFF01 + i, [0x21 + i]) for i in range(94)]
    rules += [(0x3000, [0x20]), (0xA0, [0x20]), (0x09, [0x20]), (0x0A, [0x20]), (0x0D, [0x20])]
    rules += [(0xFB01, [0x66, 0x69]), (0xFB02, [0x66, 0x6C]), (0x2026, [0x2E, 0x2E, 0x2E])]
    return "".join(f"{source:X}\t{' '.join(f'{t:X}' for t in target)}\n" for source, target in rules)


def train_sentencepiece(work: Path, name: str, *, vocab_size: int, model_type: str = "unigram",
                        nmt_nfkc: bool = False, lines: list[str] | None = None, **special) -> Path:  # fmt: skip
    corpus = work / f"{name}.txt"
    corpus.write_text("\n".join(lines or corpus_lines()) + "\n", encoding="utf-8")
    # Relative paths, so the trainer spec stored in the model names no folder of this machine.
    options = dict(
        input=corpus.name, model_prefix=name, vocab_size=vocab_size, model_type=model_type,
        character_coverage=0.995, hard_vocab_limit=False, num_threads=1, seed_sentencepiece_size=100000,
        shuffle_input_sentence=False, minloglevel=2, **special,
    )  # fmt: skip
    if nmt_nfkc:
        options["normalization_rule_name"] = "nmt_nfkc"
    else:
        (work / "rules.tsv").write_text(normalization_rules(), encoding="utf-8")
        options["normalization_rule_tsv"] = "rules.tsv"
    with contextlib.chdir(work):
        spm.SentencePieceTrainer.train(**options)
    return work / f"{name}.model"


def train_wordpiece(work: Path, specials: list[str], last: list[str]) -> Path:
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=450, special_tokens=specials, show_progress=False)
    tokenizer.train_from_iterator(corpus_lines(), trainer)
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    path = work / "vocab.txt"
    path.write_text("".join(token + "\n" for token, _ in vocab) + "".join(t + "\n" for t in last), encoding="utf-8")
    return path


# --- the tokenizers ------------------------------------------------------------------------------------


def build_xlm_roberta(work: Path, out: Path) -> None:
    model = train_sentencepiece(work, "xlmr", vocab_size=500, nmt_nfkc=True)
    transformers.XLMRobertaTokenizerFast(vocab_file=str(model)).save_pretrained(out)


def build_mpnet(work: Path, out: Path) -> None:
    vocab = train_wordpiece(work, ["<s>", "<pad>", "</s>", "<unk>", "[UNK]"], ["<mask>"])
    transformers.MPNetTokenizerFast(vocab_file=str(vocab)).save_pretrained(out)


DEBERTA_SPECIALS = dict(pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]", eos_id=2, eos_piece="[SEP]",
                        unk_id=3, unk_piece="[UNK]")  # fmt: skip


def build_deberta_v2(work: Path, out: Path) -> None:
    model = train_sentencepiece(work, "deberta", vocab_size=450, **DEBERTA_SPECIALS)
    transformers.DebertaV2TokenizerFast(vocab_file=str(model)).save_pretrained(out)


def build_deberta_v2_bpe_punct(work: Path, out: Path) -> None:
    model = train_sentencepiece(work, "deberta-bpe", vocab_size=450, model_type="bpe", **DEBERTA_SPECIALS)
    transformers.DebertaV2TokenizerFast(vocab_file=str(model), do_lower_case=True, split_by_punct=True).save_pretrained(
        out
    )


def build_albert(work: Path, out: Path) -> None:
    model = train_sentencepiece(
        work, "albert", vocab_size=450, pad_id=0, unk_id=1, bos_id=2, bos_piece="[CLS]", eos_id=3,
        eos_piece="[SEP]", control_symbols=["[MASK]"],
    )  # fmt: skip
    transformers.AlbertTokenizerFast(vocab_file=str(model)).save_pretrained(out)


def build_mt5(work: Path, out: Path) -> None:
    model = train_sentencepiece(work, "mt5", vocab_size=450, pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    transformers.MT5TokenizerFast(vocab_file=str(model), extra_ids=0, legacy=False).save_pretrained(out)


def build_mbart(work: Path, out: Path) -> None:
    model = train_sentencepiece(work, "mbart", vocab_size=450)
    transformers.MBartTokenizerFast(vocab_file=str(model), src_lang="en_XX", tgt_lang="ro_RO").save_pretrained(out)


def build_mbart50(work: Path, out: Path) -> None:
    model = train_sentencepiece(work, "mbart50", vocab_size=450, model_type="bpe")
    transformers.MBart50TokenizerFast(vocab_file=str(model), src_lang="en_XX", tgt_lang="ro_RO").save_pretrained(out)


def build_pegasus(work: Path, out: Path) -> None:
    model = train_sentencepiece(work, "pegasus", vocab_size=450, pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    transformers.PegasusTokenizerFast(vocab_file=str(model)).save_pretrained(out)


MARIAN_CODES = [">>fra<<", ">>deu<<", ">>ron<<", ">>spa<<"]


def _marian_models(work: Path, name: str, nmt_nfkc: bool):
    english = [line for line in corpus_lines() if line.isascii()]
    source = train_sentencepiece(work, f"{name}-src", vocab_size=300, nmt_nfkc=nmt_nfkc, lines=english)
    target = train_sentencepiece(work, f"{name}-tgt", vocab_size=400)
    pieces = {}
    for model in (source, target):
        processor = spm.SentencePieceProcessor(model_file=str(model))
        for index in range(processor.get_piece_size()):
            pieces.setdefault(processor.id_to_piece(index), None)
    return source, target, [piece for piece in pieces if piece not in ("<unk>", "<s>", "</s>")]


def _write_vocab(path: Path, tokens: list[str]) -> Path:
    path.write_text(json.dumps({token: index for index, token in enumerate(tokens)}, ensure_ascii=False, indent=2))
    return path


def build_marian(work: Path, out: Path) -> None:
    source, target, pieces = _marian_models(work, "marian", nmt_nfkc=True)
    # As the Marian conversion writes it: </s> and <unk> first, language codes, the pieces, <pad> last.
    vocab = _write_vocab(work / "vocab.json", ["</s>", "<unk>", *MARIAN_CODES, *pieces, "<pad>"])
    transformers.MarianTokenizer(
        str(source), str(target), str(vocab), source_lang="en", target_lang="mul"
    ).save_pretrained(out)


def build_marian_separate_vocabs(work: Path, out: Path) -> None:
    source, target, _ = _marian_models(work, "marian-sep", nmt_nfkc=False)
    vocabs = []
    for name, model in (("vocab.json", source), ("target_vocab.json", target)):
        processor = spm.SentencePieceProcessor(model_file=str(model))
        pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
        pieces = [p for p in pieces if p not in ("<unk>", "<s>", "</s>")]
        vocabs.append(_write_vocab(work / name, ["</s>", "<unk>", *pieces, "<pad>"]))
    transformers.MarianTokenizer(
        str(source), str(target), str(vocabs[0]), target_vocab_file=str(vocabs[1]), separate_vocabs=True,
        source_lang="en", target_lang="ro",
    ).save_pretrained(out)  # fmt: skip


# name -> (builder, model_type, extra texts holding the family's special tokens)
FAMILIES = {
    "xlm-roberta": (build_xlm_roberta, "xlm-roberta", ["a <mask> b <s> c </s> d <pad> e <unk> f", "x<mask>y <mask>"]),
    "mpnet": (build_mpnet, "mpnet", ["a <mask> b <s> c </s> d [UNK] e <unk>", "x<mask>y  <mask>"]),
    "deberta-v2": (build_deberta_v2, "deberta-v2", ["a [MASK] b [CLS] c [SEP] d [PAD] e [UNK]"]),
    "deberta-v2-bpe-punct": (
        build_deberta_v2_bpe_punct,
        "deberta-v2",
        ["a [MASK] b [CLS] c [SEP]", "Hello,world!(punct)...end"],
    ),  # fmt: skip
    "albert": (build_albert, "albert", ["a [MASK] b [CLS] c [SEP] d <pad> e <unk>", "``quoted'' text", "1,000, 2,"]),
    "mt5": (build_mt5, "mt5", ["a </s> b <pad> c <unk> d <extra_id_0>"]),
    "mbart": (build_mbart, "mbart", ["a <mask> b </s> c en_XX d ro_RO e <s>", "ro_RO Bună ziua"]),
    "mbart50": (build_mbart50, "mbart", ["a <mask> b </s> c en_XX d ro_RO e <s>", "sl_SI zdravo"]),
    "pegasus": (build_pegasus, "pegasus", ["a <mask_1> b <mask_2> c </s> d <pad> e <unk_7> f <unk>"]),
    "marian": (
        build_marian,
        "marian",
        [
            ">>fra<< Hello, world!",
            ">>deu<<Hello",
            ">>xyz<< unknown code",
            "Hello >>fra<< in the middle",
            "a </s> b <pad> c <unk> d",
            ">>fra<<",
            "a <s> b </s>c",
        ],
    ),  # fmt: skip
    "marian-separate-vocabs": (build_marian_separate_vocabs, "marian", ["a </s> b <pad> c <unk> d"]),
}

# --- cases ---------------------------------------------------------------------------------------------

TEXTS = [
    "Hello, world! Loading checkpoints is fun.",
    "The quick brown fox jumps over the lazy dog.",
    "Ça marche très bien — même avec des accents! Größe, naïve café, Ångström.",
    "Привет, мир! Как дела?",
    "الطقس جميل اليوم في المدينة.",
    "日本語のテキストも処理できます。",
    "中文分词测试：你好，世界！",
    "한국어 문장도 있습니다.",
    "emoji 🙂 in the middle 🚀🎉",
    "  leading and trailing spaces  ",
    "many    inner     spaces",
    "tabs\tand\nnewlines\r\nhere",
    "",
    " ",
    "Numbers: 1,000,000 and 3.14159 and 2024-01-15 and 42%",
    "ＦＵＬＬ ｗｉｄｔｈ １２３ and ligature ﬁne… and no-break\u00a0space",
    "supercalifragilisticexpialidocious" * 3,
    "unknown ☃ ⨀ characters",
    "UPPER lower MiXeD CaSe",
]
PAIR = ("Hello, world! Loading checkpoints is fun.", "The quick brown fox jumps over the lazy dog.")
BATCH = ["Hello, world! Loading checkpoints is fun.", "The quick brown fox jumps over the lazy dog.",
         "Ça marche très bien — même avec des accents!"]  # fmt: skip
SAME = "Loading checkpoints is fun."


def case(text, call=None, text_pair=None, **extra) -> dict:
    return {"call": call or {}, "text": text, "text_pair": text_pair, **extra}


def common_cases(extra_texts: list[str], reference) -> list[dict]:
    fast = reference.is_fast
    # Lengths that let only_first / only_second succeed whatever the vocabulary: the other text and the
    # special tokens fit, with a few tokens left for the truncated one.
    first, second = (len(reference(text, add_special_tokens=False)["input_ids"]) for text in PAIR)
    specials = reference.num_special_tokens_to_add(pair=True)
    cases = []
    for text in TEXTS + extra_texts:
        cases += [case(text), case(text, {"add_special_tokens": False})]
    cases += [
        case(PAIR[0], text_pair=PAIR[1]),
        case(PAIR[0], {"return_token_type_ids": True, "return_special_tokens_mask": True}, PAIR[1]),
        case(PAIR[0], {"add_special_tokens": False}, PAIR[1]),
        case(PAIR[0], {"truncation": True, "max_length": 8}),
        case(PAIR[0], {"max_length": 6}),
        case(PAIR[0], {"truncation": True, "max_length": 8}, attributes={"truncation_side": "left"}),
        case(PAIR[0], {"truncation": "longest_first", "max_length": 12}, PAIR[1]),
        case(SAME, {"truncation": "longest_first", "max_length": 9}, SAME),
        case(SAME, {"truncation": "longest_first", "max_length": 10}, SAME),
        case(PAIR[0], {"truncation": "only_first", "max_length": second + specials + 5}, PAIR[1]),
        case(PAIR[0], {"truncation": "only_second", "max_length": first + specials + 4}, PAIR[1]),
        case(PAIR[0], {"truncation": "only_second", "max_length": 16}, PAIR[1]),
        case(TEXTS[2], {"truncation": "only_second", "max_length": 12}, PAIR[1]),
        case(PAIR[0], {"truncation": "only_first", "max_length": 3}, PAIR[1]),
        case(BATCH, {"padding": True}),
        case(BATCH, {"padding": "longest", "return_length": True}),
        case(BATCH, {"padding": "max_length", "max_length": 16, "truncation": True}),
        case(BATCH, {"padding": True, "pad_to_multiple_of": 8}),
        case(BATCH, {"padding": True, "padding_side": "left", "return_special_tokens_mask": True}),
        case(BATCH, {"padding": True, "truncation": True, "max_length": 10}, [PAIR[1]] * 3),
        case(BATCH, {"add_special_tokens": False, "return_attention_mask": False}),
        case(["Hello", "world", "ça", "va", "日本"], {"is_split_into_words": True}),
        case(PAIR[0], {"text_target": PAIR[1]}),
        case(None, {"text_target": TEXTS[2]}),
        case(BATCH, {"text_target": BATCH[::-1], "padding": True}),
    ]
    if fast:
        cases += [
            case(PAIR[1], {"return_offsets_mapping": True}),
            case(TEXTS[2], {"return_offsets_mapping": True}),
            case(TEXTS[9], {"return_offsets_mapping": True}),
            case(TEXTS[15], {"return_offsets_mapping": True}),
            case(PAIR[0], {"return_offsets_mapping": True}, PAIR[1]),
            case(PAIR[0], {"truncation": True, "max_length": 8, "stride": 2, "return_overflowing_tokens": True}),
        ]
    else:
        # transformers' Python path: overflow fields, token_type_ids one short of a pair's ids (padded so),
        # special tokens written in the text, no split on them.
        cases += [
            case(PAIR[1], {"return_offsets_mapping": True}),
            case(PAIR[0], {"truncation": True, "max_length": 8, "stride": 2, "return_overflowing_tokens": True}),
            case(BATCH, {"truncation": True, "max_length": 6, "return_overflowing_tokens": True}),
            case(BATCH[:2], {"padding": True, "return_token_type_ids": True}, ["and a pair", "x"]),
            case(PAIR[0], {"padding": "max_length", "max_length": 40, "return_token_type_ids": True}, "pair"),
            case("a </s> b <pad> c", {"return_special_tokens_mask": True}),
            case("a </s> b <pad> c", {"split_special_tokens": True}),
        ]
    return cases


def language_cases(name: str) -> list[dict]:
    if name.startswith("mbart"):
        return [
            case(PAIR[0], attributes={"src_lang": "ro_RO"}),
            case(PAIR[0], {"text_target": "Bună ziua, lume!"}, attributes={"tgt_lang": "de_DE"}),
            case(PAIR[0], {"text_target": "Bună ziua, lume!"}, attributes={"src_lang": "fr_XX", "tgt_lang": "en_XX"}),
            case(None, {"text_target": "Bună ziua"}, attributes={"tgt_lang": None}),
            case(PAIR[0], text_pair=PAIR[1], attributes={"src_lang": "de_DE"}),
            case(BATCH, {"text_target": BATCH, "padding": True, "truncation": True, "max_length": 9}),
            case("Bună ziua", context="as_target_tokenizer"),
        ]
    if name.startswith("marian"):
        return [
            case(PAIR[0], {"text_target": "Bună ziua, lume! Ça va?"}),
            case(None, {"text_target": "Bună ziua, lume! Ça va? 日本"}),
            case(">>fra<< Hello", {"text_target": ">>fra<< Bonjour"}),
            case("Bună ziua, lume!", context="as_target_tokenizer"),
            case(BATCH, {"text_target": BATCH[::-1], "padding": True, "truncation": True, "max_length": 12}),
        ]
    return []


# --- running a case ------------------------------------------------------------------------------------


def plain(value):
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


@contextlib.contextmanager
def attributes_set(tokenizer, attributes: dict):
    saved = {key: getattr(tokenizer, key) for key in attributes}
    for key, value in attributes.items():
        setattr(tokenizer, key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            setattr(tokenizer, key, value)


def call(tokenizer, spec: dict) -> dict:
    args = [spec["text"]] + ([spec["text_pair"]] if spec.get("text_pair") is not None else [])
    return {key: plain(value) for key, value in tokenizer(*args, **spec["call"]).items()}


def run(tokenizer, spec: dict) -> dict:
    """{"expected": …} (plus "expected_next" inside as_target_tokenizer) or {"error": …}."""
    try:
        with attributes_set(tokenizer, spec.get("attributes", {})):
            if spec.get("context") == "as_target_tokenizer":
                with tokenizer.as_target_tokenizer():
                    first = call(tokenizer, spec)
                    second = call(tokenizer, spec)
                return {"expected": first, "expected_next": second}
            return {"expected": call(tokenizer, spec)}
    except Exception as exc:  # noqa: BLE001 - the reference records that transformers raised
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def describe(text) -> str:
    return text if isinstance(text, str) or text is None else str(text)[:40]


def decode_cases(tokenizer, is_marian: bool) -> list[dict]:
    cases = []
    for text in TEXTS + ["a </s> b <pad> c"]:
        ids = tokenizer(text)["input_ids"]
        for kwargs in ({}, {"skip_special_tokens": True}, {"clean_up_tokenization_spaces": True}):
            cases.append({"ids": ids, "kwargs": kwargs, "expected": tokenizer.decode(ids, **kwargs)})
        if is_marian:
            kwargs = {"use_source_tokenizer": True}
            cases.append({"ids": ids, "kwargs": kwargs, "expected": tokenizer.decode(ids, **kwargs)})
    unk = tokenizer.unk_token_id
    ids = [unk, *tokenizer("Hello world", add_special_tokens=False)["input_ids"], unk, tokenizer.eos_token_id or unk]
    for kwargs in ({}, {"skip_special_tokens": True}):
        cases.append({"ids": ids, "kwargs": kwargs, "expected": tokenizer.decode(ids, **kwargs)})
    return cases


# Hub checkpoints often lack tokenizer_config.json (xlm-roberta-base has tokenizer.json, the .model file and
# config.json): these variants keep only some files of the saved folder, plus config.json with the model_type.
BARE_VARIANTS = {
    "without tokenizer_config": lambda path: path.name not in ("tokenizer_config.json", "special_tokens_map.json"),
    "vocabulary files only": lambda path: (
        path.name not in ("tokenizer_config.json", "special_tokens_map.json", "tokenizer.json")
    ),
}


def bare_references(name: str, folder: Path, work: Path) -> dict:
    _, model_type, extra = FAMILIES[name]
    result = {}
    for variant, keep in BARE_VARIANTS.items():
        files = sorted(path.name for path in folder.iterdir() if keep(path))
        if variant == "without tokenizer_config" and "tokenizer.json" not in files:
            continue
        bare = work / f"{name}-{variant.replace(' ', '-')}"
        bare.mkdir()
        for file in files:
            shutil.copy(folder / file, bare / file)
        (bare / "config.json").write_text(json.dumps({"model_type": model_type}), encoding="utf-8")
        tokenizer = AutoTokenizer.from_pretrained(bare)
        specs = [case(text) for text in [*TEXTS[:3], TEXTS[9], *extra]] + [case(PAIR[0], text_pair=PAIR[1])]
        result[variant] = {
            "files": files,
            "class": type(tokenizer).__name__,
            "cases": [{**spec, **run(tokenizer, spec)} for spec in specs],
        }
    return result


def make_reference(name: str, folder: Path, work: Path) -> dict:
    builder, model_type, extra = FAMILIES[name]
    reference = AutoTokenizer.from_pretrained(folder)
    is_fast = reference.is_fast
    slow = AutoTokenizer.from_pretrained(folder, use_fast=False)
    older = None
    if (folder / "tokenizer.json").exists():
        older_folder = work / f"{name}-older"
        shutil.copytree(folder, older_folder)
        (older_folder / "tokenizer.json").unlink()
        older = older_folder
    cases, slow_disagrees_on, older_disagrees_on = [], [], []
    for spec in common_cases(extra, reference) + language_cases(name):
        result = run(AutoTokenizer.from_pretrained(folder), spec)
        cases.append({**spec, **result})
        if is_fast and "return_offsets_mapping" not in spec["call"]:
            if run(AutoTokenizer.from_pretrained(folder, use_fast=False), spec) != result:
                slow_disagrees_on.append(describe(spec["text"]))
        if older is not None and run(AutoTokenizer.from_pretrained(older), spec) != result:
            older_disagrees_on.append(describe(spec["text"]))
    for spec in cases:
        if spec.get("attributes") == {}:
            del spec["attributes"]
    ids = reference(PAIR[1])["input_ids"]
    decoding = {
        "ids": ids,
        "decode": reference.decode(ids),
        "decode_skip_special": reference.decode(ids, skip_special_tokens=True),
        "tokens": reference.convert_ids_to_tokens(ids),
        "batch_decode": reference.batch_decode([reference(text)["input_ids"] for text in BATCH]),
    }
    typed_folder = work / f"{name}-model-type"
    shutil.copytree(folder, typed_folder)
    config = json.loads((typed_folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.pop("tokenizer_class", None)
    (typed_folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    (typed_folder / "config.json").write_text(json.dumps({"model_type": model_type}), encoding="utf-8")
    data = {
        "class": type(reference).__name__,
        "slow_class": type(slow).__name__,
        "model_type": model_type,
        "model_type_class": type(AutoTokenizer.from_pretrained(typed_folder)).__name__,
        "cases": cases,
        "decoding": decoding,
        "decode_cases": decode_cases(reference, name.startswith("marian")),
        "slow_disagrees_on": slow_disagrees_on,
        "bare": bare_references(name, folder, work),
    }
    if older_disagrees_on:
        # transformers itself gives other results when it builds the tokenizer from the older files.
        data["older_files_disagree_on"] = older_disagrees_on
    return data


def main(names: list[str]) -> None:
    for name in names or list(FAMILIES):
        folder = FIXTURES / name
        shutil.rmtree(folder, ignore_errors=True)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            FAMILIES[name][0](work, folder)
            data = make_reference(name, folder, work)
        (folder / "cases.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        errors = sum("error" in c for c in data["cases"])
        print(f"{name}: {data['class']}, {len(data['cases'])} cases ({errors} errors), slow disagrees on "
              f"{len(data['slow_disagrees_on'])}, older files disagree on {len(data.get('older_files_disagree_on', []))}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
