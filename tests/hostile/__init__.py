"""Hostile checkpoints: a generated corpus of crafted files for every reader, loaded in limited subprocesses."""
