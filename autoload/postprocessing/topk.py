"""The order in which PyTorch's CPU `topk(k, sorted=False)` returns its results.

MaskFormer's instance segmentation numbers its segments in that order (and later segments paint over
earlier ones), so the order is part of the result. PyTorch sorts a row of (value, index) pairs with the C++
standard library: a partial sort (largest first) when k * 64 <= the row length, else `nth_element`, whose
order below is that of GNU libstdc++ (Linux builds; other C++ libraries order the same set differently).
"""

from __future__ import annotations

import math

import numpy as np


def _greater(a: tuple, b: tuple) -> bool:
    """PyTorch's order for largest=True: NaN first, then by value (the index plays no part)."""
    return (math.isnan(a[0]) and not math.isnan(b[0])) or a[0] > b[0]


def _adjust_heap(items: list, first: int, hole: int, length: int, value: tuple) -> None:
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if _greater(items[first + child], items[first + child - 1]):
            child -= 1
        items[first + hole] = items[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        items[first + hole] = items[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and _greater(items[first + parent], value):
        items[first + hole] = items[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    items[first + hole] = value


def _make_heap(items: list, first: int, last: int) -> None:
    length = last - first
    if length < 2:
        return
    for parent in range((length - 2) // 2, -1, -1):
        _adjust_heap(items, first, parent, length, items[first + parent])


def _pop_heap(items: list, first: int, last: int, result: int) -> None:
    value = items[result]
    items[result] = items[first]
    _adjust_heap(items, first, 0, last - first, value)


def _heap_select(items: list, first: int, middle: int, last: int) -> None:
    _make_heap(items, first, middle)
    for i in range(middle, last):
        if _greater(items[i], items[first]):
            _pop_heap(items, first, middle, i)


def _partial_sort(items: list, middle: int) -> None:
    _heap_select(items, 0, middle, len(items))
    for last in range(middle - 1, 0, -1):
        _pop_heap(items, 0, last, last)


def _insertion_sort(items: list, first: int, last: int) -> None:
    for i in range(first + 1, last):
        value = items[i]
        if _greater(value, items[first]):
            items[first + 1 : i + 1] = items[first:i]
            items[first] = value
        else:
            j = i
            while _greater(value, items[j - 1]):
                items[j] = items[j - 1]
                j -= 1
            items[j] = value


def _move_median_to_first(items: list, result: int, a: int, b: int, c: int) -> None:
    if _greater(items[a], items[b]):
        if _greater(items[b], items[c]):
            pick = b
        elif _greater(items[a], items[c]):
            pick = c
        else:
            pick = a
    elif _greater(items[a], items[c]):
        pick = a
    elif _greater(items[b], items[c]):
        pick = c
    else:
        pick = b
    items[result], items[pick] = items[pick], items[result]


def _unguarded_partition(items: list, first: int, last: int, pivot: int) -> int:
    while True:
        while _greater(items[first], items[pivot]):
            first += 1
        last -= 1
        while _greater(items[pivot], items[last]):
            last -= 1
        if not first < last:
            return first
        items[first], items[last] = items[last], items[first]
        first += 1


def _nth_element(items: list, nth: int) -> None:
    first, last = 0, len(items)
    if first == last or nth == last:
        return
    depth_limit = 2 * ((last - first).bit_length() - 1)
    while last - first > 3:
        if depth_limit == 0:
            _heap_select(items, first, nth + 1, last)
            items[first], items[nth] = items[nth], items[first]
            return
        depth_limit -= 1
        middle = first + (last - first) // 2
        _move_median_to_first(items, first, first + 1, middle, last - 1)
        cut = _unguarded_partition(items, first + 1, last, first)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(items, first, last)


def topk_unsorted(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, indices) of the k largest of a 1-D array, in the order torch.topk(k, sorted=False) gives on CPU."""
    values = np.asarray(values).reshape(-1)
    if k <= 0:
        return values[:0], np.zeros(0, np.int64)
    items = [(float(v), i) for i, v in enumerate(values.tolist())]
    if k * 64 <= len(items):
        _partial_sort(items, k)
    else:
        _nth_element(items, k - 1)
    indices = np.asarray([index for _, index in items[:k]], dtype=np.int64)
    return values[indices], indices
