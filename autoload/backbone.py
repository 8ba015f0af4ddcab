"""Which stages a backbone returns: `out_features` (stage names) and `out_indices` (positions) kept in step."""

from __future__ import annotations


def align_stages(out_features, out_indices, stage_names: list[str]) -> tuple[list[str], list[int]]:
    """Validate and complete the pair; neither given means the last stage; both given must agree."""
    names = list(stage_names)
    if out_indices is not None:
        out_indices = [int(i) for i in out_indices]
        for i in out_indices:
            if not -len(names) <= i < len(names):
                raise ValueError(f"out_indices {out_indices}: index {i} is out of range for stages {names}.")
    if out_features is not None:
        out_features = list(out_features)
        unknown = [f for f in out_features if f not in names]
        if unknown:
            raise ValueError(f"out_features {unknown} are not stages of this backbone; choose from {names}.")
    if out_features is None and out_indices is None:
        return [names[-1]], [len(names) - 1]
    if out_features is None:
        return [names[i] for i in out_indices], out_indices
    if out_indices is None:
        return out_features, [names.index(f) for f in out_features]
    if [names[i] for i in out_indices] != out_features:
        raise ValueError(
            f"out_features {out_features} and out_indices {out_indices} name different stages "
            f"({[names[i] for i in out_indices]}); pass one of them, or both consistently."
        )
    return out_features, out_indices


class BackboneConfigMixin:
    """For configs with `stage_names`: setting either of out_features / out_indices updates the other."""

    @property
    def out_features(self):
        return self._out_features

    @out_features.setter
    def out_features(self, value):
        self._out_features, self._out_indices = align_stages(value, None, self.stage_names)

    @property
    def out_indices(self):
        return self._out_indices

    @out_indices.setter
    def out_indices(self, value):
        self._out_features, self._out_indices = align_stages(None, value, self.stage_names)

    def set_backbone_outputs(self, out_features=None, out_indices=None) -> None:
        self._out_features, self._out_indices = align_stages(out_features, out_indices, self.stage_names)

    def to_dict(self):
        data = super().to_dict()
        data["out_features"], data["out_indices"] = list(self._out_features), list(self._out_indices)
        return data
