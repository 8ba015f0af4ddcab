"""Losses the task heads compute when `labels` are passed (same conventions as transformers)."""

import torch
from torch import nn


def sequence_classification_loss(logits: torch.Tensor, labels: torch.Tensor, config) -> torch.Tensor:
    num_labels = logits.shape[-1]
    if config.problem_type is None:
        if num_labels == 1:
            config.problem_type = "regression"
        elif labels.dtype in (torch.long, torch.int):
            config.problem_type = "single_label_classification"
        else:
            config.problem_type = "multi_label_classification"
    if config.problem_type == "regression":
        if num_labels == 1:
            return nn.functional.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
        return nn.functional.mse_loss(logits, labels.to(logits.dtype))
    if config.problem_type == "single_label_classification":
        return nn.functional.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    return nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross entropy over every position; label -100 is ignored."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1).to(logits.device))


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Next-token loss: position t predicts label t+1."""
    return token_loss(logits[:, :-1, :].float(), labels[:, 1:])


def span_loss(start_logits, end_logits, start_positions, end_positions) -> torch.Tensor:
    length = start_logits.shape[1]
    start = start_positions.reshape(-1).clamp(0, length)
    end = end_positions.reshape(-1).clamp(0, length)
    loss = nn.functional.cross_entropy(start_logits, start, ignore_index=length)
    return (loss + nn.functional.cross_entropy(end_logits, end, ignore_index=length)) / 2
