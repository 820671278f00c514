"""The one way the local cloud changes moto: a registry of patches that installs, restores and fails loudly.

moto does not do everything the local cloud needs (it never runs Lambda code, never evaluates alarms, has no
``DescribeAlarmHistory``...), so a running cloud replaces some of moto's methods and adds a few attributes.
Each owner (``MotoState``, ``IamEnforcement``, a component) registers its patches on a :class:`MotoPatches`,
each with the reason it exists, installs them when it starts and restores them when it stops::

    patches = MotoPatches()
    patches.replace(Subscription, "publish", wrap, reason="deliver to Lambda", expect=parameters("message"))
    patches.add(CloudWatchResponse, "describe_alarm_history", serve, reason="moto lacks it")
    patches.install()  # raises MotoIncompatible, changing nothing, if moto is not what they were written for
    ...
    patches.restore()  # idempotent, in reverse order

:meth:`MotoPatches.install` checks every patch before changing anything: a replaced attribute must exist and
pass its ``expect`` check (e.g. still take the parameters the replacement passes on), an added one must not
exist yet (moto implementing it would be hidden by our addition). A failure is a :class:`MotoIncompatible`
naming the moto attribute, the installed and the tested moto version, and why we patch.

Owners may be classes (class attributes), instances (instance attributes, e.g. one backend) or mappings
(items, e.g. moto's ``default_user_config``). :func:`active_patches` lists what is installed in the process.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

__all__ = ["TESTED_MOTO", "Check", "MotoIncompatible", "MotoPatches", "Patch", "active_patches", "parameters"]

#: The moto version the patches were written and tested for (pyproject pins its minor version).
TESTED_MOTO = "5.2.5"

#: A per-patch check of moto's current value: None when it is as the patch expects, else what differs.
Check = Callable[[Any], str | None]

_MISSING: Any = object()
_lock = threading.Lock()
_active: list[MotoPatches] = []


class MotoIncompatible(RuntimeError):
    """The installed moto is not what a patch was written for; nothing was patched."""


def _moto_version() -> str:
    try:
        return metadata.version("moto")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def parameters(*names: str) -> Check:
    """A check that moto's callable takes ``names`` first (after ``self``), as the replacement relies on."""

    def check(current: Any) -> str | None:
        try:
            found = list(inspect.signature(current).parameters)
        except (TypeError, ValueError):
            return "is no longer a function"
        if found[:1] == ["self"]:
            found = found[1:]
        if found[: len(names)] != list(names):
            return f"takes ({', '.join(found)}), the patch expects ({', '.join(names)}, ...)"
        return None

    return check


@dataclass(eq=False)
class Patch:
    """One registered change: ``make`` builds the replacement from moto's value; without it, an addition."""

    owner: Any
    name: str
    reason: str
    make: Callable[[Any], Any] | None
    value: Any = None
    expect: Check | None = None
    where: str | None = None
    saved: Any = _MISSING  # the owner's own value before install (_MISSING: it had none)
    installed: Any = _MISSING  # what install put there (_MISSING: not installed)

    @property
    def target(self) -> str:
        """The patched attribute's dotted name, e.g. ``moto.sns.models.Subscription.publish``."""
        if self.where is not None:
            return self.where
        if isinstance(self.owner, type):
            return f"{self.owner.__module__}.{self.owner.__qualname__}.{self.name}"
        kind = type(self.owner)
        return f"{kind.__module__}.{kind.__qualname__}.{self.name} (on one instance)"

    @property
    def is_installed(self) -> bool:
        """Whether the patch is in place now."""
        return self.installed is not _MISSING and _own(self.owner, self.name) is self.installed

    def describe(self) -> str:
        """One line: the attribute, whether it is replaced or added, and why."""
        return f"{self.target} ({'replaced' if self.make is not None else 'added'}): {self.reason}"

    def problem(self) -> str | None:
        """Why this patch cannot apply to the moto in this process, or None."""
        if self.make is None:
            if _has(self.owner, self.name):
                return "already exists: moto now implements what the patch adds, and the patch would hide it"
            return None
        if not _has(self.owner, self.name):
            return "is missing (renamed or removed?)"
        return self.expect(_get(self.owner, self.name)) if self.expect is not None else None


