"""Uploading to the Hub: `push_to_hub(repo_id)` on models, configs, tokenizers and processors, and
`save_pretrained(folder, push_to_hub=True)`, as transformers 4.x has them. What is uploaded is what save_pretrained
writes, as one commit made with huggingface_hub (create_repo, create_branch for a new `revision`, upload_folder).
"""

from __future__ import annotations

import functools
import os
import tempfile

# push options save_pretrained(..., push_to_hub=True) takes beside the folder (repo_id: by default its name)
HUB_OPTIONS = ("repo_id", "commit_message", "private", "token", "create_pr", "revision", "commit_description")


def default_commit_message(owner) -> str:
    """transformers' default: by the class name (a feature extractor counts as a model, as there)."""
    name = type(owner).__name__
    kind = next((kind for kind in ("Processor", "Tokenizer", "Config") if kind in name), "Model")
    return f"Upload {kind.lower()}"


def push_folder(folder: str, repo_id: str, owner, commit_message: str | None = None, private: bool | None = None,
                token=None, create_pr: bool = False, revision: str | None = None,
                commit_description: str | None = None):  # fmt: skip
    """Upload everything in `folder` to the model repo `repo_id` (created if missing) as one commit."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    if revision is not None and not revision.startswith("refs/pr/"):
        api.create_branch(repo_id, branch=revision, exist_ok=True)
    message = commit_message or default_commit_message(owner)
    return api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=message,
                             commit_description=commit_description, revision=revision, create_pr=create_pr)  # fmt: skip


def pushes_after_save(method):
    """Decorate a save_pretrained(self, save_directory, ...) so that push_to_hub=True (with HUB_OPTIONS) uploads the
    folder once it is written."""

    @functools.wraps(method)
    def save_pretrained(self, save_directory, *args, push_to_hub: bool = False, **kwargs):
        hub = {name: kwargs.pop(name) for name in HUB_OPTIONS if name in kwargs}
        result = method(self, save_directory, *args, **kwargs)
        if push_to_hub:
            folder = os.fspath(save_directory)
            repo_id = hub.pop("repo_id", None) or os.path.basename(os.path.normpath(folder))
            push_folder(folder, repo_id, self, **hub)
        return result

    return save_pretrained


class PushToHubMixin:
    def push_to_hub(self, repo_id: str, use_temp_dir: bool | None = None, commit_message: str | None = None,
                    private: bool | None = None, token=None, max_shard_size=None, create_pr: bool = False,
                    safe_serialization: bool | None = None, revision: str | None = None,
                    commit_description: str | None = None, tags: list[str] | None = None):  # fmt: skip
        """Save into a temporary folder (use_temp_dir is accepted and has no other meaning) and upload it to
        `repo_id` as one commit; returns huggingface_hub's CommitInfo. max_shard_size and safe_serialization
        apply to models (by default safetensors, as transformers pushes them; TF models their tf_model.h5)."""
        if tags:
            raise NotImplementedError("push_to_hub(tags=...) would edit the model card, which autoload does not "
                                      "write; add tags to the repo's README.md with huggingface_hub.")  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            self.save_pretrained(folder, **self._push_save_options(max_shard_size, safe_serialization))
            return push_folder(folder, repo_id, self, commit_message, private, token, create_pr, revision,
                               commit_description)  # fmt: skip

    def _push_save_options(self, max_shard_size, safe_serialization) -> dict:
        return {}
