"""Reference for answering a question over a small table end to end with transformers 4.57.6: TapasTokenizer (the
tokenizer fixture tests/fixtures/tokenizers/tapas) -> a tiny random TapasForQuestionAnswering (written here) ->
convert_logits_to_predictions. Written to tests/fixtures/tapas_pipeline/ (config.json, model.safetensors,
expected.json). Run with the side environment: python (with transformers 4.57.6 installed, e.g. a side venv) scripts/reference/tapas_pipeline.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import transformers

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
TOKENIZER = FIXTURES / "tokenizers" / "tapas"
OUT = FIXTURES / "tapas_pipeline"
TABLE = {"Actors": ["Brad Pitt", "Leonardo Di Caprio", "George Clooney"], "Age": ["56", "45", "59"],
         "Number of movies": ["87", "53", "69"]}  # fmt: skip
QUERIES = ["How many movies has George Clooney played in?", "How old is Brad Pitt?"]


def main() -> None:
    tokenizer = transformers.TapasTokenizer.from_pretrained(TOKENIZER)
    config = transformers.TapasConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=24, max_position_embeddings=64, type_vocab_sizes=[3, 8, 8, 2, 8, 8, 10],
        num_aggregation_labels=4, max_num_rows=8, max_num_columns=6, select_one_column=True,
        aggregation_labels={0: "NONE", 1: "SUM", 2: "AVERAGE", 3: "COUNT"},
    )
    torch.manual_seed(3)
    model = transformers.TapasForQuestionAnswering(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.3)
    OUT.mkdir(exist_ok=True)
    model.save_pretrained(OUT)
    inputs = tokenizer(table=pd.DataFrame(TABLE), queries=QUERIES, padding="longest", return_tensors="pt")
    with torch.no_grad():
        outputs = model(**inputs)
    logits = outputs.logits.clone()  # convert_logits_to_predictions clamps the tensor it is given in place
    coordinates, aggregations = tokenizer.convert_logits_to_predictions(
        inputs, outputs.logits, outputs.logits_aggregation, cell_classification_threshold=0.45)
    expected = {"table": TABLE, "queries": QUERIES, "threshold": 0.45,
                "input_ids": inputs["input_ids"].tolist(), "token_type_ids": inputs["token_type_ids"].tolist(),
                "logits": logits.tolist(), "logits_aggregation": outputs.logits_aggregation.tolist(),
                "answer_coordinates": [[list(c) for c in cells] for cells in coordinates],
                "aggregation_indices": [int(i) for i in aggregations]}  # fmt: skip
    (OUT / "expected.json").write_text(json.dumps(expected) + "\n")
    print(coordinates, aggregations, np.round(torch.sigmoid(outputs.logits).numpy(), 2))


if __name__ == "__main__":
    main()
