"""Images and text together, and tables and documents: caption an image, answer a question about an image, answer
a question over a small table and over a document's words, each with its Auto class, its processor and its
post-processing, in PyTorch, TensorFlow or Flax.

- ImageCaptioning: AutoProcessor + AutoModelForVision2Seq (BLIP) `.generate(pixel_values=...)` -> batch_decode.
- ImageCaptioningEncoderDecoder: the same with a vision-encoder-decoder (ViT encoder + GPT-2 decoder, as in
  captioning and TrOCR checkpoints), its image processor and the decoder's tokenizer.
- VisualQuestionAnswering: ViLT, AutoModelForVisualQuestionAnswering -> logits -> config.id2label (the answer is
  one of a fixed set of labels, scored with a sigmoid).
- VisualQuestionAnsweringGenerate: BLIP's question answering model, which writes the answer with `generate`.
- TableQuestionAnswering: TAPAS, the table given as rows of strings (a pandas DataFrame works too) ->
  AutoModelForTableQuestionAnswering -> tokenizer.convert_logits_to_predictions -> answer cells and aggregation.
- DocumentQuestionAnswering: LayoutLMv3 with the words and their boxes given (apply_ocr=False: autoload runs no
  OCR) -> AutoModelForDocumentQuestionAnswering -> the best start/end span over the words.

    python examples/multimodal_tasks.py                      # PyTorch
    python examples/multimodal_tasks.py --framework tf       # or flax
    python examples/multimodal_tasks.py --image my.jpg --question "What is in the picture?"

By default the checkpoints are the tiny random ones of the test fixtures (tests/fixtures/models/<type>/<Class>/,
processors under tests/fixtures/processors/, tokenizers/ or image_processors/), so the answers are random but every
step runs in seconds. A Hub id works the same way, e.g. `AutoModelForVision2Seq.from_pretrained(
"Salesforce/blip-image-captioning-base")` with `AutoProcessor.from_pretrained` of the same id,
"dandelin/vilt-b32-finetuned-vqa", "google/tapas-base-finetuned-wtq" or "nlpconnect/vit-gpt2-image-captioning";
`--checkpoint-root` points at a folder laid out like tests/fixtures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import autoload

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
PREFIX = {"torch": "", "tf": "TF", "flax": "Flax"}
TENSORS = {"torch": "pt", "tf": "tf", "flax": "np"}
# The tiny fixture models take small images; real checkpoints use their processors' own sizes.
TINY_SIZES = {
    "blip": {"size": {"height": 24, "width": 24}},
    "vit": {"size": {"height": 24, "width": 24}},
    "vilt": {"size": {"shortest_edge": 32}},
    "layoutlmv3": {"size": {"height": 16, "width": 16}},
}
# A small table, header first, every cell a string (TAPAS reads text; numbers are parsed from it).
TABLE = [
    ["City", "Country", "Population"],
    ["Paris", "France", "2.1 million"],
    ["Rome", "Italy", "2.8 million"],
    ["Berlin", "Germany", "3.6 million"],
]
# Names of TAPAS's aggregation operators for checkpoints fine-tuned on WikiTableQuestions (4 labels), used when
# the config has no aggregation_labels.
WTQ_AGGREGATIONS = {0: "NONE", 1: "SUM", 2: "AVERAGE", 3: "COUNT"}
# A receipt's words and their boxes on LayoutLMv3's 0..1000 grid (what an OCR engine would give).
WORDS = ["Invoice", "Total", "42.50", "Due", "Friday"]
BOXES = [[60, 50, 260, 90], [60, 400, 200, 440], [600, 400, 760, 440], [60, 500, 160, 540], [600, 500, 800, 540]]


class Runner:
    def __init__(self, args: argparse.Namespace):
        self.framework, self.root = args.framework, args.checkpoint_root.resolve()
        self.max_new_tokens = args.max_new_tokens
        self.image = Image.open(args.image).convert("RGB")
        self.question, self.table_question, self.document_question = (args.question, args.table_question,
                                                                      args.document_question)  # fmt: skip
        self.tiny = self.root == FIXTURES

    def model(self, auto: str, model_type: str, folder: str):
        auto_class = getattr(autoload, PREFIX[self.framework] + auto)
        return auto_class.from_pretrained(self.root / "models" / model_type / folder)

    def preprocessor(self, kind: str, model_type: str, auto: str):
        sizes = TINY_SIZES.get(model_type, {}) if self.tiny and kind != "tokenizers" else {}
        return getattr(autoload, auto).from_pretrained(self.root / kind / model_type, **sizes)

    def tensors(self, inputs, vocab_size: int | None = None) -> dict:
        """The processor's arrays as the framework's tensors. The tiny random checkpoints know 99 tokens, fewer than
        their test tokenizers: with them, ids past the vocabulary are folded into it."""
        arrays = {key: np.asarray(value) for key, value in inputs.items()}
        if self.tiny and vocab_size is not None and arrays["input_ids"].max() >= vocab_size:
            arrays["input_ids"] = arrays["input_ids"] % vocab_size
        if self.framework == "torch":
            import torch

            return {key: torch.from_numpy(value) for key, value in arrays.items()}
        if self.framework == "tf":
            import tensorflow as tf

            return {key: tf.convert_to_tensor(value) for key, value in arrays.items()}
        return arrays

    def run(self, model, **inputs):
        if self.framework == "torch":
            import torch

            with torch.no_grad():
                return model(**inputs)
        return model(**inputs)

    def generate(self, model, **inputs) -> np.ndarray:
        if self.framework == "torch":
            import torch

            with torch.no_grad():
                return np.asarray(model.generate(**inputs, max_new_tokens=self.max_new_tokens))
        output = model.generate(**inputs, max_new_tokens=self.max_new_tokens)
        return np.asarray(getattr(output, "sequences", output))


def image_captioning(r: Runner) -> str:
    processor = r.preprocessor("processors", "blip", "AutoProcessor")
    model = r.model("AutoModelForVision2Seq", "blip", "BlipForConditionalGeneration")
    tokens = r.generate(model, **r.tensors(processor(images=r.image, return_tensors="np")))
    return describe_text(processor.batch_decode(tokens, skip_special_tokens=True)[0], tokens)


def image_captioning_encoder_decoder(r: Runner) -> str:
    image_processor = r.preprocessor("image_processors", "vit", "AutoImageProcessor")
    tokenizer = r.preprocessor("tokenizers", "gpt2", "AutoTokenizer")
    model = r.model("AutoModelForVision2Seq", "vision-encoder-decoder", "VisionEncoderDecoderModel")
    tokens = r.generate(model, **r.tensors(image_processor(r.image, return_tensors="np")))
    return describe_text(tokenizer.batch_decode(tokens, skip_special_tokens=True)[0], tokens)


def visual_question_answering(r: Runner) -> str:
    processor = r.preprocessor("processors", "vilt", "AutoProcessor")
    model = r.model("AutoModelForVisualQuestionAnswering", "vilt", "ViltForQuestionAnswering")
    inputs = r.tensors(processor(r.image, r.question, return_tensors="np"), model.config.vocab_size)
    logits = np.asarray(r.run(model, **inputs).logits)[0]
    best = int(logits.argmax())
    score = 1 / (1 + np.exp(-logits[best]))  # ViLT scores each answer on its own (trained with a sigmoid loss)
    return f"{r.question!r} -> {model.config.id2label[best]!r} (score {score:.3f} of {len(logits)} answers)"


def visual_question_answering_generate(r: Runner) -> str:
    processor = r.preprocessor("processors", "blip", "AutoProcessor")
    model = r.model("AutoModelForVisualQuestionAnswering", "blip", "BlipForQuestionAnswering")
    inputs = processor(images=r.image, text=r.question, return_tensors="np")
    tokens = r.generate(model, **r.tensors(inputs, model.config.text_config.vocab_size))
    return f"{r.question!r} -> {describe_text(processor.batch_decode(tokens, skip_special_tokens=True)[0], tokens)}"


def table_question_answering(r: Runner) -> str:
    tokenizer = r.preprocessor("tokenizers", "tapas", "AutoTokenizer")
    model = r.model("AutoModelForTableQuestionAnswering", "tapas", "TapasForQuestionAnswering")
    inputs = tokenizer(table=TABLE, queries=r.table_question, truncation=True, return_tensors="np")
    outputs = r.run(model, **r.tensors(inputs, model.config.vocab_size))
    aggregation_logits = getattr(outputs, "logits_aggregation", None)  # None without aggregation (SQA checkpoints)
    predictions = tokenizer.convert_logits_to_predictions(inputs, outputs.logits, aggregation_logits)
    coordinates = predictions[0][0]
    cells = [TABLE[row + 1][column] for row, column in coordinates]  # coordinates count data rows from 0
    answer = f"{r.table_question!r} -> cells {cells} at {coordinates}"
    if aggregation_logits is None:
        return answer
    names = {int(k): v for k, v in (model.config.aggregation_labels or {}).items()}
    names = names or (WTQ_AGGREGATIONS if model.config.num_aggregation_labels == 4 else {})
    return f"{answer}, aggregation {names.get(predictions[1][0], predictions[1][0])}"


def document_question_answering(r: Runner) -> str:
    processor = r.preprocessor("processors", "layoutlmv3", "AutoProcessor")
    model = r.model("AutoModelForDocumentQuestionAnswering", "layoutlmv3", "LayoutLMv3ForQuestionAnswering")
    # positions start after the padding id (RoBERTa's numbering), so the text fits max_position_embeddings - pad - 1
    max_length = min(512, model.config.max_position_embeddings - model.config.pad_token_id - 1)
    encoding = processor(r.image, r.document_question, WORDS, boxes=BOXES, truncation="only_second",
                         max_length=max_length, return_tensors="np")  # fmt: skip
    outputs = r.run(model, **r.tensors(encoding, model.config.vocab_size))
    length = encoding["input_ids"].shape[1]  # the logits go on over the image patches: keep the text tokens
    start_logits, end_logits = np.asarray(outputs.start_logits)[0, :length], np.asarray(outputs.end_logits)[0, :length]
    start, end = best_span(start_logits, end_logits, encoding.sequence_ids(0))
    word_ids = encoding.word_ids(0)
    answer = " ".join(WORDS[word_ids[start] : word_ids[end] + 1])
    score = start_logits[start] + end_logits[end]
    return f"{r.document_question!r} -> {answer!r} (tokens {start}-{end}, score {score:.3f})"


def best_span(start_logits: np.ndarray, end_logits: np.ndarray, sequence_ids: list, max_tokens: int = 15):
    """The (start, end) token pair with the highest start + end logit, both in the words (sequence 1), end not
    before start and at most max_tokens apart."""
    context = np.array([index == 1 for index in sequence_ids])
    scores = start_logits[:, None] + end_logits[None, :]
    starts, ends = np.indices(scores.shape)
    allowed = context[:, None] & context[None, :] & (ends >= starts) & (ends - starts < max_tokens)
    scores = np.where(allowed, scores, -np.inf)
    return tuple(int(i) for i in np.unravel_index(scores.argmax(), scores.shape))


def describe_text(text: str, tokens: np.ndarray) -> str:
    return f"{text!r} ({tokens.shape[-1]} tokens)"


TASKS = {
    "ImageCaptioning": image_captioning,
    "ImageCaptioningEncoderDecoder": image_captioning_encoder_decoder,
    "VisualQuestionAnswering": visual_question_answering,
    "VisualQuestionAnsweringGenerate": visual_question_answering_generate,
    "TableQuestionAnswering": table_question_answering,
    "DocumentQuestionAnswering": document_question_answering,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--framework", choices=sorted(PREFIX), default="torch")
    parser.add_argument("--image", type=Path, default=FIXTURES / "images" / "rgb.png")
    parser.add_argument("--checkpoint-root", type=Path, default=FIXTURES)
    parser.add_argument("--question", default="What color is the sky?", help="the question about the image")
    parser.add_argument("--table-question", default="Which city has the most people?")
    parser.add_argument("--document-question", default="What is the total?")
    parser.add_argument("--max-new-tokens", type=int, default=8, help="of the captions and generated answers")
    parser.add_argument("--only", nargs="*", choices=sorted(TASKS), help="run only these tasks")
    args = parser.parse_args(argv)
    runner = Runner(args)
    failed = 0
    for name, task in TASKS.items():
        if args.only and name not in args.only:
            continue
        try:
            print(f"{name}: {task(runner)}", flush=True)
        except Exception as error:  # report every task, then fail
            failed += 1
            print(f"{name}: FAILED {type(error).__name__}: {error}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
