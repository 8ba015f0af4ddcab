"""Building a `tokenizers.Tokenizer` from the older vocabulary files, with the same ids as tokenizer.json.

Readers for vocab.txt, vocab.json, merges.txt and SentencePiece models, and one builder per model family.
The family modules (bert.py, byte_level.py, t5.py, llama.py …) pick the builder and the special tokens.
"""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from ..errors import CheckpointFormatError
from ..json_files import read_json_file
from .sentencepiece_model import BPE, CONTROL, UNIGRAM, USER_DEFINED, SentencePieceModel

SPIECE_UNDERLINE = "▁"


# --- readers -------------------------------------------------------------------------------------------


def read_wordpiece_vocab(path: str) -> dict[str, int]:
    """vocab.txt: one token a line, the id is the line number. A token listed twice is an error."""
    vocab: dict[str, int] = {}
    for index, line in enumerate(_utf8_lines(path)):
        token = line.rstrip("\n")
        if token in vocab:
            raise CheckpointFormatError(
                f"{path} lists the token {token!r} twice (lines {vocab[token] + 1} and {index + 1}); "
                "a WordPiece vocabulary needs one line per distinct token. Remove the duplicate line."
            )
        vocab[token] = index
    if not vocab:
        raise CheckpointFormatError(f"{path} is empty; a WordPiece vocabulary needs one token a line.")
    return vocab


def read_json_vocab(path: str) -> dict:
    """vocab.json: {token: id} (or {language: {token: id}} for multilingual CTC vocabularies)."""
    vocab = read_json_file(path, fix="Re-download or re-save the tokenizer")
    nested = bool(vocab) and all(isinstance(v, dict) for v in vocab.values())
    for table in vocab.values() if nested else [vocab]:
        for token, index in table.items():
            if not (isinstance(index, int) and not isinstance(index, bool) and 0 <= index < 2**32):
                raise CheckpointFormatError(
                    f"{path} maps the token {token[:50]!r} to {str(index)[:50]}; expected a token id (an integer from 0 "
                    f"to {2**32 - 1}). Re-download or re-save the tokenizer."
                )
    return vocab


def read_merges(path: str, limit: int | None = None) -> list[tuple[str, str]]:
    """merges.txt: an optional '#version' header, then one 'left right' pair a line, highest priority first."""
    merges = []
    for number, line in enumerate(_utf8_lines(path)):
        line = line.rstrip("\r\n")
        if (number == 0 and line.startswith("#version")) or not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise CheckpointFormatError(f"{path} line {number + 1} is not a merge of two tokens: {line[:100]!r}")
        merges.append((parts[0], parts[1]))
        if limit is not None and len(merges) == limit:
            break
    return merges


def _utf8_lines(path: str):
    """The lines of a text file of the tokenizer; CheckpointFormatError naming it when it is not UTF-8."""
    with open(path, encoding="utf-8") as f:
        try:
            yield from f
        except UnicodeDecodeError as exc:
            raise CheckpointFormatError(
                f"{path} is not UTF-8 text ({exc.reason}: {exc.object[exc.start:exc.end]!r}). Re-download or re-save "
                "the tokenizer."
            ) from exc


# --- WordPiece -----------------------------------------------------------------------------------------


def wordpiece(
    vocab: dict[str, int],
    *,
    unk_token: str,
    cls_token: str,
    sep_token: str,
    lowercase: bool,
    strip_accents: bool | None,
    handle_chinese_chars: bool,
) -> Tokenizer:
    """BERT-style: BertNormalizer, BertPreTokenizer, WordPiece with '##', [CLS] A [SEP] (B [SEP])."""
    _id(vocab, unk_token)  # WordPiece gives every word it cannot split this token
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token=unk_token, continuing_subword_prefix="##"))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=handle_chinese_chars, strip_accents=strip_accents, lowercase=lowercase
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{cls_token}:0 $A:0 {sep_token}:0",
        pair=f"{cls_token}:0 $A:0 {sep_token}:0 $B:1 {sep_token}:1",
        special_tokens=[(cls_token, _id(vocab, cls_token)), (sep_token, _id(vocab, sep_token))],
    )
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return tokenizer


# --- byte-level BPE (GPT-2, RoBERTa, BART, Whisper, CLIP, Qwen2) ---------------------------------------


def byte_level_bpe(
    vocab: dict[str, int],
    merges: list[tuple[str, str]],
    *,
    add_prefix_space: bool,
    unk_token: str | None = None,
    end_of_word_suffix: str = "",
) -> Tokenizer:
    """BPE over the 256 byte symbols, ByteLevel pre-tokenizer and decoder; the caller sets the post-processor."""
    tokenizer = Tokenizer(
        models.BPE(
            vocab,
            merges,
            dropout=None,
            unk_token=unk_token,
            continuing_subword_prefix="",
            end_of_word_suffix=end_of_word_suffix,
            fuse_unk=False,
        )
    )
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


# CLIP splits words with this pattern before byte-level encoding, after NFC, whitespace folding and lowercasing.
CLIP_WORD_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
# Qwen2 pre-splits text with this pattern (contractions, letters, single digits, punctuation, newlines).
QWEN2_SPLIT_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def clip_bpe(vocab: dict[str, int], merges: list[tuple[str, str]], *, unk_token: str) -> Tokenizer:
    tokenizer = byte_level_bpe(vocab, merges, add_prefix_space=False, unk_token=unk_token, end_of_word_suffix="</w>")
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CLIP_WORD_PATTERN), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    return tokenizer


