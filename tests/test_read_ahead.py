"""Tensors read on threads ahead of the loading thread (autoload.read_ahead): order, errors, the bound on
what is read ahead, and the setting that turns it off."""

import threading
import time

import numpy as np
import pytest

from autoload import read_ahead
from autoload.read_ahead import read_in_order, read_threads


def test_results_come_in_order_from_worker_threads():
    names = set()

    def read(job):
        names.add(threading.current_thread().name)
        time.sleep(0.002 * (job % 3))  # later jobs often finish first
        return job * job

    assert list(read_in_order(range(40), read, lambda job: 1, threads=3)) == [(j, j * j) for j in range(40)]
    assert names and all(name.startswith("autoload-read") for name in names)


def test_one_thread_reads_on_the_calling_thread():
    names = [name for _, name in read_in_order(range(3), lambda job: threading.current_thread().name, len, threads=1)]
    assert names == [threading.current_thread().name] * 3


def test_a_failed_read_is_raised_at_its_turn_and_later_reads_are_dropped():
    started = []

    def read(job):
        started.append(job)
        if job == 5:
            raise ValueError("tensor 5 is damaged")
        return job

    seen = []
    with pytest.raises(ValueError, match="tensor 5 is damaged"):
        for _, value in read_in_order(range(1000), read, lambda job: 1, threads=2):
            seen.append(value)
    assert seen == [0, 1, 2, 3, 4]
    assert max(started) < 5 + 4 * 2 + 2  # only the window past the failure was started, not the other 990


def test_no_more_than_the_byte_budget_is_read_ahead(monkeypatch):
    monkeypatch.setattr(read_ahead, "_AHEAD_BYTES", 100)
    done_not_taken = []
    lock = threading.Lock()
    state = {"read": 0, "taken": 0}

    def read(job):
        with lock:
            state["read"] += 1
        return np.zeros(job)

    for _ in read_in_order([60] * 20, read, lambda job: job, threads=4):
        time.sleep(0.002)  # the readers could run far ahead if nothing held them
        with lock:
            state["taken"] += 1
            done_not_taken.append(state["read"] - state["taken"])
    assert max(done_not_taken) <= 1  # 60 + 60 bytes reach the budget of 100: the one being taken and one more


def test_a_large_tensor_is_still_read_when_it_alone_exceeds_the_budget(monkeypatch):
    monkeypatch.setattr(read_ahead, "_AHEAD_BYTES", 10)
    assert [v for _, v in read_in_order([1000, 5, 2000], lambda job: job + 1, lambda job: job, threads=2)] == \
        [1001, 6, 2001]  # fmt: skip


@pytest.mark.parametrize("value, expected", [("1", 1), ("3", 3), (" 2 ", 2)])
def test_threads_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("AUTOLOAD_READ_THREADS", value)
    assert read_threads() == expected


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_bad_thread_settings_are_refused(monkeypatch, value):
    monkeypatch.setenv("AUTOLOAD_READ_THREADS", value)
    with pytest.raises(ValueError, match="AUTOLOAD_READ_THREADS"):
        read_threads()
