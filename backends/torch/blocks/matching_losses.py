"""DETR's training loss from `labels` in PyTorch: a Hungarian matching of the predictions to the targets (SciPy's
linear_sum_assignment, the optional extra `autoload-hf[detection]`), then classification, box (L1 + generalized
IoU), cardinality and, for DetrForSegmentation, mask (sigmoid focal + dice) losses, with the auxiliary losses of
every earlier decoder layer when config.auxiliary_loss. The numbers are transformers 4.57.6's.

labels: one dict per image with "class_labels" [targets] and "boxes" [targets, 4] (centre x, centre y, width,
height, relative to the image), and "masks" [targets, height, width] for segmentation.
"""

from __future__ import annotations

import torch
from torch import nn

from autoload.errors import BackendNotAvailableError


def _assignment():
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError as error:
        raise BackendNotAvailableError(
            "DETR's loss from labels matches predictions to targets with SciPy's linear_sum_assignment, and SciPy is "
            "not installed: pip install 'autoload-hf[detection]' (or scipy), or call the model without labels."
        ) from error
    return linear_sum_assignment


def corners(boxes: torch.Tensor) -> torch.Tensor:
    """(centre x, centre y, width, height) -> (x0, y0, x1, y1)."""
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def generalized_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise generalized IoU of corner boxes a [N, 4] and b [M, 4] -> [N, M]."""
    for name, boxes in (("predicted", a), ("target", b)):
        if not bool((boxes[:, 2:] >= boxes[:, :2]).all()):
            raise ValueError(f"DETR loss: {name} boxes have a negative width or height: {boxes}")
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    overlap = (torch.min(a[:, None, 2:], b[:, 2:]) - torch.max(a[:, None, :2], b[:, :2])).clamp(min=0)
    inter = overlap[..., 0] * overlap[..., 1]
    union = area_a[:, None] + area_b - inter
    hull = (torch.max(a[:, None, 2:], b[:, 2:]) - torch.min(a[:, None, :2], b[:, :2])).clamp(min=0)
    hull_area = hull[..., 0] * hull[..., 1]
    return inter / union - (hull_area - union) / hull_area


@torch.no_grad()
def match(config, logits, boxes, targets) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per image, (prediction indices, target indices) of the cheapest one-to-one assignment."""
    if config.class_cost == 0 and config.bbox_cost == 0 and config.giou_cost == 0:
        raise ValueError("DetrConfig: class_cost, bbox_cost and giou_cost can't all be 0 (the matching needs a cost).")
    assign = _assignment()
    batch, queries = logits.shape[:2]
    probabilities = logits.flatten(0, 1).softmax(-1)
    flat_boxes = boxes.flatten(0, 1)
    target_ids = torch.cat([t["class_labels"] for t in targets])
    target_boxes = torch.cat([t["boxes"] for t in targets])
    cost = (config.bbox_cost * torch.cdist(flat_boxes, target_boxes, p=1)
            - config.class_cost * probabilities[:, target_ids]
            - config.giou_cost * generalized_iou(corners(flat_boxes), corners(target_boxes)))  # fmt: skip
    cost = cost.view(batch, queries, -1).cpu()
    sizes = [len(t["boxes"]) for t in targets]
    pairs = [assign(c[i]) for i, c in enumerate(cost.split(sizes, -1))]
    return [(torch.as_tensor(i, dtype=torch.int64), torch.as_tensor(j, dtype=torch.int64)) for i, j in pairs]


def _sources(indices):
    return (torch.cat([torch.full_like(s, i) for i, (s, _) in enumerate(indices)]), torch.cat([s for s, _ in indices]))


def _targets(indices):
    return (torch.cat([torch.full_like(t, i) for i, (_, t) in enumerate(indices)]), torch.cat([t for _, t in indices]))


def sigmoid_focal_loss(logits, targets, count, alpha: float = 0.25, gamma: float = 2.0):
    probability = logits.sigmoid()
    cross_entropy = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = probability * targets + (1 - probability) * (1 - targets)
    loss = cross_entropy * (1 - p_t) ** gamma
    loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss.mean(1).sum() / count


def dice_loss(logits, targets, count):
    probability = logits.sigmoid().flatten(1)
    numerator = 2 * (probability * targets).sum(1)
    return (1 - (numerator + 1) / (probability.sum(-1) + targets.sum(-1) + 1)).sum() / count


