"""``switch``, and the ``goto`` patterns that form an ``if``, lowered to
``if``/``else``, C to C on copies of pycparser's trees (before the builder
sees the function).

``switch (e) { case 0: A; break; case 1: case 2: B; break; default: C; }``
is ``if (e == 0) { A } else if (e == 1 || e == 2) { B } else { C }``: the
first test that holds runs its branch and no later test is evaluated, so
``e`` is read once, before any branch, as C reads it. An ``if`` on an
affine ``e`` restricts domains; on data it is if-converted
(frontend/ifconvert.py). Refused at their place: a case that falls through
into the next one's statements, and a ``break`` anywhere but at the end of
a case (under a condition, it would be an exit on data).

In one block, ``if (c) goto L; A; L: B`` is ``if (!c) { A } B``, and ``if
(c) goto L; A; goto M; L: B; M: C`` is ``if (c) { B } else { A } C``, when
no other ``goto`` names ``L`` or ``M``; every other ``goto`` and label is
left for the builder to refuse.
"""

from __future__ import annotations

import copy

from pycparser import c_ast

from polyad.frontend.ctree import mapped, nodes
from polyad.frontend.preprocess import Preprocessed, located_error


def with_switches_lowered(pre: Preprocessed, funcdef: c_ast.FuncDef) -> c_ast.FuncDef:
    """A copy of ``funcdef`` with every ``switch`` as an ``if``/``else``
    chain, and the ``goto`` patterns of an ``if`` as one; a located
    KernelError for the switches refused (see the module)."""
    jumps: dict[str, int] = {}
    for goto in nodes(funcdef, c_ast.Goto):
        jumps[goto.name] = jumps.get(goto.name, 0) + 1

    def lower(node: c_ast.Node) -> c_ast.Node:
        node = mapped(node, lower)  # inner switches first
        if isinstance(node, c_ast.Compound) and node.block_items:
            node = copy.copy(node)
            node.block_items = _without_gotos(list(node.block_items), jumps)
        return _lowered(pre, node) if isinstance(node, c_ast.Switch) else node
    return lower(funcdef)


def _without_gotos(items: list, jumps: dict[str, int]) -> list:
    """A block's statements with the goto patterns of an if lowered (see the
    module); ``jumps`` counts the gotos naming each label."""
    result, position = [], 0
    while position < len(items):
        item = items[position]
        target = _jump_of(item)
        end = _label_at(items, target, position + 1, jumps)
        if end is None:
            result.append(item)
            position += 1
            continue
        skipped = items[position + 1:end]
        after = _jump_of(skipped[-1]) if skipped and isinstance(skipped[-1], c_ast.Goto) \
            else None
        last = _label_at(items, after, end + 1, jumps)
        if last is not None:  # if (c) goto L; A; goto M; L: B; M: C
            taken = [items[end].stmt] + items[end + 1:last]
            result.append(c_ast.If(item.cond, c_ast.Compound(taken, coord=item.coord),
                                   c_ast.Compound(skipped[:-1], coord=item.coord),
                                   coord=item.coord))
            end = last
        else:  # if (c) goto L; A; L: B
            result.append(c_ast.If(c_ast.UnaryOp("!", item.cond, coord=item.cond.coord),
                                   c_ast.Compound(skipped, coord=item.coord), None,
                                   coord=item.coord))
        items = items[:end] + [items[end].stmt] + items[end + 1:]
        position = end
    return result


def _jump_of(node) -> str | None:
    """The label of ``goto L;``, or of ``if (c) goto L;`` without else."""
    if isinstance(node, c_ast.Goto):
        return node.name
    if isinstance(node, c_ast.If) and node.iffalse is None:
        body = node.iftrue
        if isinstance(body, c_ast.Compound) and len(body.block_items or []) == 1:
            body = body.block_items[0]
        if isinstance(body, c_ast.Goto):
            return body.name
    return None


def _label_at(items: list, label: str | None, start: int, jumps: dict[str, int]) -> int | None:
    """Where ``label`` labels a statement of ``items`` from ``start`` on,
    if one goto alone names it; else None."""
    if label is None or jumps.get(label) != 1:
        return None
    for position in range(start, len(items)):
        if isinstance(items[position], c_ast.Label) and items[position].name == label:
            return position
    return None


def _lowered(pre: Preprocessed, switch: c_ast.Switch) -> c_ast.Node:
    groups = _groups(pre, switch)
    default = next((body for labels, body, _ in groups if labels is None), None)
    chain: c_ast.Node | None = c_ast.Compound(default, coord=switch.coord) \
        if default is not None else None
    for labels, body, at in reversed(groups):
        if labels is None:
            continue
        test = None
        for label in labels:
            equal = c_ast.BinaryOp("==", copy.deepcopy(switch.cond), label, coord=label.coord)
            test = equal if test is None else c_ast.BinaryOp("||", test, equal, coord=at)
        chain = c_ast.If(test, c_ast.Compound(body, coord=at), chain, coord=at)
    return chain if chain is not None else c_ast.EmptyStatement(coord=switch.coord)


def _groups(pre: Preprocessed, switch: c_ast.Switch) -> list[tuple[list | None, list, object]]:
    """The switch's cases as (labels, or None for the group holding
    ``default``; statements without the final break; where), labels that
    share statements (``case 1: case 2:``) in one group."""
    items = switch.stmt.block_items if isinstance(switch.stmt, c_ast.Compound) else None
    if items is None or any(not isinstance(i, (c_ast.Case, c_ast.Default)) for i in items):
        raise located_error(pre, switch, "switch whose body is not a list of cases",
                            "write switch (e) { case c: ...; break; ... } or if/else")
    groups, labels, is_default = [], [], False
    for position, item in enumerate(items):
        if isinstance(item, c_ast.Default):
            is_default = True
        else:
            labels.append(item.expr)
        body = list(item.stmts or [])
        if not body:  # falls into the next label's statements
            continue
        ends = isinstance(body[-1], c_ast.Break)
        if not ends and position < len(items) - 1:
            raise located_error(pre, items[position + 1], "fall-through into this case",
                                "end each case that has statements with break;")
        body = body[:-1] if ends else body
        for node in body:
            stray = _break_in(node)
            if stray is not None:
                raise located_error(pre, stray, "break inside a case other than at its end",
                                    "a case ends with one break; choose inside it with if "
                                    "or a value select")
        groups.append((None if is_default else labels, body, item.coord))
        labels, is_default = [], False
    if labels or is_default:  # labels at the end without statements
        groups.append((None if is_default else labels, [], items[-1].coord))
    return groups


def _break_in(node: c_ast.Node) -> c_ast.Node | None:
    """A ``break`` that would leave the switch from inside ``node`` (not one
    of a loop inside it)."""
    if isinstance(node, c_ast.Break):
        return node
    if isinstance(node, (c_ast.For, c_ast.While, c_ast.DoWhile, c_ast.Switch)):
        return None
    for _, child in node.children():
        found = _break_in(child)
        if found is not None:
            return found
    return None
