"""The `autoload` console script: inspect, convert, verify and demo."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autoload", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    inspect = sub.add_parser("inspect", help="describe a checkpoint: config, weights, parameters, backends")
    inspect.add_argument("name_or_path")
    _hub_args(inspect)

    convert = sub.add_parser("convert", help="write a checkpoint's weights in another format")
    convert.add_argument("name_or_path")
    convert.add_argument("--to", required=True, choices=["safetensors", "pt", "tf", "flax"])
    convert.add_argument("--out", required=True, help="output folder (must not exist unless --overwrite)")
    convert.add_argument("--max-shard-size", default="5GB")
    convert.add_argument("--overwrite", action="store_true")
    _hub_args(convert)

    verify = sub.add_parser("verify", help="check that every installed framework gives the same outputs")
    verify.add_argument("name_or_path")
    verify.add_argument("--backends", default="torch,tf,flax")
    verify.add_argument("--atol", type=float, default=1e-4)
    _hub_args(verify)

    demo = sub.add_parser("demo", help="run the demo on the tiny checkpoint shipped with autoload")
    demo.add_argument("--backends", default="torch,tf,flax")
    return parser


def _hub_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--revision", default=None)
    parser.add_argument("--subfolder", default="")
    parser.add_argument("--cache-dir", default=None)


def hub_kwargs(args) -> dict:
    return {"revision": args.revision, "subfolder": args.subfolder, "cache_dir": args.cache_dir}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "inspect":
        from .commands.inspect import inspect_checkpoint

        print(inspect_checkpoint(args.name_or_path, **hub_kwargs(args)))
        return 0
    if args.command == "convert":
        from .commands.convert import convert_checkpoint

        convert_checkpoint(
            args.name_or_path, to=args.to, out=args.out, max_shard_size=args.max_shard_size,
            overwrite=args.overwrite, **hub_kwargs(args),
        )  # fmt: skip
        return 0
    if args.command == "verify":
        from .testing import compare_backends, format_report

        report = compare_backends(
            args.name_or_path, backends=args.backends.split(","), atol=args.atol, **hub_kwargs(args)
        )
        print(format_report(report))
        return 0 if report.ok else 1
    if args.command == "demo":
        from .commands.demo import run_demo

        return run_demo(backends=args.backends.split(","))
    return 2


if __name__ == "__main__":
    sys.exit(main())