def padded_masks(targets) -> torch.Tensor:
    """Every image's target masks zero-padded to the largest height and width -> [batch, most targets, H, W]."""
    masks = [t["masks"] for t in targets]
    shape = [max(m.shape[i] for m in masks) for i in range(3)]
    out = torch.zeros([len(masks)] + shape, dtype=masks[0].dtype, device=masks[0].device)
    for padded, m in zip(out, masks):
        padded[: m.shape[0], : m.shape[1], : m.shape[2]].copy_(m)
    return out


def image_losses(config, logits, boxes, masks, targets, count) -> dict:
    indices = match(config, logits, boxes, targets)
    weights = torch.ones(config.num_labels + 1, device=logits.device)
    weights[-1] = config.eos_coefficient
    classes = torch.full(logits.shape[:2], config.num_labels, dtype=torch.int64, device=logits.device)
    source = _sources(indices)
    classes[source] = torch.cat([t["class_labels"][j] for t, (_, j) in zip(targets, indices)])
    losses = {"loss_ce": nn.functional.cross_entropy(logits.transpose(1, 2), classes, weights)}
    matched = boxes[source]
    target_boxes = torch.cat([t["boxes"][j] for t, (_, j) in zip(targets, indices)], dim=0)
    losses["loss_bbox"] = nn.functional.l1_loss(matched, target_boxes, reduction="none").sum() / count
    giou = torch.diag(generalized_iou(corners(matched), corners(target_boxes)))
    losses["loss_giou"] = (1 - giou).sum() / count
    with torch.no_grad():
        lengths = torch.as_tensor([len(t["class_labels"]) for t in targets], device=logits.device)
        predicted = (logits.argmax(-1) != logits.shape[-1] - 1).sum(1)
        losses["cardinality_error"] = nn.functional.l1_loss(predicted.float(), lengths.float())
    if masks is not None:
        target_masks = padded_masks(targets).to(masks)[_targets(indices)]
        chosen = nn.functional.interpolate(masks[source][:, None], size=target_masks.shape[-2:], mode="bilinear",
                                           align_corners=False)[:, 0].flatten(1)  # fmt: skip
        target_masks = target_masks.flatten(1).view(chosen.shape)
        losses["loss_mask"] = sigmoid_focal_loss(chosen, target_masks, count)
        losses["loss_dice"] = dice_loss(chosen, target_masks, count)
    return losses


def detr_loss(detector, decoded, logits, pred_boxes, pred_masks, labels):
    """(total loss, loss_dict, auxiliary_outputs) as DetrForObjectDetection / DetrForSegmentation compute them;
    `detector` holds class_labels_classifier and bbox_predictor (for the auxiliary outputs)."""
    config = detector.config
    targets = [{k: (v if isinstance(v, torch.Tensor) else torch.as_tensor(v)).to(logits.device) for k, v in t.items()}
               for t in labels]  # fmt: skip
    count = max(float(sum(len(t["class_labels"]) for t in targets)), 1.0)
    loss_dict = image_losses(config, logits, pred_boxes, pred_masks, targets, count)
    auxiliary_outputs = None
    if config.auxiliary_loss:
        intermediate = decoded.intermediate_hidden_states
        classes = detector.class_labels_classifier(intermediate)
        coordinates = detector.bbox_predictor(intermediate).sigmoid()
        auxiliary_outputs = [{"logits": c, "pred_boxes": b} for c, b in zip(classes[:-1], coordinates[:-1])]
        for i, extra in enumerate(auxiliary_outputs):
            extra_losses = image_losses(config, extra["logits"], extra["pred_boxes"], None, targets, count)
            loss_dict.update({f"{k}_{i}": v for k, v in extra_losses.items()})
    weights = {"loss_ce": 1, "loss_bbox": config.bbox_loss_coefficient, "loss_giou": config.giou_loss_coefficient,
               "loss_mask": config.mask_loss_coefficient, "loss_dice": config.dice_loss_coefficient}  # fmt: skip
    if pred_masks is None:
        del weights["loss_mask"], weights["loss_dice"]
    if config.auxiliary_loss:
        weights.update({f"{k}_{i}": v for i in range(config.decoder_layers - 1) for k, v in list(weights.items())})
    loss = sum(loss_dict[k] * weights[k] for k in loss_dict if k in weights)
    return loss, loss_dict, auxiliary_outputs


# MaskFormer: queries matched to target masks by class probability, pairwise sigmoid focal and dice costs.


