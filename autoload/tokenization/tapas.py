"""TapasTokenizer: a question and a flattened table for TAPAS (table question answering).

`tokenizer(table, queries, ...)` takes the table as a pandas DataFrame of strings (pandas is optional: only this
input type needs it), a dict of columns ({"header": [cells…]}) or a list of rows whose first row is the header.
A query (or each query of a list) is encoded as `[CLS] query [SEP]` followed by the table's tokens, header row first,
row by row; `token_type_ids` has 7 ids per token: segment (1 on the table), column (1-based), row (0 for the
header), the previous question's answer label (for a list of queries with answers, as in SQA), the column rank and
inverse rank of the cell's number or date, and the relation (bit set: 1 equal, 2 less, 4 greater) between the
query's numbers and the cell's. `answer_coordinates` ((row, column) pairs, 0-based on the data rows) and
`answer_text` add `labels`, `numeric_values` (NaN where a cell has no number) and `numeric_values_scale`.
`truncation=True` ("drop_rows_to_fit") drops rows from the end, and shortens cells, until the encoding fits
max_length (or model_max_length).

transformers has only a pure-Python class, whose results these are (quirks included: with
add_special_tokens=False the token type ids and attention mask still count [CLS] and [SEP]; padding=True pads a
single query only when max_length or pad_to_multiple_of is given). Cell text is tokenized like BERT's WordPiece
(lower-cased), a cell without letters or digits ("", "?", "n/a") as [EMPTY]. `convert_logits_to_predictions`
turns the cell-selection and aggregation logits of a TAPAS model into answer coordinates.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from ..postprocessing.table_qa import logits_to_predictions
from .base import LARGE_INTEGER, VERY_LARGE_INTEGER, PreTrainedTokenizerFast
from .batch_encoding import BatchEncoding
from .bert import WORDPIECE_SPECIAL_TOKENS
from .converters import read_wordpiece_vocab, wordpiece
from .python_encoding import PythonEncodingMixin
from .special_tokens import token_content
from .tapas_numbers import Relation, column_values, normalize_for_match, parse_text, relation, sort_key_function

logger = logging.getLogger(__name__)

TRUNCATION_STRATEGIES = ("drop_rows_to_fit", "do_not_truncate")
TOKEN_TYPES = ["segment_ids", "column_ids", "row_ids", "prev_labels", "column_ranks", "inv_column_ranks",
               "numeric_relations"]  # fmt: skip
EMPTY_TEXT = "EMPTY"


def format_text(text: str) -> str:
    """Lower-cased, punctuation and underscores made spaces, whitespace collapsed; EMPTY for nothing left or for
    n/a, ? and nan."""
    text = text.lower().strip()
    if text in ("n/a", "?", "nan"):
        text = EMPTY_TEXT
    text = " ".join(re.sub(r"[^\w\d]+", " ", text).replace("_", " ").split()).strip()
    return text or EMPTY_TEXT


def as_table(table) -> tuple[list[str], list[list[str]]]:
    """(header, data rows) of a pandas DataFrame, a dict of columns or a list of rows (header first)."""
    if hasattr(table, "columns") and hasattr(table, "itertuples"):  # a pandas DataFrame
        header, rows = list(table.columns), [list(row) for row in table.itertuples(index=False, name=None)]
    elif isinstance(table, dict):
        columns = [list(values) for values in table.values()]
        if len({len(column) for column in columns}) > 1:
            raise ValueError(f"The table's columns have different lengths {[len(c) for c in columns]}; give every "
                             "column a value for every row.")  # fmt: skip
        header, rows = list(table), [list(row) for row in zip(*columns)]
    elif isinstance(table, (list, tuple)) and table and all(isinstance(row, (list, tuple)) for row in table):
        header, rows = list(table[0]), [list(row) for row in table[1:]]
        if any(len(row) != len(header) for row in rows):
            raise ValueError(f"Every row of the table needs {len(header)} cells, one per header column.")
    else:
        raise TypeError(
            "TAPAS needs the table as a pandas DataFrame of strings, a dict of columns ({header: [cells]}) or a "
            f"list of rows with the header first; got {type(table).__name__}."
        )
    for cell in [*header, *(cell for row in rows for cell in row)]:
        if not isinstance(cell, str):
            raise TypeError(
                f"TAPAS tables hold text, but a header or cell is {cell!r} ({type(cell).__name__}). Convert the "
                "table first (with pandas: table.astype(str), and str column names)."
            )
    return header, rows


@dataclass
class TokenizedTable:
    """The tokens of every cell (row 0 is the header) and their (row, column, token index) in reading order."""

    rows: list[list[list[str]]]
    positions: list[tuple[int, int, int]]

    @property
    def max_cell_tokens(self) -> int:
        return max((index + 1 for _, _, index in self.positions), default=0)


class TapasTokenizer(PythonEncodingMixin, PreTrainedTokenizerFast):
    vocab_files_names = {"vocab_file": "vocab.txt"}
    model_input_names = ["input_ids", "attention_mask", "token_type_ids"]
    uses_tokenizer_file = False
    defaults = {**WORDPIECE_SPECIAL_TOKENS, "do_lower_case": True, "do_basic_tokenize": True, "never_split": None,
                "empty_token": "[EMPTY]", "tokenize_chinese_chars": True, "strip_accents": None, "cell_trim_length": -1,
                "max_column_id": None, "max_row_id": None, "strip_column_names": False,
                "update_answer_coordinates": False, "min_question_length": None, "max_question_length": None,
                "model_max_length": 512, "clean_up_tokenization_spaces": True}  # fmt: skip

    def __init__(self, *args, **kwargs):
        empty = kwargs.get("empty_token", self.defaults["empty_token"])
        extra = kwargs.get("additional_special_tokens")
        if extra is None:
            extra = [empty]
        elif empty not in [token_content(token) for token in extra]:
            extra = [*extra, empty]
        kwargs["additional_special_tokens"] = list(extra)
        super().__init__(*args, **kwargs)
        limit = self.model_max_length if self.model_max_length is not None else VERY_LARGE_INTEGER
        self.max_column_id = self.settings.get("max_column_id") or limit
        self.max_row_id = self.settings.get("max_row_id") or limit
        self.init_kwargs.update(max_column_id=self.max_column_id, max_row_id=self.max_row_id)

    def _backend_from_vocab_files(self, files):
        vocab = read_wordpiece_vocab(files["vocab_file"])
        backend = wordpiece(vocab, unk_token=self.unk_token, cls_token=self.cls_token, sep_token=self.sep_token,
                            lowercase=self.do_lower_case, strip_accents=self.settings.get("strip_accents"),
                            handle_chinese_chars=bool(self.settings.get("tokenize_chinese_chars", True)))  # fmt: skip
        # The word pieces of one piece of text (no special tokens): BERT's basic tokenizer, or whitespace only.
        self._pieces = Tokenizer(models.WordPiece(vocab, unk_token=self.unk_token, continuing_subword_prefix="##"))
        if self.settings.get("do_basic_tokenize", True):
            self._pieces.normalizer = backend.normalizer
            self._pieces.pre_tokenizer = backend.pre_tokenizer
        else:
            self._pieces.normalizer = normalizers.Sequence([])
            self._pieces.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        self._never_split = set(self.settings.get("never_split") or ())
        return backend

    @property
    def do_lower_case(self) -> bool:
        return bool(self.settings.get("do_lower_case", True))

    @property
    def empty_token(self) -> str:
        return self.settings.get("empty_token", "[EMPTY]")

    # --- text to tokens ------------------------------------------------------------------------------

    def _lower_except_special(self, text: str) -> str:
        # Without the basic tokenizer transformers' TapasTokenizer has no do_lower_case, so nothing is lower-cased.
        return super()._lower_except_special(text) if self.settings.get("do_basic_tokenize", True) else text

    def _tokenize(self, text: str) -> list[str]:
        if format_text(text) == EMPTY_TEXT:
            return [self.additional_special_tokens[0]]
        if self._never_split and self.settings.get("do_basic_tokenize", True):
            tokens = []
            for word in text.split():
                tokens += [word] if word in self._never_split else self._pieces.encode(word).tokens
            return tokens
        return self._pieces.encode(text, add_special_tokens=False).tokens

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return " ".join(tokens).replace(" ##", "").strip()

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return True

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        return tuple(self._tokenizer.model.save(save_directory, filename_prefix))

    def build_inputs_with_special_tokens(self, ids: list[int], pair: list[int] | None = None) -> list[int]:
        if pair is None:
            raise ValueError("With TAPAS, you must provide both question IDs and table IDs.")
        return [self.cls_token_id, *ids, self.sep_token_id, *pair]

    def get_special_tokens_mask(self, ids, pair=None, already_has_special_tokens: bool = False) -> list[int]:
        if already_has_special_tokens:
            special = set(self.all_special_ids)
            return [1 if index in special else 0 for index in [*ids, *(pair or [])]]
        return [1] + [0] * len(ids) + [1] + ([0] * len(pair) if pair is not None else [])

    def create_token_type_ids_from_sequences(self, ids: list[int], pair: list[int] | None = None) -> list[int]:
        return [0] * (len(ids) + 2 + (len(pair) if pair is not None else 0))

    # --- the call ------------------------------------------------------------------------------------

    def __call__(self, table=None, queries=None, answer_coordinates=None, answer_text=None, add_special_tokens=True,
                 padding=False, truncation=False, max_length=None, pad_to_multiple_of=None, padding_side=None,
                 return_tensors=None, return_token_type_ids=None, return_attention_mask=None,
                 return_overflowing_tokens=False, return_special_tokens_mask=False, return_offsets_mapping=False,
                 return_length=False, verbose=True, **kwargs) -> BatchEncoding:  # fmt: skip
        """Encode one query (str) or a list of queries with the table; see the module docstring. TAPAS never
        returns overflowing tokens (return_overflowing_tokens is accepted and ignored, as in transformers)."""
        if table is None:
            raise ValueError("TapasTokenizer needs a table (a pandas DataFrame, a dict of columns or a list of rows).")
        header, rows = as_table(table)
        if not (queries is None or isinstance(queries, str)
                or (isinstance(queries, (list, tuple)) and (not queries or isinstance(queries[0], str)))):  # fmt: skip
            raise ValueError("queries must be a str (one question) or a list of str (one encoding per question).")
        if return_token_type_ids is not None and not add_special_tokens:
            raise ValueError(
                "Asking to return token_type_ids while setting add_special_tokens to False gives an undefined result "
                "(transformers refuses it too). Set add_special_tokens=True or leave return_token_type_ids unset."
            )
        if (answer_coordinates and not answer_text) or (not answer_coordinates and answer_text):
            raise ValueError("In case you provide answers, both answer_coordinates and answer_text should be provided.")
        if "is_split_into_words" in kwargs:
            raise NotImplementedError("TapasTokenizer takes questions as strings only (no is_split_into_words).")
        if return_offsets_mapping:
            raise NotImplementedError(
                "return_offsets_mapping is not available with TapasTokenizer: transformers has only a pure-Python "
                "class for it, which gives no offsets."
            )
        if kwargs:
            logger.warning("Keyword arguments %s not recognized by TapasTokenizer; they are ignored.", kwargs)
        truncation = _truncation_strategy(truncation)
        encoder = _TableEncoder(self, header, rows)
        options = dict(add_special_tokens=add_special_tokens, truncation=truncation, max_length=max_length,
                       return_token_type_ids=return_token_type_ids, return_special_tokens_mask=return_special_tokens_mask,
                       return_length=return_length)  # fmt: skip
        if isinstance(queries, (list, tuple)):
            if answer_coordinates is None and answer_text is None:
                answer_coordinates = answer_text = [None] * len(queries)
            examples = []
            for index, query in enumerate(queries):
                previous = (answer_coordinates[index - 1], answer_text[index - 1]) if index else (None, None)
                examples.append(encoder.encode(query, answer_coordinates[index], answer_text[index], previous,
                                               return_attention_mask=False, **options))  # fmt: skip
            data = {key: [example[key] for example in examples] for key in (examples[0] if examples else {})}
            padding, max_length = self._padding_for_pad(padding, max_length)
            data = dict(self.pad(data, padding=padding, max_length=max_length, pad_to_multiple_of=pad_to_multiple_of,
                                 padding_side=padding_side, return_attention_mask=return_attention_mask))  # fmt: skip
            return BatchEncoding(data, tensor_type=return_tensors)
        if queries is None:
            logger.warning("TAPAS answers questions about a table, but no query was given; the model will probably "
                           "not behave well.")  # fmt: skip
            queries = ""
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        data = encoder.encode(queries, answer_coordinates, answer_text, (None, None),
                              return_attention_mask=return_attention_mask, **{**options, "return_length": False})  # fmt: skip
        if isinstance(padding, bool):
            padding = "max_length" if padding and (max_length is not None or pad_to_multiple_of is not None) else False
        if padding not in (False, "do_not_pad") or return_attention_mask:
            padding, max_length = self._padding_for_pad(padding, max_length)
            data = dict(self.pad(data, padding=padding, max_length=max_length, pad_to_multiple_of=pad_to_multiple_of,
                                 padding_side=padding_side, return_attention_mask=return_attention_mask))  # fmt: skip
        if return_length:
            data["length"] = len(data["input_ids"])
        return BatchEncoding(data, tensor_type=return_tensors, prepend_batch_axis=return_tensors is not None)

    def _padding_for_pad(self, padding, max_length):
        """padding="max_length" without max_length pads to model_max_length (not at all when the model has none)."""
        strategy = getattr(padding, "value", padding)
        if strategy == "max_length" and max_length is None:
            if self.model_max_length > LARGE_INTEGER:
                return False, None
            return strategy, self.model_max_length
        return padding, max_length

    def encode(self, table, query=None, add_special_tokens: bool = True, **kwargs) -> list[int]:
        return self(table, query, add_special_tokens=add_special_tokens, **kwargs)["input_ids"]

    def encode_plus(self, table, query=None, **kwargs) -> BatchEncoding:
        return self(table, query, **kwargs)

    def batch_encode_plus(self, table, queries=None, **kwargs) -> BatchEncoding:
        return self(table, list(queries or []), **kwargs)

    def _pad_values(self):
        return {**super()._pad_values(), "token_type_ids": [self.pad_token_type_id] * 7, "labels": 0,
                "numeric_values": float("nan"), "numeric_values_scale": 1.0}  # fmt: skip

    # --- post-processing -----------------------------------------------------------------------------

    def convert_logits_to_predictions(self, data, logits, logits_agg=None, cell_classification_threshold: float = 0.5):
        """(answer coordinates per example, and with logits_agg the aggregation index per example): the cells whose
        tokens' mean probability (sigmoid of `logits`) is above the threshold, as sorted (row, column) pairs.
        `data` is the encoding the logits came from (input_ids, attention_mask, token_type_ids); any framework's
        tensors or numpy arrays. An example without table cells is left out, as in transformers."""
        return logits_to_predictions(data, logits, logits_agg, cell_classification_threshold)


def _truncation_strategy(truncation) -> str:
    if isinstance(truncation, bool):
        return "drop_rows_to_fit" if truncation else "do_not_truncate"
    value = getattr(truncation, "value", truncation)
    if value not in TRUNCATION_STRATEGIES:
        raise ValueError(f"truncation={truncation!r} is not valid for TAPAS; use True, False or one of "
                         f"{TRUNCATION_STRATEGIES}.")  # fmt: skip
    return value


class _TableEncoder:
    """One table's tokens and numbers, shared by the queries of a call."""

    def __init__(self, tokenizer: TapasTokenizer, header: list[str], rows: list[list[str]]):
        self.tokenizer, self.header, self.rows = tokenizer, header, rows
        strip = tokenizer.settings.get("strip_column_names")
        cells = [[tokenizer.tokenize("" if strip else name) for name in header]]
        cells += [[tokenizer.tokenize(cell) for cell in row] for row in rows]
        positions = [(r, c, t) for r, row in enumerate(cells) for c, cell in enumerate(row) for t in range(len(cell))]
        self.table = TokenizedTable(cells, positions)
        self._values = None

    @property
    def values(self):
        """Per column, row -> consolidated number or date (computed on first use)."""
        if self._values is None:
            self._values = column_values(self.rows) if self.rows else [{} for _ in self.header]
        return self._values

    # --- sizes and truncation ------------------------------------------------------------------------

    def num_rows(self, drop_rows_to_fit: bool) -> int:
        count, limit = len(self.rows), self.tokenizer.max_row_id
        if count >= limit:
            if not drop_rows_to_fit:
                raise ValueError(f"Too many rows: the table has {count}, this tokenizer takes fewer than max_row_id="
                                 f"{limit} (truncation=True drops the rest).")  # fmt: skip
            return limit - 1
        return count

    def num_columns(self) -> int:
        count, limit = len(self.header), self.tokenizer.max_column_id
        if count >= limit:
            raise ValueError(f"Too many columns: the table has {count}, this tokenizer takes fewer than max_column_id="
                             f"{limit}.")  # fmt: skip
        return count

    def table_values(self, num_columns: int, num_rows: int, num_tokens: int) -> list[tuple[str, int, int]]:
        """(token, column id, row id) of the table tokens kept: rows up to num_rows, columns up to num_columns, and
        in each cell the words that start within its first num_tokens tokens."""
        kept = []
        for row, column, index in self.table.positions:
            if row >= num_rows + 1 or column >= num_columns:
                continue
            cell = self.table.rows[row][column]
            start = index
            while start >= 0 and cell[start].startswith("##"):
                start -= 1
            if start >= num_tokens:
                continue
            kept.append((cell[index], column + 1, row))
        return kept

    def fitting_tokens(self, question_tokens, num_columns: int, num_rows: int, max_length: int) -> int | None:
        """How many tokens per cell fit the budget with num_rows rows; None when even one token does not (or,
        with cell_trim_length, when cells would need shortening)."""
        budget = max_length - (len(question_tokens) + 2)
        most = self.table.max_cell_tokens
        trim = self.tokenizer.settings.get("cell_trim_length", -1)
        trim = -1 if trim is None else trim
        if trim >= 0 and most > trim:
            most = trim
        tokens = 0
        for tokens in range(most + 1):
            if len(self.table_values(num_columns, num_rows, tokens + 1)) > budget:
                break
        if tokens < most and (trim >= 0 or tokens == 0):
            return None
        return tokens

    def truncated(self, question_tokens, num_rows: int, num_columns: int, max_length: int | None) -> tuple[int, int]:
        max_length = self.tokenizer.model_max_length if max_length is None else max_length
        while True:
            tokens = self.fitting_tokens(question_tokens, num_columns, num_rows, max_length)
            if tokens is not None:
                break
            num_rows -= 1
            if num_rows < 1:
                break
        return num_rows, tokens or 1

    # --- one query -----------------------------------------------------------------------------------

    def question_tokens(self, query: str) -> tuple[str, list[str]]:
        tokens = self.tokenizer.tokenize(query)
        settings = self.tokenizer.settings
        longest, shortest = settings.get("max_question_length"), settings.get("min_question_length")
        if longest is not None and len(tokens) > longest:
            logger.warning("Skipping query as its tokens are longer than the max question length")
            return "", []
        if shortest is not None and len(tokens) < shortest:
            logger.warning("Skipping query as its tokens are shorter than the min question length")
            return "", []
        return query, tokens

    def encode(self, query: str, answer_coordinates, answer_text, previous, *, add_special_tokens: bool,
               truncation: str, max_length: int | None, return_token_type_ids, return_attention_mask,
               return_special_tokens_mask: bool, return_length: bool) -> dict:  # fmt: skip
        tokenizer = self.tokenizer
        query, question_tokens = self.question_tokens(query)
        num_rows = self.num_rows(truncation != "do_not_truncate")
        num_columns = self.num_columns()
        num_tokens = self.table.max_cell_tokens
        if truncation != "do_not_truncate":
            num_rows, num_tokens = self.truncated(question_tokens, num_rows, num_columns, max_length)
        table_data = self.table_values(num_columns, num_rows, num_tokens)
        query_ids = tokenizer.convert_tokens_to_ids(question_tokens)
        table_ids = tokenizer.convert_tokens_to_ids([token for token, _, _ in table_data])
        input_ids = tokenizer.build_inputs_with_special_tokens(query_ids, table_ids) if add_special_tokens else \
            query_ids + table_ids  # fmt: skip
        if max_length is not None and len(input_ids) > max_length:
            raise ValueError(
                "Could not encode the query and table header given the maximum length: they take "
                f"{len(input_ids)} tokens, more than max_length={max_length}. Pass a larger max_length, or "
                "truncation=True to drop rows."
            )
        prefix = [0] * (len(query_ids) + 2)
        segment_ids = prefix + [1] * len(table_data)
        column_ids = prefix + [column for _, column, _ in table_data]
        row_ids = prefix + [row for _, _, row in table_data]
        cells = _cell_token_indexes(column_ids, row_ids)
        if previous == (None, None):
            prev_labels = [0] * len(row_ids)
        else:
            prev_labels = self.answer_ids(cells, len(row_ids), *previous)
        column_ranks, inverse_ranks = self.column_ranks(cells, len(row_ids))
        relations = self.numeric_relations(query, cells, len(row_ids))

        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in tokenizer.model_input_names
        encoded: dict = {"input_ids": input_ids}
        if return_attention_mask:
            encoded["attention_mask"] = [1] * (len(query_ids) + 2 + len(table_data))
        if answer_coordinates is not None and answer_text is not None:
            encoded["labels"] = self.answer_ids(cells, len(row_ids), answer_coordinates, answer_text)
            encoded["numeric_values"], encoded["numeric_values_scale"] = self.numeric_values(cells, len(row_ids))
        if return_token_type_ids:
            columns = [segment_ids, column_ids, row_ids, prev_labels, column_ranks, inverse_ranks, relations]
            encoded["token_type_ids"] = [list(ids) for ids in zip(*columns)]
        if return_special_tokens_mask:
            encoded["special_tokens_mask"] = (tokenizer.get_special_tokens_mask(query_ids, table_ids)
                                              if add_special_tokens else [0] * len(input_ids))  # fmt: skip
        if return_length:  # before any padding (a single query's length is measured after it, by the caller)
            encoded["length"] = len(input_ids)
        return encoded

    # --- labels and numeric features -------------------------------------------------------------------

    def answer_ids(self, cells: dict, length: int, coordinates, texts) -> list[int]:
        if self.tokenizer.settings.get("update_answer_coordinates"):
            raise NotImplementedError(
                "update_answer_coordinates=True (finding answers by their text) fails in transformers 4.57's "
                "TapasTokenizer; autoload does not implement it either. Give answer_coordinates and load the "
                "tokenizer with update_answer_coordinates=False."
            )
        answer = [0] * length
        wanted = {(coordinate[1], coordinate[0]) for coordinate in coordinates}
        found = set()
        for cell in wanted:
            for index in cells.get(cell, ()):
                answer[index] = 1
                found.add(cell)
        if len(wanted) != len(found):
            missing = sorted((row, column) for column, row in wanted - found)
            raise ValueError(f"Couldn't find all answers: the cells (row, column) {missing} have no tokens in the "
                             "encoding (dropped by truncation, or outside the table).")  # fmt: skip
        return answer

    def column_ranks(self, cells: dict, length: int) -> tuple[list[int], list[int]]:
        ranks, inverse = [0] * length, [0] * length
        for column, values in enumerate(self.values):
            if not values:
                continue
            try:
                key = sort_key_function(list(values.values()))
            except ValueError:
                continue
            rows_of_key: dict = {}
            for row, value in values.items():
                rows_of_key.setdefault(key(value), []).append(row)
            unique = sorted(rows_of_key)
            for rank, value in enumerate(unique):
                for row in rows_of_key[value]:
                    for index in cells.get((column, row), ()):
                        ranks[index], inverse[index] = rank + 1, len(unique) - rank
        return ranks, inverse

    def numeric_relations(self, query: str, cells: dict, length: int) -> list[int]:
        result = [0] * length
        found: dict[tuple[int, int], set] = {}
        for span in parse_text(normalize_for_match(query)):
            for value in span.values:
                for column, values in enumerate(self.values):
                    if not values:
                        continue
                    try:
                        key = sort_key_function([*values.values(), value])
                    except ValueError:
                        continue
                    for row, cell_value in values.items():
                        kind = relation(value, cell_value, key)
                        if kind is not None:
                            found.setdefault((column, row), set()).add(kind)
        for cell, kinds in found.items():
            bits = sum(2 ** (kind.value - Relation.EQ.value) for kind in kinds)
            for index in cells.get(cell, ()):
                result[index] = bits
        return result

    def numeric_values(self, cells: dict, length: int) -> tuple[list[float], list[float]]:
        values, scales = [float("nan")] * length, [1.0] * length
        for column, column_values_ in enumerate(self.values):
            for row, value in column_values_.items():
                if value.float_value is None or value.float_value == float("inf"):
                    continue
                for index in cells.get((column, row), ()):
                    values[index] = value.float_value
        for indexes in cells.values():
            if len(indexes) > 1:
                for index in indexes:
                    scales[index] = float(len(indexes))
        return values, scales


def _cell_token_indexes(column_ids: list[int], row_ids: list[int]) -> dict[tuple[int, int], list[int]]:
    """(column, row) of each data cell (0-based) -> the indexes of its tokens."""
    cells: dict[tuple[int, int], list[int]] = {}
    for index, (column, row) in enumerate(zip(column_ids, row_ids)):
        if column >= 1 and row >= 1:
            cells.setdefault((column - 1, row - 1), []).append(index)
    return cells
