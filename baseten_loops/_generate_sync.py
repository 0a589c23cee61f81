"""Write the blocking twin of the async client: ``python -m baseten_loops._generate_sync``.

httpcore writes its code once, async, and generates the sync twin as real source (``unasync``);
this does the same for ``baseten_loops``, with one difference: the transport is aiohttp only,
so the twin is not a second I/O stack but a thin layer whose every method runs the async one on
the facade's event loop (``_sync.py``). What it writes, into ``_sync_generated.py``:

- for each resource group of :class:`LoopsClient` (``self.<name> = <Class>(...)`` in
  ``LoopsClient._attach``), a class ``Sync<Class>``: each public method of the async class with
  its exact signature (parameters, defaults, overloads) and docstring, returning what awaiting
  it returns; one that gives an async iterator returns a :class:`SyncIterator` instead. The
  methods it inherits from a base in ``_resources/`` too, with the base's type variables
  replaced by what the class gives them (``LookupsById[Run].get_many``: ``list[Run]``);
- :class:`SyncLoopsClient`: ``LoopsClient``'s constructor without ``session=``, a property per
  resource group, and the client's public properties and methods (``with_options`` returns a
  ``SyncLoopsClient``); ``close`` and the context manager are hand-written in ``_sync.py``;
- for a client property that gives a view of groups defined in ``_client.py``
  (``with_raw_response``: :class:`LoopsClientWithRawResponse`), its twin
  ``SyncLoopsClientWithRawResponse``, a property per group of that view (``self.<name> =
  <Class>(...)`` in its ``__init__``), and a class ``Sync<Class>`` per group. A raw view's
  methods are those ``RawResource`` makes at run time: every public method of its ``plain=``
  group, its result annotated ``RawResponse[...]``, except those the view or its bases define
  (``get_many`` of ``RawLookups[Run]``, a ``LookupsById[RawResponse[Run]]``: ``T`` replaced
  by ``RawResponse[Run]``; a raw listing's ``RawResponse[AsyncIterator[X]]``, whose twin
  answers ``RawResponse[SyncIterator[X]]``).

The names the copied annotations use are imported from where the async modules import them.
The output is formatted as ``ruff format`` leaves it (one parameter or argument per line, with
a trailing comma), so it needs no formatter. A shape this generator does not know (a public
attribute that is not a method, a plain method that is not an async iterator, an unknown
decorator) stops it with a :class:`GeneratorError` saying what to extend; it never guesses.

``--check`` exits 1 if the file on disk differs from what would be written; a test runs the
generator in memory and compares too, so CI fails when an async method changes and the twin
was not regenerated.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

__all__ = ["GeneratorError", "generate", "main"]

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE = "baseten_loops"
OUTPUT = PACKAGE_DIR / "_sync_generated.py"
COMMAND = "python -m baseten_loops._generate_sync"

#: The async iterator types a twin turns into :class:`SyncIterator` (their first argument).
_ASYNC_ITERATORS = frozenset({"AsyncIterator", "AsyncGenerator", "AsyncIterable"})
#: The parameter type of the ids a bulk iterator takes: paced by the iterator (``PacedIds``).
_BULK_IDS = f"{PACKAGE}._bulk.Ids"
#: What a raw view's method answers (``with_raw_response``).
_RAW_RESPONSE = (f"{PACKAGE}._response", "RawResponse")
#: Client methods written by hand in ``_sync.py`` (``SyncClientBase``).
_HAND_WRITTEN = frozenset({"close"})
#: The decorators of a client property.
_PROPERTIES = frozenset({"property", "functools.cached_property"})
#: Names the generated code itself uses, and where they come from.
_OWN_NAMES = {
    "Awaitable": ("collections.abc", "Awaitable"),
    "Callable": ("collections.abc", "Callable"),
    "cast": ("typing", "cast"),
    "overload": ("typing", "overload"),
    "TYPE_CHECKING": ("typing", "TYPE_CHECKING"),
    "LoopsClient": (f"{PACKAGE}._client", "LoopsClient"),
    "PacedIds": (f"{PACKAGE}._sync", "PacedIds"),
    "RawResponse": (f"{PACKAGE}._response", "RawResponse"),
    "SyncClientBase": (f"{PACKAGE}._sync", "SyncClientBase"),
    "SyncIterator": (f"{PACKAGE}._sync", "SyncIterator"),
    "SyncResource": (f"{PACKAGE}._sync", "SyncResource"),
    "SyncView": (f"{PACKAGE}._sync", "SyncView"),
}
_LINE_LENGTH = 100
#: A line of source with its end, as the parser splits lines (``\r\n``, ``\r`` or ``\n``).
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
#: Appended to a generated line that cannot be shorter (a type in a string): ruff's E501.
_LONG_LINE = "  # noqa: E501"

_HEADER = f'''"""The blocking twin of the async client. Generated: do not edit.