def qwen2_bpe(vocab: dict[str, int], merges: list[tuple[str, str]], *, add_prefix_space: bool) -> Tokenizer:
    tokenizer = byte_level_bpe(vocab, merges, add_prefix_space=add_prefix_space)
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space, use_regex=False),
        ]
    )
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return tokenizer


# --- SentencePiece models (T5 Unigram, Llama BPE with byte fallback) -----------------------------------


def metaspace_prepend_scheme(add_prefix_space: bool | None, legacy: bool) -> str:
    """Whether '▁' is put before the text: always (legacy), only before the first piece, or never."""
    if not add_prefix_space:
        return "never"
    return "always" if legacy else "first"


def sentencepiece_added_tokens(model: SentencePieceModel, special_contents: set[str]) -> list:
    """Control and user-defined pieces become added tokens (control ones special) so they are never split."""
    from tokenizers import AddedToken

    return [
        AddedToken(p.piece, normalized=False, special=p.type == CONTROL or p.piece in special_contents)
        for p in model.pieces
        if p.type in (CONTROL, USER_DEFINED)
    ]


def sentencepiece_normalizer(model: SentencePieceModel):
    """Precompiled charsmap (when the model has one), strip trailing spaces, runs of spaces → one '▁'."""
    steps = [normalizers.Strip(left=False, right=True), normalizers.Replace(Regex(" {2,}"), SPIECE_UNDERLINE)]
    if model.normalizer_spec.precompiled_charsmap:
        steps.insert(0, normalizers.Precompiled(model.normalizer_spec.precompiled_charsmap))
    return normalizers.Sequence(steps)


def merges_from_scores(
    vocab_scores: list[tuple[str, float]], piece_ids: dict[str, int] | None = None
) -> list[tuple[str, str]]:
    """Recover BPE merges from a SentencePiece BPE vocabulary.

    Every piece that splits into two pieces of the model (`piece_ids`, the SentencePiece file's own ids;
    by default the positions in `vocab_scores`) yields a merge; merges of higher-scored pieces come first,
    ties broken by longer left then longer right part, then by the parts' ids.
    """
    ids = piece_ids if piece_ids is not None else {piece: index for index, (piece, _) in enumerate(vocab_scores)}
    merges = []
    for piece, score in dict(vocab_scores).items():
        splits = [(piece[:i], piece[i:]) for i in range(1, len(piece)) if piece[:i] in ids and piece[i:] in ids]
        splits.sort(key=lambda pair: (ids[pair[0]], ids[pair[1]]))
        merges.extend((left, right, score) for left, right in splits)
    merges.sort(key=lambda m: (m[2], len(m[0]), len(m[1])), reverse=True)
    return [(left, right) for left, right, _ in merges]


def sentencepiece_bpe(
    model: SentencePieceModel, vocab_scores: list[tuple[str, float]], *, byte_fallback: bool = True
) -> Tokenizer:
    """A SentencePiece BPE model, with byte fallback as Llama uses it (pre-tokenizer set by the caller)."""
    if model.trainer_spec.model_type != BPE:
        raise CheckpointFormatError("expected a SentencePiece BPE model (trainer_spec.model_type = BPE)")
    vocab = {piece: index for index, (piece, _) in enumerate(vocab_scores)}
    piece_ids = {p.piece: index for index, p in enumerate(model.pieces)}
    return Tokenizer(
        models.BPE(
            vocab,
            merges_from_scores(vocab_scores, piece_ids),
            unk_token=model.trainer_spec.unk_piece,
            fuse_unk=True,
            byte_fallback=byte_fallback,
            dropout=None,
        )
    )


def sentencepiece_model(model: SentencePieceModel, vocab_scores: list[tuple[str, float]], *, unk_id: int) -> Tokenizer:
    """The Unigram or BPE model of a SentencePiece file (no byte fallback), over a family's vocabulary layout."""
    if model.trainer_spec.model_type == UNIGRAM:
        return Tokenizer(models.Unigram(vocab_scores, unk_id=unk_id, byte_fallback=False))
    if model.trainer_spec.model_type == BPE:
        return sentencepiece_bpe(model, vocab_scores, byte_fallback=False)
    raise CheckpointFormatError(
        f"SentencePiece model type {model.trainer_spec.model_type} is not supported; only Unigram (1) and BPE (2) "
        "models can be converted."
    )


# --- characters (Wav2Vec2 CTC) -------------------------------------------------------------------------


def characters(vocab: dict[str, int], *, unk_token: str, word_delimiter_token: str | None) -> Tokenizer:
    """One token per character; spaces become the word delimiter token."""
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token=unk_token))
    if word_delimiter_token is not None:
        tokenizer.normalizer = normalizers.Replace(" ", word_delimiter_token)
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    return tokenizer


def _id(vocab: dict[str, int], token: str) -> int:
    if token not in vocab:
        raise CheckpointFormatError(f"the vocabulary has no entry for the special token {token!r}")
    return vocab[token]
