"""Flat schedules and the canonical schedule trees built from them.

A flat schedule maps every statement instance to a point of one space of
equal dimension (the padded "2d+1" form); lexicographic order of the points
is execution order. Reversing, interleaving and prefixing sweeps are simple
on flat maps; :func:`tree_from_flat` turns a flat map back into a schedule
tree with a sequence node where statements are told apart by a constant and a
band node for each loop dimension, which the isl AST generator and the
schedule transformations work on.
"""

from __future__ import annotations

import islpy as isl

from polyad.model import dataflow
from polyad.model.kernel import maps_of, union_of_maps, union_of_sets
from polyad.schedule.marks import LoopMark, Reversed, band_mark, mark_id

def flat_schedule(schedule: isl.Schedule) -> isl.UnionMap:
    """The padded flat map of a schedule tree, on its domain."""
    return dataflow.schedule_map(schedule)


def marks_in(tree: isl.Schedule) -> tuple[LoopMark | Reversed, ...]:
    """The marks of a schedule tree's mark nodes (polyad's values), outermost
    first."""
    found: list = []
    failure: list[BaseException] = []

    def visit(node: isl.ScheduleNode) -> bool:
        try:  # an exception must not escape an isl callback (ISLPY-NOTES)
            if node.get_type() == isl.schedule_node_type.mark:
                found.append(band_mark(node.mark_get_id()).mark)
        except BaseException as error:  # noqa: BLE001  (re-raised after isl returns)
            failure.append(error)
        return not failure

    tree.foreach_schedule_node_top_down(visit)
    if failure:
        raise failure[0]
    return tuple(found)


def renamed(flat: isl.Map, name: str) -> isl.Map:
    """The same schedule for a statement of another name."""
    return flat.set_tuple_name(isl.dim_type.in_, name)


def with_suffix(flat: isl.Map, value: int) -> isl.Map:
    """One more innermost dimension fixed to ``value`` (orders statements
    that share a schedule point)."""
    position = flat.dim(isl.dim_type.out)
    return flat.add_dims(isl.dim_type.out, 1).fix_val(isl.dim_type.out, position,
                                                      isl.Val(value))


def with_prefix(flat: isl.Map, value: int) -> isl.Map:
    """One more outermost dimension fixed to ``value`` (orders sweeps)."""
    return flat.insert_dims(isl.dim_type.out, 0, 1).fix_val(isl.dim_type.out, 0,
                                                           isl.Val(value))


def fixed_value(flat: isl.Map, position: int) -> int | None:
    """The constant of output dimension ``position`` of one statement's flat
    map, or None where that dimension varies (a loop).

    Precondition: ``position`` < the map's output dimension."""
    value = flat.plain_get_val_if_fixed(isl.dim_type.out, position)
    return None if value.is_nan() else int(value.to_python())


def output_pieces(flat: isl.Map) -> list[isl.PwAff]:
    """The output dimensions of one statement's flat map, each as a piecewise
    affine function of the statement's instance (outermost first).

    Precondition: the map is single-valued."""
    multi = isl.PwMultiAff.from_map(flat)
    return [multi.get_pw_aff(d) for d in range(flat.dim(isl.dim_type.out))]


def constant_piece(domain: isl.Set, value: int) -> isl.PwAff:
    """The constant ``value`` on ``domain``: a fixed dimension for
    :func:`map_from_pieces`."""
    return isl.PwAff.val_on_domain(domain, isl.Val(value))


def map_from_pieces(name: str, domain: isl.Set, pieces: list[isl.PwAff]) -> isl.Map:
    """The flat map of statement ``name`` on ``domain`` whose output dimensions
    are ``pieces`` (the inverse of :func:`output_pieces`).

    Precondition: ``pieces`` is not empty and every piece is defined on ``domain``'s space."""
    result = isl.Map.from_pw_aff(pieces[0])
    for piece in pieces[1:]:
        result = result.flat_range_product(isl.Map.from_pw_aff(piece))
    return result.intersect_domain(domain).set_tuple_name(isl.dim_type.in_, name)


def negated(flat: isl.Map) -> isl.Map:
    """Every dimension negated: the exact reverse order."""
    space = isl.Space.map_from_set(flat.get_space().range())
    return flat.apply_range(isl.Map.from_multi_aff(isl.MultiAff.identity(space).neg()))


