"""The ``polyad`` command line.

Every error caused by the input is one line on stderr and exit code 2; a
failed check exits with 1; success with 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from polyad import api
from polyad.errors import PolyadError, UsageError
from polyad.files import write_atomically
from polyad import reports

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 70


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line and exit code 2."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def _sizes(pairs: list[str] | None) -> dict[str, int]:
    sizes = {}
    for pair in pairs or []:
        name, _, value = pair.partition("=")
        try:
            sizes[name.strip()] = int(value)
        except ValueError:
            raise UsageError(f"-D expects NAME=INTEGER, got {pair!r}") from None
    return sizes


def _add_kernel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kernel", help="C file holding the kernel")
    parser.add_argument("--function", help="the kernel function (default: the only "
                        "function, or the one holding #pragma scop)")


def _add_size_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-D", dest="sizes", action="append", metavar="NAME=VALUE",
                        help="a size parameter's value (repeatable)")
    parser.add_argument("--dataset", help="a size preset of the kernel file "
                        "(its polyad-sizes line; default small)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="polyad", description="Fast, verified gradients of affine "
                     "loop kernels through the polyhedral model.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     parser_class=_Parser)

    show = commands.add_parser("show", help="the polyhedral model of a kernel")
    _add_kernel_arguments(show)
    show.add_argument("--json", action="store_true", help="print one JSON object")

    primal = commands.add_parser("primal", help="C regenerated from the model")
    _add_kernel_arguments(primal)
    primal.add_argument("-o", "--output", help="write the C file here (default stdout)")

    check = commands.add_parser("check", help="run the generated code against "
                                "independent oracles")
    _add_kernel_arguments(check)
    _add_size_arguments(check)
    check.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return _COMMANDS[args.command](args)
    except PolyadError as error:
        print(f"polyad: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug in polyad: say so, without a traceback
        if os.environ.get("POLYAD_DEBUG"):
            traceback.print_exc()
        print(f"polyad: internal error: {type(error).__name__}: {_one_line(error)} "
              "(a bug in polyad; POLYAD_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    lines = text.splitlines()
    return lines[0] + (f" [{' | '.join(l.strip() for l in lines[1:4])}]"
                       if len(lines) > 1 else "")


def _emit(text: str, output: str | None) -> None:
    if output:
        write_atomically(output, text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _show(args) -> int:
    kernel = api.parse(args.kernel, args.function)
    if args.json:
        _emit(json.dumps(reports.kernel_summary(kernel), indent=2), None)
    else:
        _emit(reports.format_kernel(kernel), None)
    return EXIT_OK


def _primal(args) -> int:
    kernel = api.parse(args.kernel, args.function)
    _emit(api.primal_c(kernel), args.output)
    return EXIT_OK


def _check(args) -> int:
    kernel = api.parse(args.kernel, args.function)
    sizes = kernel.sizes(args.dataset, _sizes(args.sizes))
    result = api.check_primal(kernel, sizes, seed=args.seed)
    if args.json:
        _emit(json.dumps(result, indent=2), None)
    else:
        _emit(reports.format_check(result), None)
    return EXIT_OK if all(c["ok"] for c in result["checks"]) else EXIT_FAILED


_COMMANDS = {"show": _show, "primal": _primal, "check": _check}

if __name__ == "__main__":
    sys.exit(main())
