"""push_to_hub and save_pretrained(push_to_hub=True): what each object uploads is what its save_pretrained writes,
as one commit, with transformers' default messages and options. huggingface_hub's HfApi is replaced by a recorder:
tests never reach the network."""

import json
from pathlib import Path

import huggingface_hub
import pytest
from conftest import FIXTURES, MODELS
from model_checks import PREFIX, needs

import autoload


class Recorder:
    """Stands in for HfApi: keeps each call and, for upload_folder, the files and their bytes."""

    calls: list = []

    def __init__(self, token=None, **_):
        self.token = token

    def create_repo(self, repo_id, private=None, exist_ok=False, **_):
        Recorder.calls.append(("create_repo", repo_id, {"private": private, "exist_ok": exist_ok, "token": self.token}))
        full = repo_id if "/" in repo_id else f"me/{repo_id}"  # the Hub puts a bare name under the user
        return huggingface_hub.RepoUrl(f"https://huggingface.co/{full}")

    def create_branch(self, repo_id, branch, exist_ok=False, **_):
        Recorder.calls.append(("create_branch", repo_id, {"branch": branch, "exist_ok": exist_ok}))

    def upload_folder(self, repo_id, folder_path, commit_message=None, commit_description=None, revision=None,
                      create_pr=False, **_):  # fmt: skip
        files = {p.relative_to(folder_path).as_posix(): p.read_bytes() for p in Path(folder_path).rglob("*") if p.is_file()}
        Recorder.calls.append(("upload_folder", repo_id, {"files": files, "commit_message": commit_message,
                                                          "commit_description": commit_description,
                                                          "revision": revision, "create_pr": create_pr}))  # fmt: skip
        return "commit-info"


@pytest.fixture
def hub(monkeypatch):
    Recorder.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", Recorder)
    return Recorder.calls


def uploaded(calls) -> dict:
    (upload,) = [options for name, _, options in calls if name == "upload_folder"]
    return upload


@pytest.mark.parametrize("backend, weights", [("torch", "model.safetensors"), ("tf", "tf_model.h5"),
                                              ("flax", "model.safetensors")])  # fmt: skip
def test_a_model_uploads_what_it_saves(hub, backend, weights, tmp_path):
    needs(backend)
    model = getattr(autoload, PREFIX[backend] + "AutoModel").from_pretrained(MODELS / "bert" / "BertModel")
    assert model.push_to_hub("me/bert", private=True, token="t0ken", commit_description="d") == "commit-info"
    assert hub[0] == ("create_repo", "me/bert", {"private": True, "exist_ok": True, "token": "t0ken"})
    upload = uploaded(hub)
    assert sorted(upload["files"]) == sorted(["config.json", weights])
    assert (upload["commit_message"], upload["commit_description"], upload["create_pr"]) == ("Upload model", "d", False)
    model.save_pretrained(tmp_path, safe_serialization=weights.endswith("safetensors"))
    assert upload["files"][weights] == (tmp_path / weights).read_bytes()


def test_a_pull_request_a_branch_and_shards(hub):
    needs("torch")
    model = autoload.AutoModel.from_pretrained(MODELS / "bert" / "BertModel")
    model.push_to_hub("me/bert", revision="dev", create_pr=True, max_shard_size="50KB", commit_message="shards")
    assert ("create_branch", "me/bert", {"branch": "dev", "exist_ok": True}) in hub
    upload = uploaded(hub)
    assert (upload["revision"], upload["create_pr"], upload["commit_message"]) == ("dev", True, "shards")
    assert "model.safetensors.index.json" in upload["files"] and len(upload["files"]) > 3
    with pytest.raises(NotImplementedError, match="tags=.*model card"):
        model.push_to_hub("me/bert", tags=["x"])


def test_configs_tokenizers_and_processors_push_too(hub, tmp_path):
    config = autoload.AutoConfig.from_pretrained(MODELS / "bert" / "BertModel")
    config.push_to_hub("me/config")
    assert json.loads(uploaded(hub)["files"]["config.json"]) == json.loads(config.to_json_string())
    assert uploaded(hub)["commit_message"] == "Upload config"
    hub.clear()
    tokenizer = autoload.AutoTokenizer.from_pretrained(FIXTURES / "tokenizers" / "bert-uncased")
    tokenizer.push_to_hub("me/tokenizer")
    assert {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"} <= set(uploaded(hub)["files"])
    assert uploaded(hub)["commit_message"] == "Upload tokenizer"
    hub.clear()
    tokenizer.save_pretrained(tmp_path / "local-name", push_to_hub=True, commit_message="both")
    assert hub[0][:2] == ("create_repo", "local-name") and (tmp_path / "local-name" / "tokenizer.json").exists()
    assert [call[1] for call in hub if call[0] == "upload_folder"] == ["me/local-name"]
    assert uploaded(hub)["commit_message"] == "both"
    hub.clear()
    processor = autoload.AutoImageProcessor.from_pretrained(next((FIXTURES / "image_processors").iterdir()))
    processor.save_pretrained(tmp_path / "images", push_to_hub=True, repo_id="me/images")
    assert hub[0][:2] == ("create_repo", "me/images")
    assert set(uploaded(hub)["files"]) == {"preprocessor_config.json"}
    assert uploaded(hub)["commit_message"] == "Upload processor"