def padded(maps: list[isl.Map]) -> list[isl.Map]:
    """Maps padded with zero dimensions to one common depth."""
    depth = max(m.dim(isl.dim_type.out) for m in maps)
    result = []
    for m in maps:
        extra = depth - m.dim(isl.dim_type.out)
        for _ in range(extra):
            m = with_suffix(m, 0)
        result.append(m)
    return result


def tree_from_flat(flat: isl.UnionMap, marks=None, separate=None) -> isl.Schedule:
    """The canonical schedule tree of a flat schedule (same order).

    ``marks(maps, position)``, when given, lists the marks (values of
    :mod:`polyad.schedule.marks`) to put above the band of ``position``
    holding the instructions of ``maps``; a band whose loops all count down
    gets :class:`~polyad.schedule.marks.Reversed` first;
    ``separate(maps)``, when true, asks the AST generator to peel the loop
    into pieces each instruction runs in wholly (no guards in the body).

    >>> t = tree_from_flat(isl.UnionMap("{ A[i] -> [0, i]; B[i] -> [1, i] : 0 <= i < 4 }"))
    >>> t.get_root().child(0).get_type() == isl.schedule_node_type.sequence
    True
    """
    # An instruction without instances (code specialised to sizes at which
    # it never runs) has no place in the tree, and isl cannot build a band
    # of nothing but such pieces.
    maps = [m for m in padded(maps_of(flat)) if not m.is_empty()]
    if not maps:
        return isl.Schedule.from_domain(flat.domain())
    return _subtree(maps, 0, maps[0].dim(isl.dim_type.out), marks, separate, 0)


def _fixed_value(flat: isl.Map, position: int) -> int | None:
    value = flat.plain_get_val_if_fixed(isl.dim_type.out, position)
    return None if value.is_nan() else int(value.to_python())


def _subtree(maps: list[isl.Map], position: int, depth: int, marks,
             separate, bands: int) -> isl.Schedule:
    if position == depth:
        return isl.Schedule.from_domain(union_of_sets(m.domain() for m in maps))
    values = [_fixed_value(m, position) for m in maps]
    if all(v is not None for v in values):
        groups = sorted(set(values))
        parts = [_subtree([m for m, v in zip(maps, values) if v == g], position + 1, depth,
                          marks, separate, bands) for g in groups]
        result = parts[0]
        for part in parts[1:]:
            result = result.sequence(part)
        return result
    pieces = [m.project_out(isl.dim_type.out, position + 1, depth - position - 1)
              .project_out(isl.dim_type.out, 0, position) for m in maps]
    child = _subtree(maps, position + 1, depth, marks, separate, bands + 1)
    tree = child.insert_partial_schedule(
        isl.MultiUnionPwAff.from_union_map(union_of_maps(pieces)))
    if separate is not None and separate(maps):
        tree = tree.get_root().child(0).band_member_set_ast_loop_type(
            0, isl.ast_loop_type.separate).get_schedule()
    found = [Reversed()] if all(_counts_down(piece) for piece in pieces) else []
    found += list(marks(maps, position)) if marks is not None else []
    for mark in reversed(found):
        tree = tree.get_root().child(0).insert_mark(mark_id(mark, bands)).get_schedule()
    return tree


def _counts_down(piece: isl.Map) -> bool:
    """Whether a one-dimensional schedule piece decreases with the statement's
    iterators (no positive coefficient, some negative one)."""
    signs = set()
    for _, aff in isl.PwMultiAff.from_map(piece).get_pw_aff(0).get_pieces():
        for d in range(aff.dim(isl.dim_type.in_)):
            value = aff.get_coefficient_val(isl.dim_type.in_, d)
            if not value.is_zero():
                signs.add(value.is_neg())
        for q in range(aff.dim(isl.dim_type.div)):  # tile loops: floor(-i / 32)
            weight = aff.get_coefficient_val(isl.dim_type.div, q)
            if weight.is_zero():
                continue
            inner = aff.get_div(q)
            for d in range(inner.dim(isl.dim_type.in_)):
                value = inner.get_coefficient_val(isl.dim_type.in_, d)
                if not value.is_zero():
                    signs.add(value.is_neg() != weight.is_neg())
    return signs == {True}
