"""``if name is None:`` runs only when the local may be None.

The library below instantiates its unsafe loader only when no loader is given,
as PyYAML's ``load`` does. When every reached call passes a class, the guarded
assignment never runs and the unsafe loader stays out of the call graph. Each
way a value may be None at run time (an omitted argument, an explicit None, an
unknown value, a function that may return None) takes the guard again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _apps import Lab, fakepkg

from pipewarden.reach.model import Tier

LOADER = """
def vulnerable(data):
    return ("unsafe", data)


class SafeLoader:
    def __init__(self, data):
        self.data = data

    def get(self):
        return ("safe", self.data)


class UnsafeLoader:
    def __init__(self, data):
        self.data = data

    def get(self):
        return vulnerable(self.data)


def load(data, Loader=None):
    if Loader is None:
        Loader = UnsafeLoader
    return Loader(data).get()


def load_kw(data, *, loader=None):
    if None is not loader:
        pass
    else:
        loader = UnsafeLoader
    return loader(data).get()


def load_nested(data, Loader=None):
    def run():
        if Loader is None:
            return UnsafeLoader(data).get()
        return Loader(data).get()

    return run()


def safe_load(data):
    return load(data, SafeLoader)


def pick(name):
    if name == "safe":
        return SafeLoader
"""
SYMBOLS = {"fakepkg.loading": ["UnsafeLoader.get"]}


@pytest.fixture
def lab(tmp_path: Path, parse_cache: Path) -> Lab:
    return Lab(tmp_path, parse_cache)


def _tier(lab: Lab, app: str) -> Tier:
    files = {"app.py": app, **fakepkg({"fakepkg/loading.py": LOADER})}
    return lab.finding(files, SYMBOLS).tier


@pytest.mark.parametrize(
    "call",
    [
        "loading.safe_load(event['body'])",
        "loading.load(event['body'], loading.SafeLoader)",
        "loading.load(event['body'], Loader=loading.SafeLoader)",
        "loading.load_kw(event['body'], loader=loading.SafeLoader)",
        "loading.load_nested(event['body'], loading.SafeLoader)",
    ],
)
def test_guard_skipped_when_every_call_passes_a_class(lab: Lab, call: str) -> None:
    app = f"""
from fakepkg import loading

def handler(event, context):
    return {call}
"""
    assert _tier(lab, app) is Tier.SYMBOL_NOT_REFERENCED


@pytest.mark.parametrize(
    "call",
    [
        # the argument is omitted: the default None is used
        "loading.load(event['body'])",
        "loading.load_kw(event['body'])",
        "loading.load_nested(event['body'])",
        # None passed explicitly, positionally or by keyword
        "loading.load(event['body'], None)",
        "loading.load(event['body'], Loader=None)",
        "loading.load_kw(event['body'], loader=None)",
        # a value the analysis cannot see
        "loading.load(event['body'], json.loads(event['loader']))",
        "loading.load(event['body'], event.get('loader'))",
        "loading.load(event['body'], Loader=event['loader'])",
        # a function that may return None (its end is reachable)
        "loading.load(event['body'], loading.pick(event['name']))",
        # a dict miss and a local that was None before
        "loading.load(event['body'], {'safe': loading.SafeLoader}.get(event['name']))",
        "loading.load(event['body'], maybe(event))",
    ],
)
def test_guard_taken_when_a_reached_call_may_pass_none(lab: Lab, call: str) -> None:
    app = f"""
import json

from fakepkg import loading


def maybe(event):
    loader = None
    if event.get("safe"):
        loader = loading.SafeLoader
    return loader


def handler(event, context):
    loading.safe_load(event["body"])
    return {call}
"""
    assert _tier(lab, app) is Tier.REACHABLE


def test_omitted_argument_in_code_that_never_runs_changes_nothing(lab: Lab) -> None:
    app = """
from fakepkg import loading


def handler(event, context):
    return loading.safe_load(event["body"])


def unused(event):
    return loading.load(event["body"])
"""
    assert _tier(lab, app) is Tier.SYMBOL_NOT_REFERENCED


def test_guard_taken_when_the_argument_comes_through_a_wrapper(lab: Lab) -> None:
    app = """
from fakepkg import loading


def wrap(func):
    def inner(*args, **kwargs):
        return func(*args, **kwargs)

    return inner


load = wrap(loading.load)


def handler(event, context):
    load(event["body"], loading.SafeLoader)
    return load(event["body"], **event["options"])
"""
    assert _tier(lab, app) is Tier.REACHABLE


def test_closure_sees_none_assigned_in_the_enclosing_function(lab: Lab) -> None:
    app = """
from fakepkg import loading


def handler(event, context):
    Loader = loading.SafeLoader

    def run():
        if Loader is None:
            return loading.UnsafeLoader(event["body"]).get()
        return Loader(event["body"]).get()

    if event.get("reset"):
        Loader = None
    return run()
"""
    assert _tier(lab, app) is Tier.REACHABLE


def test_closure_guard_skipped_when_the_local_is_never_none(lab: Lab) -> None:
    app = """
from fakepkg import loading


def handler(event, context):
    Loader = loading.SafeLoader

    def run():
        if Loader is None:
            return loading.UnsafeLoader(event["body"]).get()
        return Loader(event["body"]).get()

    return run()
"""
    assert _tier(lab, app) is Tier.SYMBOL_NOT_REFERENCED