def _has(owner: Any, name: str) -> bool:
    return name in owner if isinstance(owner, MutableMapping) else hasattr(owner, name)


def _get(owner: Any, name: str) -> Any:
    return owner[name] if isinstance(owner, MutableMapping) else getattr(owner, name)


def _own(owner: Any, name: str) -> Any:
    """The owner's own value (not inherited, not from its class), or _MISSING."""
    own = owner if isinstance(owner, MutableMapping) else vars(owner)
    return own.get(name, _MISSING)


def _put(owner: Any, name: str, value: Any) -> None:
    if isinstance(owner, MutableMapping):
        owner[name] = value
    else:
        setattr(owner, name, value)


def _drop(owner: Any, name: str) -> None:
    if isinstance(owner, MutableMapping):
        del owner[name]
    else:
        delattr(owner, name)


class MotoPatches:
    """One owner's patches of moto: :meth:`install` applies them all, :meth:`restore` undoes them."""

    def __init__(self) -> None:
        self._patches: list[Patch] = []
        self._installed = False

    @property
    def patches(self) -> tuple[Patch, ...]:
        """The registered patches, in registration (and install) order."""
        return tuple(self._patches)

    @property
    def installed(self) -> bool:
        """Whether :meth:`install` ran and :meth:`restore` has not."""
        return self._installed

    def replace(
        self,
        owner: Any,
        name: str,
        make_replacement: Callable[[Any], Any],
        *,
        reason: str,
        expect: Check | None = None,
        where: str | None = None,
    ) -> None:
        """Register replacing moto's ``owner.name`` by ``make_replacement(moto's value)`` at install.

        ``expect`` checks moto's value at install (see :func:`parameters`); ``where`` names a mapping's item.
        """
        self._register(Patch(owner, name, reason, make_replacement, expect=expect, where=where))

    def add(self, owner: Any, name: str, value: Any, *, reason: str, where: str | None = None) -> None:
        """Register adding ``owner.name = value``, which moto must not have (install fails if it does)."""
        self._register(Patch(owner, name, reason, None, value=value, where=where))

    def _register(self, patch: Patch) -> None:
        if self._installed:
            raise RuntimeError("register patches before install")
        if any(p.owner is patch.owner and p.name == patch.name for p in self._patches):
            raise ValueError(f"{patch.target} is registered twice")
        self._patches.append(patch)

    def install(self) -> None:
        """Check every patch, then apply them in order; raise :class:`MotoIncompatible` (changing nothing)."""
        with _lock:
            if self._installed:
                raise RuntimeError("these moto patches are already installed")
            for patch in self._patches:
                for other in (p for registry in _active for p in registry._patches):
                    if other.owner is patch.owner and other.name == patch.name:
                        raise RuntimeError(f"{patch.target} is already patched ({other.reason})")
                problem = patch.problem()
                if problem is not None:
                    raise MotoIncompatible(
                        f"moto {_moto_version()} (tested: moto {TESTED_MOTO}): {patch.target} {problem}; "
                        f"it is patched to {patch.reason}"
                    )
            try:
                for patch in self._patches:
                    saved = _own(patch.owner, patch.name)
                    value = patch.value if patch.make is None else patch.make(_get(patch.owner, patch.name))
                    _put(patch.owner, patch.name, value)
                    patch.saved, patch.installed = saved, value
            except BaseException:
                self._undo()
                raise
            self._installed = True
            _active.append(self)

    def restore(self) -> None:
        """Put back what each patch replaced, or remove what it added, in reverse order (idempotent).

        A patch no longer in place (e.g. a reset backend dropped its instance attributes) is left alone.
        """
        with _lock:
            if not self._installed:
                return
            self._undo()
            self._installed = False
            _active.remove(self)

    def _undo(self) -> None:
        for patch in reversed(self._patches):
            if patch.is_installed:
                if patch.saved is _MISSING:
                    _drop(patch.owner, patch.name)
                else:
                    _put(patch.owner, patch.name, patch.saved)
            patch.saved = patch.installed = _MISSING

    def describe(self) -> list[str]:
        """One line per patch: what is patched and why."""
        return [patch.describe() for patch in self._patches]


def active_patches() -> list[Patch]:
    """The patches of every registry installed in this process now, in install order."""
    with _lock:
        return [patch for registry in _active for patch in registry._patches]