Written by ``{COMMAND}`` from ``_client.py`` and
``_resources/*.py``; run it again after changing them (a test fails while this file is stale).
How it works: ``_generate_sync.py``; the machinery it calls: ``_sync.py``.
"""
'''

_CLIENT_DOC = '''\
    """Blocking client for scripts and notebooks: the resources and methods of LoopsClient.

    ::

        with SyncLoopsClient() as client:  # key from BASETEN_API_KEY
            sampler = client.samplers.get("abc123")
            for sampler_id, result in client.samplers.iter_many(ids):
                ...

    Generated from :class:`LoopsClient`: it takes the same arguments except ``session=`` (an
    aiohttp session belongs to the loop it was made in, and this client runs its own), and each
    method has the same arguments, returns the same models and raises the same exceptions as its
    async twin; async iterators (``iter_many``) become :class:`SyncIterator`. The same holds
    for ``with_raw_response``: each of its methods returns the :class:`RawResponse` its async
    twin does (a raw listing's ``parse()`` is a :class:`SyncIterator`). Calls run on the
    client's private event loop, in a daemon thread started on first use that holds its one
    connection pool, so it also works from a thread that runs an event loop (a Jupyter cell).
    Safe to share between threads.

    Close it (``close()`` or ``with``) to close the pool and stop the thread; afterwards every
    call raises :class:`ClientClosedError`. A resource (``with_raw_response`` and its groups
    too), a method or an iterator taken from it, and a ``with_options`` copy, keep it alive;
    once nothing does, it is closed when garbage-collected, or at interpreter exit. After
    ``os.fork()``, a call in the child starts a loop and a pool of its own; the parent's are
    left as they are. Ctrl-C during a call cancels that call before ``KeyboardInterrupt``
    reaches you. Do not call it from its own callbacks (``on_status``): that raises
    :class:`LoopsError`.

'''


#: The docstring of a group's twin, after its first line (``name``: the async class).
_GROUP_DOC = """\
    The blocking twin of :class:`{name}`, generated from it: each method takes
    the same arguments, returns what awaiting the async method returns and raises the
    same exceptions; an async iterator comes back as a :class:`SyncIterator`.
"""
#: The same for a raw view's twin (``client.with_raw_response.samplers``).
_RAW_GROUP_DOC = """\
    The blocking twin of :class:`{name}`, generated from it: each
    method takes the same arguments, returns the :class:`RawResponse` that awaiting the async
    method returns and raises the same exceptions; an async iterator comes back as a
    :class:`SyncIterator`, and so does the iterator a listing's :meth:`~RawResponse.parse` gives.
"""
#: The same for the twin of a view of groups (``attribute``: the client's property).
_VIEW_DOC = """\
    The blocking twin of :class:`{name}`, generated from it: each group
    is the blocking twin of the async one. It keeps its client alive, as
    ``client.{attribute}`` and everything taken from it do.
"""


class GeneratorError(Exception):
    """The async source has a shape the generator does not know how to twin."""


# -- reading the async source ---------------------------------------------------------------


class _Module:
    """One source module: its text, its tree, and where each of its top-level names comes from."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        self.source = path.read_text()
        self.tree = ast.parse(self.source)
        #: The source's lines in UTF-8 (the nodes' column offsets count bytes), split where the
        #: parser splits them: ``ast.get_source_segment`` splits the whole source at each call.
        self.lines: list[bytes] = [line.encode() for line in _LINES.findall(self.source)]
        #: name -> (module, attribute or None for ``import module``), and whether only type
        #: checkers see it (imported under ``if TYPE_CHECKING:``).
        self.bindings: dict[str, tuple[tuple[str, str | None], bool]] = {}
        for node in self.tree.body:
            self._bind(node, type_checking=False)

    def _bind(self, node: ast.stmt, *, type_checking: bool) -> None:
        if isinstance(node, ast.ImportFrom):
            module = self._absolute(node.module, node.level)
            for alias in node.names:
                self.bindings[alias.asname or alias.name] = ((module, alias.name), type_checking)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is not None or "." in alias.name:
                    raise GeneratorError(f"{self.path.name}: use a plain `import {alias.name}`")
                self.bindings[alias.name] = ((alias.name, None), type_checking)
        elif isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for inner in node.body:
                self._bind(inner, type_checking=True)
        elif isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            self.bindings[node.name] = ((self.name, node.name), False)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    self.bindings[target.id] = ((self.name, target.id), False)

    def _absolute(self, module: str | None, level: int) -> str:
        if level == 0:
            return module or ""
        parts = self.name.split(".")
        if self.path.name != "__init__.py":
            parts = parts[:-1]  # a module's own package; a package's __init__ is its package
        package = parts[: len(parts) - (level - 1)]
        return ".".join([*package, *([module] if module else [])])

    def segment(self, node: ast.expr) -> str:
        """The source text of ``node``, which must fit on one line."""
        text = self.text_of(node)
        if "\n" in text:
            raise GeneratorError(
                f"{self.path.name}, line {getattr(node, 'lineno', '?')}: an annotation or "
                "default spans lines; keep it on one line (or teach the generator)"
            )
        return text

    def docstring(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        """The docstring of ``node`` as written (quotes, escapes and indentation kept)."""
        first = node.body[0] if node.body else None
        if not (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            raise GeneratorError(f"{self.path.name}: {node.name} has no docstring")
        return self.text_of(first.value)

    def text_of(self, node: ast.expr) -> str:
        """The source text of ``node``, as ``ast.get_source_segment`` gives it."""
        start, end = node.col_offset, node.end_col_offset
        assert node.end_lineno is not None  # set by ast.parse, as end_col_offset is
        assert end is not None
        if node.lineno == node.end_lineno:
            return self.lines[node.lineno - 1][start:end].decode()
        first, *middle, last = self.lines[node.lineno - 1 : node.end_lineno]
        return b"".join([first[start:], *middle, last[:end]]).decode()

    def class_named(self, name: str) -> ast.ClassDef | None:
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                return node
        return None

    def qualified(self, node: ast.expr) -> str | None:
        """The dotted name ``node`` refers to (``_bulk.Ids`` -> ``baseten_loops._bulk.Ids``)."""
        if isinstance(node, ast.Name):
            bound = self.bindings.get(node.id)
            if bound is None:
                return None
            module, attribute = bound[0]
            return module if attribute is None else f"{module}.{attribute}"
        if isinstance(node, ast.Attribute):
            base = self.qualified(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None


def _module_name(path: Path, package_dir: Path) -> str:
    relative = path.relative_to(package_dir.parent).with_suffix("")
    return ".".join(relative.parts)


def _is_overload(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(ast.unparse(decorator) == "overload" for decorator in node.decorator_list)


def _yields(node: ast.AsyncFunctionDef) -> bool:
    """Whether ``node`` is an async generator (a ``yield`` of its own, not a nested one's)."""
    pending: list[ast.AST] = list(node.body)
    while pending:
        current = pending.pop()
        if isinstance(current, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(
            current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
        ):
            pending.extend(ast.iter_child_nodes(current))
    return False


def _iterated_type(annotation: ast.expr | None) -> ast.expr | None:
    """``X`` for an ``AsyncIterator[X]``-like annotation (``AsyncGenerator[X, None]``), or None."""
    if not isinstance(annotation, ast.Subscript):
        return None
    value = annotation.value
    name = value.id if isinstance(value, ast.Name) else getattr(value, "attr", None)
    if name not in _ASYNC_ITERATORS:
        return None
    element = annotation.slice
    return element.elts[0] if isinstance(element, ast.Tuple) else element


# -- writing --------------------------------------------------------------------------------


class _Function:
    """One function to write: its name, the lines of its signature, and how to call its twin.

    ``types`` maps the type variables of a generic class to the types a subclass gives them
    (``RawLookups[Sampler]``: ``T`` -> ``Sampler``), replaced in every annotation.
    """

    def __init__(
        self,
        module: _Module,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        *,
        drop: Sequence[str] = (),
        types: Mapping[str, str] | None = None,
    ) -> None:
        self.module = module
        self.node = node
        self.types = types or {}
        arguments = node.args
        positional = [*arguments.posonlyargs, *arguments.args]
        if not positional or positional[0].arg != "self":
            raise GeneratorError(f"{module.path.name}: {node.name} is not a plain method")
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
        defaults += arguments.defaults
        self.parameters: list[str] = ["self"]
        #: How the twin passes each argument on: ``name``, ``name=name``, ``*name``, ``**name``.
        self.forwarded: list[tuple[str, ast.arg]] = []
        for index, (argument, default) in enumerate(zip(positional, defaults, strict=True)):
            if index and argument.arg not in drop:
                self.parameters.append(self._parameter(argument, default))
                self.forwarded.append((argument.arg, argument))
            if arguments.posonlyargs and argument is arguments.posonlyargs[-1]:
                self.parameters.append("/")
        if arguments.vararg is not None:
            self.parameters.append("*" + self._parameter(arguments.vararg, None))
            self.forwarded.append(("*" + arguments.vararg.arg, arguments.vararg))
        elif arguments.kwonlyargs:
            self.parameters.append("*")
        for argument, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
            if argument.arg not in drop:
                self.parameters.append(self._parameter(argument, default))
                self.forwarded.append((f"{argument.arg}={argument.arg}", argument))
        if arguments.kwarg is not None:
            self.parameters.append("**" + self._parameter(arguments.kwarg, None))
            self.forwarded.append(("**" + arguments.kwarg.arg, arguments.kwarg))
        self.names = {
            argument.arg for argument in ast.walk(arguments) if isinstance(argument, ast.arg)
        }

    def _parameter(self, argument: ast.arg, default: ast.expr | None) -> str:
        text = argument.arg
        if argument.annotation is not None:
            text += ": " + self.text(argument.annotation)
            if default is not None:
                text += " = " + self.module.segment(default)
        elif default is not None:
            text += "=" + self.module.segment(default)
        return text

    def text(self, annotation: ast.expr) -> str:
        """The source of ``annotation``, its type variables replaced (see ``types``)."""
        return _substitute(self.module.segment(annotation), self.types)

    def signature(self, returns: str, *, decorators: Sequence[str] = ()) -> list[str]:
        """``def name(`` one parameter per line ``) -> returns:`` (body not included)."""
        lines = [f"    @{decorator}" for decorator in decorators]
        lines.append(f"    def {self.node.name}(")
        lines += [f"        {parameter}," for parameter in self.parameters]
        lines.append(f"    ) -> {returns}:")
        return lines

    def returns(self) -> str:
        if self.node.returns is None:
            raise GeneratorError(f"{self.module.path.name}: {self.node.name} has no return type")
        return self.text(self.node.returns)

    def arguments(self, *, replace: dict[str, str] | None = None) -> list[str]:
        """The forwarded arguments, ``replace`` mapping a parameter name to another expression."""
        replace = replace or {}
        return [replace.get(argument.arg, text) for text, argument in self.forwarded]


def _call(target: str, arguments: Sequence[str], *, indent: str) -> list[str]:
    """``target(`` one argument per line, trailing comma ``)``: as ruff formats it."""
    return [f"{target}(", *(f"{indent}    {argument}," for argument in arguments), f"{indent})"]


def _body(docstring: str, statements: list[str]) -> list[str]:
    return [f"        {docstring}", *(f"        {line}" for line in statements)]


#: One method to write: the module and node of its async twin, the type variables to replace
#: in its annotations, and whether its result is wrapped (a raw view's ``RawResponse[...]``).
_Member = tuple[_Module, ast.FunctionDef | ast.AsyncFunctionDef, Mapping[str, str], bool]
#: ``(attribute, module, class)`` of each group of a client or of a view of groups.
_Group = tuple[str, _Module, ast.ClassDef]


class _Generator:
    def __init__(self, package_dir: Path) -> None:
        self.package_dir = package_dir
        self.modules: list[_Module] = []
        self.lines: list[str] = []
        self.exported: list[str] = []
        #: ``(property, class)`` of each client property that gives a view of groups.
        self.views: list[tuple[str, ast.ClassDef]] = []

    def module(self, path: Path) -> _Module:
        module = _Module(_module_name(path, self.package_dir), path)
        self.modules.append(module)
        return module

    def run(self) -> str:
        client_module = self.module(self.package_dir / "_client.py")
        resources = [
            self.module(path)
            for path in sorted((self.package_dir / "_resources").glob("*.py"))
            if not path.name.startswith("_")
        ]
        # The bases of the groups and views (LookupsById, RawLookups), whose methods they inherit.
        self.module(self.package_dir / "_resources" / "_base.py")
        client = client_module.class_named("LoopsClient")
        assert client is not None, "LoopsClient not found in _client.py"
        groups = self._groups(client_module, client, "_attach", resources)
        for _, module, node in groups:
            self._resource(module, node)
        self._client(client_module, client, groups)
        for attribute, view in self.views:
            self._view(client_module, view, attribute, resources)
        return self._assemble()

    @staticmethod
    def _groups(
        module: _Module, owner: ast.ClassDef, method: str, resources: list[_Module]
    ) -> list[_Group]:
        """Each ``self.<attribute> = <Class>(...)`` in ``owner.<method>``, its class found."""
        function = next(
            (
                node
                for node in owner.body
                if isinstance(node, ast.FunctionDef) and node.name == method
            ),
            None,
        )
        if function is None:
            raise GeneratorError(
                f"{module.path.name}: {owner.name}.{method}, which makes the resource groups, "
                "is missing"
            )
        groups: list[_Group] = []
        for statement in function.body:
            if (
                isinstance(statement, ast.Assign)
                and isinstance(target := statement.targets[0], ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
                and not target.attr.startswith("_")
                and isinstance(statement.value, ast.Call)
                and isinstance(statement.value.func, ast.Name)
            ):
                class_name = statement.value.func.id
                defined = [
                    (found, node)
                    for found in resources
                    if (node := found.class_named(class_name)) is not None
                ]
                if len(defined) != 1:
                    raise GeneratorError(
                        f"{class_name} ({owner.name}.{target.attr}) not found in _resources/"
                    )
                groups.append((target.attr, *defined[0]))
        return groups

    def _resource(self, module: _Module, node: ast.ClassDef) -> None:
        """``Sync<Class>``: the blocking twin of a resource group, or of a raw view of one."""
        name = f"Sync{node.name}"
        self.exported.append(name)
        members: list[_Member]
        if _keyword(node, "plain") is None:
            members = [
                definition
                for definitions in self._members(module, node).values()
                for definition in definitions
            ]
            explained = _GROUP_DOC
        else:
            members = self._raw_members(module, node)
            explained = _RAW_GROUP_DOC
        self.lines += [
            "",
            "",
            f"class {name}(SyncResource[{node.name}]):",
            f'    """{_summary(module.docstring(node))}',
            "",
            *explained.format(name=node.name).split("\n")[:-1],
            '    """',
        ]
        for member_module, member, types, wrap in members:
            self.lines.append("")
            self.lines += self._method(member_module, member, types=types, wrap=wrap)

    def _raw_members(self, module: _Module, node: ast.ClassDef) -> list[_Member]:
        """The methods a raw view has at run time (``RawResource.__init_subclass__``).

        Those the view or its bases define, and every other public method of its ``plain=``
        group, its result wrapped in a ``RawResponse``; in the plain group's order (see
        :meth:`_members`).
        """
        plain = _keyword(node, "plain")
        found = None if plain is None else self._find_class(module, plain)
        if found is None:
            raise GeneratorError(f"{module.path.name}: {node.name}: its plain= group not found")
        defined = self._members(module, node)
        wrapped = self._members(*found, wrap=True)
        every: list[_Member] = []
        for name in [*wrapped, *(name for name in defined if name not in wrapped)]:
            every += defined.get(name) or wrapped[name]
        return every

    def _members(
        self, module: _Module, node: ast.ClassDef, *, wrap: bool = False
    ) -> dict[str, list[_Member]]:
        """``name -> [overloads ..., implementation]`` of every public method ``node`` has.

        Its own and those of its bases in this package (``LookupsById[Run].get_many``, with
        ``T`` -> ``Run``), the most derived definition of each name winning. The bases' come
        first, as they do in the class that inherits them: a method named ``list`` shadows the
        builtin in the annotations written after it, so those of ``get_many`` must come before.
        """
        lineage = [
            (owner_module, types, [*_public_members(owner_module, owner)])
            for owner_module, owner, types in self._lineage(module, node, {})
        ]
        chosen: dict[str, list[_Member]] = {}
        for owner_module, types, members in lineage:  # the class first, then its bases
            own: dict[str, list[_Member]] = {}
            for member in members:
                own.setdefault(member.name, []).append((owner_module, member, types, wrap))
            for name, definitions in own.items():
                chosen.setdefault(name, definitions)
        order = dict.fromkeys(
            member.name for *_, members in reversed(lineage) for member in members
        )
        return {name: chosen[name] for name in order}

    def _lineage(
        self, module: _Module, node: ast.ClassDef, types: Mapping[str, str]
    ) -> Iterator[tuple[_Module, ast.ClassDef, Mapping[str, str]]]:
        """``node`` and its bases defined in this package, each with its type variables' values.

        ``class X(RawLookups[Sampler])`` gives ``RawLookups`` with ``T`` -> ``Sampler``, then its
        base ``LookupsById[RawResponse[T]]`` with ``T`` -> ``RawResponse[Sampler]``; bases from
        elsewhere (``Generic[T]``) end the walk.
        """
        yield module, node, types
        for base in node.bases:
            arguments: list[ast.expr] = []
            if isinstance(base, ast.Subscript):
                element = base.slice
                arguments = list(element.elts) if isinstance(element, ast.Tuple) else [element]
                base = base.value
            found = self._find_class(module, base)
            if found is None:
                continue
            base_module, base_class = found
            values = [_substitute(module.segment(argument), types) for argument in arguments]
            parameters = _type_parameters(base_class)
            if len(values) != len(parameters):
                raise GeneratorError(
                    f"{module.path.name}: {node.name}: {base_class.name} takes "
                    f"{len(parameters)} type arguments, given {len(values)}"
                )
            given = dict(zip(parameters, values, strict=True))
            yield from self._lineage(base_module, base_class, given)

    def _find_class(self, module: _Module, name: ast.expr) -> tuple[_Module, ast.ClassDef] | None:
        """The class ``name`` refers to in ``module``, if one of the modules read defines it."""
        where = self._where(module, name)
        if where is None:
            return None
        for candidate in self.modules:
            if candidate.name == where[0]:
                found = candidate.class_named(where[1])
                return None if found is None else (candidate, found)
        return None

    def _where(self, module: _Module, name: ast.expr) -> tuple[str, str] | None:
        """``(module, attribute)`` where the object ``name`` refers to in ``module`` is defined."""
        qualified = module.qualified(name)
        if qualified is None or "." not in qualified:
            return None
        origin, _, attribute = qualified.rpartition(".")
        defined, found = self._canonical((origin, attribute))
        return None if found is None else (defined, found)

    def _raw_listing(self, module: _Module, annotation: ast.expr | None) -> ast.expr | None:
        """``X`` for a ``RawResponse[AsyncIterator[X]]`` annotation (a raw listing), or None."""
        if not isinstance(annotation, ast.Subscript):
            return None
        if self._where(module, annotation.value) != _RAW_RESPONSE:
            return None
        return _iterated_type(annotation.slice)

    def _method(
        self,
        module: _Module,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        *,
        types: Mapping[str, str],
        wrap: bool,
    ) -> list[str]:
        function = _Function(module, node, types=types)
        element = _iterated_type(node.returns)
        if isinstance(node, ast.AsyncFunctionDef) and not _yields(node):
            if element is not None:
                raise GeneratorError(
                    f"{module.path.name}: {node.name} is an `async def` returning an async "
                    "iterator; make it an async generator or a plain `def` (or teach the generator)"
                )
            listed = None if wrap else self._raw_listing(module, node.returns)
            if listed is not None:
                returns = f"RawResponse[SyncIterator[{function.text(listed)}]]"
                helper = "self._run_raw_listing"
            else:
                returns, helper = function.returns(), "self._run"
            if wrap:
                returns = f"RawResponse[{returns}]"
        elif element is not None and not wrap:
            returns, helper = f"SyncIterator[{function.text(element)}]", "self._iterate"
        elif element is not None:
            raise GeneratorError(
                f"{module.path.name}: {node.name} gives an async iterator: its raw view must "
                "define what its raw answer is (RawResource refuses to wrap it too)"
            )
        else:
            raise GeneratorError(
                f"{module.path.name}: {node.name} is neither async nor an async iterator; the "
                "generator does not know its blocking twin"
            )
        if _is_overload(node):
            return [
                *function.signature(returns, decorators=["overload"])[:-1],
                f"    ) -> {returns}: ...",
            ]
        paced = {}
        if helper == "self._iterate":
            for argument in [*node.args.args, *node.args.kwonlyargs]:
                if (
                    argument.annotation is not None
                    and module.qualified(argument.annotation) == _BULK_IDS
                ):
                    paced[argument.arg] = f"PacedIds({argument.arg})"
        arguments = function.arguments(replace=paced)
        target = f"self._resource.{node.name}"
        statements: list[str] = []
        if node.name in _overloaded(module, node):
            if "method" in function.names:
                raise GeneratorError(f"{module.path.name}: {node.name} has a parameter `method`")
            cast_type = f'    "Callable[..., Awaitable[{returns}]]",'
            if len(cast_type) + 8 > _LINE_LENGTH:  # 8: the body's indentation
                cast_type += _LONG_LINE
            statements += ["method = cast(", cast_type, f"    {target},", ")"]
            target = "method"
        statements += _call(f"return {helper}", [target, *arguments], indent="")
        return [*function.signature(returns), *_body(module.docstring(node), statements)]

    def _client(self, module: _Module, node: ast.ClassDef, groups: list[_Group]) -> None:
        self.exported.append("SyncLoopsClient")
        init = next(
            member
            for member in node.body
            if isinstance(member, ast.FunctionDef) and member.name == "__init__"
        )
        constructor = _Function(module, init, drop=["session"])
        self.lines += [
            "",
            "",
            "class SyncLoopsClient(SyncClientBase):",
            *_CLIENT_DOC.split("\n")[:-1],
            *_arguments_section(module.docstring(node), drop="session"),
            "",
            *constructor.signature("None"),
            *(
                f"        {line}"
                for line in [
                    "self._open(",
                    *(
                        f"    {line}"
                        for line in _call("LoopsClient", constructor.arguments(), indent="")
                    ),
                    ")",
                ]
            ),
        ]
        for attribute, resource_module, resource in groups:
            summary = _summary(resource_module.docstring(resource))
            summary = summary.removeprefix(f"``client.{attribute}``: ")
            summary = summary[:1].upper() + summary[1:]
            if len(summary) > _LINE_LENGTH - 14:  # indentation and quotes
                summary = f"The blocking ``client.{attribute}``: :class:`Sync{resource.name}`."
            self.lines += [
                "",
                "    @property",
                f"    def {attribute}(self) -> Sync{resource.name}:",
                f'        """{summary}"""',
                f"        return Sync{resource.name}(self._client.{attribute}, self)",
            ]
        for member in node.body:
            if not isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if member.name.startswith("_") or member.name in _HAND_WRITTEN:
                continue
            self.lines.append("")
            self.lines += self._client_member(module, member)

    def _client_member(
        self, module: _Module, node: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> list[str]:
        decorators = [ast.unparse(decorator) for decorator in node.decorator_list]
        function = _Function(module, node)
        docstring = module.docstring(node)
        if len(decorators) == 1 and decorators[0] in _PROPERTIES:
            returns = function.returns()
            view = module.class_named(returns)
            if view is not None and isinstance(node, ast.FunctionDef):
                # A view of groups (with_raw_response): its twin, over the async one.
                self.views.append((node.name, view))
                return [
                    "    @property",
                    f"    def {node.name}(self) -> Sync{returns}:",
                    *_body(docstring, [f"return Sync{returns}(self._client.{node.name}, self)"]),
                ]
            if decorators == ["property"] and isinstance(node, ast.FunctionDef):
                return [
                    "    @property",
                    f"    def {node.name}(self) -> {returns}:",
                    *_body(docstring, [f"return self._client.{node.name}"]),
                ]
        if decorators:
            raise GeneratorError(f"_client.py: LoopsClient.{node.name}: unknown decorators")
        returns = function.returns()
        if isinstance(node, ast.FunctionDef) and returns == "LoopsClient":
            call = _call(f"self._client.{node.name}", function.arguments(), indent="    ")
            statements = ["return self._derive(", f"    {call[0]}", *call[1:], ")"]
            return [*function.signature("SyncLoopsClient"), *_body(docstring, statements)]
        if isinstance(node, ast.AsyncFunctionDef) and not _yields(node):
            target = f"self._client.{node.name}"
            statements = _call("return self._call", [target, *function.arguments()], indent="")
            return [*function.signature(returns), *_body(docstring, statements)]
        raise GeneratorError(
            f"_client.py: LoopsClient.{node.name} has a shape the generator does not know"
        )

    def _view(
        self, module: _Module, node: ast.ClassDef, attribute: str, resources: list[_Module]
    ) -> None:
        """``Sync<View>``, the twin of ``client.<attribute>`` (a view of groups), and its groups."""
        groups = self._groups(module, node, "__init__", resources)
        for _, group_module, group in groups:
            self._resource(group_module, group)
        name = f"Sync{node.name}"
        self.exported.append(name)
        self.lines += [
            "",
            "",
            f"class {name}(SyncView[{node.name}]):",
            f'    """{_summary(module.docstring(node))}',
            "",
            *_VIEW_DOC.format(name=node.name, attribute=attribute).split("\n")[:-1],
            '    """',
        ]
        for group_attribute, _, group in groups:
            self.lines += [
                "",
                "    @property",
                f"    def {group_attribute}(self) -> Sync{group.name}:",
                f'        """The ``{group_attribute}`` group: :class:`Sync{group.name}`."""',
                f"        return Sync{group.name}(self._resource.{group_attribute}, self._owner)",
            ]

    def _canonical(self, origin: tuple[str, str | None]) -> tuple[str, str | None]:
        """Where ``origin`` is defined, following re-exports inside this package."""
        module, attribute = origin
        while attribute is not None and (module == PACKAGE or module.startswith(PACKAGE + ".")):
            parts = module.split(".")[1:]
            path = self.package_dir.joinpath(*parts)
            path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
            if not path.exists():
                break  # a submodule imported from its package (``from .. import _bulk``)
            bound = _Module(module, path).bindings.get(attribute)
            if bound is None or bound[0] == (module, attribute):
                break
            module, attribute = bound[0]
        return module, attribute

    def _assemble(self) -> str:
        body_text = "\n".join(self.lines) + "\n"
        imports = self._imports(body_text)
        exported = ["__all__ = [", *(f'    "{name}",' for name in sorted(self.exported)), "]"]
        return "\n".join([_HEADER.rstrip("\n"), "", *imports, "", *exported]) + "\n" + body_text

    def _imports(self, body_text: str) -> list[str]:
        """The import block for every name ``body_text`` uses but does not define itself."""
        needed = _free_names(ast.parse(body_text))
        runtime: dict[str, set[str]] = {}
        checking: dict[str, set[str]] = {}
        plain: set[str] = set()
        for name in sorted(needed):
            origin, type_checking = self._origin(name)
            if origin is None:
                continue  # a builtin
            module, attribute = origin
            if attribute is None:
                plain.add(module)
            else:
                (checking if type_checking else runtime).setdefault(module, set()).add(attribute)
        for module, names in checking.items():
            names -= runtime.get(module, set())
        checking = {module: names for module, names in checking.items() if names}
        if checking:
            runtime.setdefault("typing", set()).add("TYPE_CHECKING")
        lines = ["from __future__ import annotations", ""]
        lines += _import_block(plain, runtime, indent="")
        if checking:
            lines += ["", "if TYPE_CHECKING:"]
            lines += _import_block(set(), checking, indent="    ")
        return lines

    def _origin(self, name: str) -> tuple[tuple[str, str | None] | None, bool]:
        """Where ``name`` comes from, and whether only type checkers need it."""
        if name in _OWN_NAMES:
            return _OWN_NAMES[name], False
        found = {m.bindings[name] for m in self.modules if name in m.bindings}
        meanings = {self._canonical(origin) for origin, _ in found}
        if len(meanings) > 1:
            raise GeneratorError(
                f"`{name}` means different things in different modules: {meanings}"
            )
        if found:
            # The same object may be imported from where it is defined or from a package that
            # re-exports it: import it from the shortest of those paths.
            shortest = min((origin for origin, _ in found), key=lambda o: (len(o[0]), o[0]))
            return shortest, all(type_checking for _, type_checking in found)
        if hasattr(builtins, name):
            return None, False
        raise GeneratorError(f"`{name}` is used by an async signature but never imported")


def _public_members(
    module: _Module, node: ast.ClassDef
) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for member in node.body:
        if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if member.name.startswith("_"):
                continue
            unknown = [d for d in member.decorator_list if ast.unparse(d) != "overload"]
            if unknown:
                raise GeneratorError(
                    f"{module.path.name}: {node.name}.{member.name} has a decorator the "
                    f"generator does not know ({ast.unparse(unknown[0])})"
                )
            yield member
        elif isinstance(member, (ast.Assign, ast.AnnAssign)):
            targets = member.targets if isinstance(member, ast.Assign) else [member.target]
            public = [t for t in targets if not (isinstance(t, ast.Name) and t.id.startswith("_"))]
            if public:
                raise GeneratorError(
                    f"{module.path.name}: {node.name} has a public attribute "
                    f"({ast.unparse(public[0])}); the generator twins methods only"
                )


def _overloaded(module: _Module, node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The names of the methods of ``node``'s class that have ``@overload`` variants."""
    for candidate in ast.walk(module.tree):
        if isinstance(candidate, ast.ClassDef) and node in candidate.body:
            return {
                member.name
                for member in candidate.body
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef))
                and _is_overload(member)
            }
    return set()


def _keyword(node: ast.ClassDef, name: str) -> ast.expr | None:
    """The value of a class keyword (``plain=`` of ``class X(RawResource, plain=...)``)."""
    return next((keyword.value for keyword in node.keywords if keyword.arg == name), None)


def _type_parameters(node: ast.ClassDef) -> list[str]:
    """The type variables of a generic class: ``T`` of ``class X(Base, Generic[T])``."""
    for base in node.bases:
        if isinstance(base, ast.Subscript) and ast.unparse(base.value).endswith("Generic"):
            element = base.slice
            return [
                ast.unparse(item)
                for item in (element.elts if isinstance(element, ast.Tuple) else [element])
            ]
    return []


def _substitute(text: str, types: Mapping[str, str]) -> str:
    """The annotation ``text`` with its type variables replaced by ``types``; as is without any."""
    tree = ast.parse(text, mode="eval")
    if not any(isinstance(node, ast.Name) and node.id in types for node in ast.walk(tree)):
        return text

    class Replace(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            if node.id not in types:
                return node
            return ast.parse(types[node.id], mode="eval").body

    return ast.unparse(Replace().visit(tree))


def _summary(docstring: str) -> str:
    """The first line of a docstring's text (``docstring`` is the literal, quotes included)."""
    text = ast.literal_eval(docstring)
    assert isinstance(text, str)
    return text.strip().split("\n")[0]


def _arguments_section(docstring: str, *, drop: str) -> list[str]:
    """The ``Args:`` section of a class docstring literal, without the entry ``drop``."""
    lines = docstring.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip() == "Args:"), None)
    if start is None:
        raise GeneratorError("LoopsClient's docstring has no Args: section")
    kept: list[str] = []
    skipping = False
    for line in lines[start:]:
        entry = line.startswith("        ") and not line.startswith("         ")
        if entry:
            skipping = line.strip().startswith(f"{drop}:")
        if not skipping:
            kept.append(line)
    return kept


def _free_names(tree: ast.Module) -> set[str]:
    """Every name the generated code reads that it does not bind itself (parameters, classes)."""
    defined = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    defined.add("__all__")
    needed: set[str] = set()

    def visit(node: ast.AST, local: frozenset[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                visit(decorator, local)
            for annotation in [
                *(a.annotation for a in ast.walk(node.args) if isinstance(a, ast.arg)),
                *node.args.defaults,
                *(d for d in node.args.kw_defaults if d is not None),
                node.returns,
            ]:
                if annotation is not None:
                    visit(annotation, local)
            parameters = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
            assigned = {
                t.id
                for s in ast.walk(node)
                if isinstance(s, ast.Assign)
                for t in s.targets
                if isinstance(t, ast.Name)
            }
            for statement in node.body:
                visit(statement, local | parameters | assigned)
            return
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "cast"
            and isinstance(type_ := node.args[0], ast.Constant)
            and isinstance(type_.value, str)
        ):
            visit(ast.parse(type_.value, mode="eval"), local)  # the type, written as a string
        if isinstance(node, ast.Name) and node.id not in local and node.id not in defined:
            needed.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child, local)

    for statement in tree.body:
        visit(statement, frozenset())
    return needed


def _import_block(plain: set[str], froms: dict[str, set[str]], *, indent: str) -> list[str]:
    """Import statements, sorted and grouped as ruff's isort wants them: stdlib, others, ours."""

    def section(module: str) -> int:
        if module == PACKAGE or module.startswith(PACKAGE + "."):
            return 2
        return 0 if module.split(".")[0] in sys.stdlib_module_names else 1

    groups: list[list[str]] = [[], [], []]
    for module in sorted(plain, key=str.lower):
        groups[section(module)].append(f"{indent}import {module}")
    for module in sorted(froms, key=lambda m: _module_sort_key(m)):
        names = sorted(froms[module], key=_member_sort_key)
        source = _relative(module)
        line = f"{indent}from {source} import {', '.join(names)}"
        if len(line) <= _LINE_LENGTH:
            groups[section(module)].append(line)
        else:
            groups[section(module)] += [
                f"{indent}from {source} import (",
                *(f"{indent}    {name}," for name in names),
                f"{indent})",
            ]
    lines: list[str] = []
    for group in groups:
        if group:
            if lines:
                lines.append("")
            lines += group
    return lines


def _relative(module: str) -> str:
    if module == PACKAGE:
        return "."
    if module.startswith(PACKAGE + "."):
        return "." + module[len(PACKAGE) + 1 :]
    return module


def _module_sort_key(module: str) -> tuple[int, str]:
    # Within our package, `from . import x` comes before `from ._y import z`.
    return (0 if module == PACKAGE else 1, module.lower())


def _member_sort_key(name: str) -> tuple[int, str]:
    # ruff's order-by-type: CONSTANTS, then Classes, then everything else.
    if name.isupper() and len(name) > 1:
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    return kind, name


def generate(package_dir: Path = PACKAGE_DIR) -> str:
    """The text of ``_sync_generated.py`` for the async source in ``package_dir``."""
    return _Generator(package_dir).run()


def main(argv: Sequence[str] | None = None) -> int:
    """Write ``_sync_generated.py``, or with ``--check`` only say whether it is current."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the file is stale; write nothing"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    text = generate()
    output: Path = options.output
    current = output.read_text() if output.exists() else None
    if options.check:
        if current != text:
            print(f"{output} is stale: run {COMMAND}", file=sys.stderr)
            return 1
        print(f"{output} is current")
        return 0
    if current != text:
        output.write_text(text)
        print(f"wrote {output}")
    else:
        print(f"{output} is current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