def pairwise_dice(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    probability = logits.sigmoid().flatten(1)
    numerator = 2 * probability @ targets.T
    return 1 - (numerator + 1) / (probability.sum(-1)[:, None] + targets.sum(-1)[None, :] + 1)


def pairwise_focal(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0):
    probability = logits.sigmoid()
    positive = alpha * (1 - probability) ** gamma * nn.functional.binary_cross_entropy_with_logits(
        logits, torch.ones_like(logits), reduction="none")
    negative = (1 - alpha) * probability**gamma * nn.functional.binary_cross_entropy_with_logits(
        logits, torch.zeros_like(logits), reduction="none")
    return (positive @ targets.T + negative @ (1 - targets).T) / logits.shape[1]


@torch.no_grad()
def match_masks(config, mask_logits, class_logits, mask_labels, class_labels):
    assign = _assignment()
    pairs = []
    for probabilities, masks, targets, labels in zip(class_logits.softmax(-1), mask_logits, mask_labels, class_labels):
        targets = nn.functional.interpolate(targets[:, None].to(masks), size=masks.shape[-2:], mode="nearest")
        flat, target_flat = masks.flatten(1), targets[:, 0].flatten(1)
        cost = (config.mask_weight * pairwise_focal(flat, target_flat) - probabilities[:, labels]
                + config.dice_weight * pairwise_dice(flat, target_flat))  # fmt: skip
        pairs.append(assign(cost.cpu()))
    return [(torch.as_tensor(i, dtype=torch.int64), torch.as_tensor(j, dtype=torch.int64)) for i, j in pairs]


def mask_losses(config, mask_logits, class_logits, mask_labels, class_labels, count) -> dict:
    indices = match_masks(config, mask_logits, class_logits, mask_labels, class_labels)
    source, target = _sources(indices), _targets(indices)
    shape = [max(m.shape[i] for m in mask_labels) for i in range(3)]
    padded = torch.zeros([len(mask_labels)] + shape, dtype=mask_labels[0].dtype, device=mask_labels[0].device)
    for out, m in zip(padded, mask_labels):
        out[: m.shape[0], : m.shape[1], : m.shape[2]].copy_(m)
    target_masks = padded[target]
    chosen = nn.functional.interpolate(mask_logits[source][:, None], size=target_masks.shape[-2:], mode="bilinear",
                                       align_corners=False)[:, 0].flatten(1)  # fmt: skip
    target_masks = target_masks.flatten(1)
    weights = torch.ones(config.num_labels + 1, device=class_logits.device)
    weights[-1] = config.no_object_weight
    classes = torch.full(class_logits.shape[:2], config.num_labels, dtype=torch.int64, device=class_logits.device)
    classes[source] = torch.cat([labels[j] for labels, (_, j) in zip(class_labels, indices)])
    return {"loss_mask": sigmoid_focal_loss(chosen, target_masks, count),
            "loss_dice": dice_loss(chosen, target_masks, count),
            "loss_cross_entropy": nn.functional.cross_entropy(class_logits.transpose(1, 2), classes, weights)}  # fmt: skip


def maskformer_loss(config, mask_logits, class_logits, auxiliary, mask_labels, class_labels):
    """MaskFormerForInstanceSegmentation's loss from mask_labels (per image [targets, H, W]) and class_labels (per
    image [targets]): the sum of the weighted mask, dice and cross-entropy losses, of the auxiliary predictions'
    too (the loss_dict transformers builds is weighted in place before the sum)."""
    device = class_logits.device
    mask_labels = [torch.as_tensor(m).to(device=device, dtype=mask_logits.dtype) for m in mask_labels]
    class_labels = [torch.as_tensor(c).to(device=device, dtype=torch.int64) for c in class_labels]
    count = max(float(sum(len(c) for c in class_labels)), 1.0)
    losses = mask_losses(config, mask_logits, class_logits, mask_labels, class_labels, count)
    for i, extra in enumerate(auxiliary or []):
        extra_losses = mask_losses(config, extra["masks_queries_logits"], extra["class_queries_logits"], mask_labels,
                                   class_labels, count)  # fmt: skip
        losses.update({f"{k}_{i}": v for k, v in extra_losses.items()})
    weights = {"loss_cross_entropy": config.cross_entropy_weight, "loss_mask": config.mask_weight,
               "loss_dice": config.dice_weight}  # fmt: skip
    total = 0
    for key, value in losses.items():
        for name, weight in weights.items():
            if name in key:
                value = value * weight
        total = total + value
    return total
