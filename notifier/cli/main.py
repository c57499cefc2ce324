"""Command line: `notifier [serve] …`, `notifier token|pair|login|import|backup|restore`, `notifier --version`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from notifier import __version__
from notifier.config import Config, default, load_config
from notifier.errors import NotifierError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notifier",
        description="Study Notifier: plan study blocks, get reminders on your phone.",
    )
    parser.add_argument("--version", action="version", version=f"notifier {__version__}")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the server (the default)")
    _add_common(serve)
    serve.add_argument("--host", help=f"address to listen on (default {default('host')})")
    serve.add_argument("--port", type=int, help=f"port to listen on (default {default('port')})")
    serve.add_argument("--no-browser", action="store_true", help="do not open the browser")
    serve.add_argument(
        "--https", action="store_true", default=None, help="also serve HTTPS on the LAN (local CA)"
    )
    serve.add_argument(
        "--https-port",
        type=int,
        help=f"port of the LAN HTTPS server (default {default('https_port')})",
    )

    pair = sub.add_parser("pair", help="print a QR code and a code that pair a phone")
    _add_common(pair)

    login = sub.add_parser(
        "login", help="print (and open) a one-time link that signs this browser in"
    )
    _add_common(login)
    login.add_argument("--no-browser", action="store_true", help="only print the link")

    token = sub.add_parser("token", help="print a new device token for scripts")
    _add_common(token)
    token.add_argument("--label", default="cli", help="a name to recognise the token by")

    imp = sub.add_parser("import", help="import study blocks from an .ics calendar file")
    _add_common(imp)
    imp.add_argument("file", type=Path, help="the .ics file (Google, Outlook, Apple, a timetable)")
    imp.add_argument("--dry-run", action="store_true", help="only say what would be imported")

    backup = sub.add_parser("backup", help="write a backup .zip (also while the app runs)")
    _add_common(backup)
    backup.add_argument("file", type=Path, nargs="?", help="where to write it (default: here)")

    restore = sub.add_parser("restore", help="restore a backup .zip (stop the app first)")
    _add_common(restore)
    restore.add_argument("file", type=Path, help="the backup .zip")
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="folder for the database and keys")


def _config(args: argparse.Namespace) -> Config:
    return load_config(
        {
            "data_dir": getattr(args, "data_dir", None),
            "host": getattr(args, "host", None),
            "port": getattr(args, "port", None),
            "https": getattr(args, "https", None),
            "https_port": getattr(args, "https_port", None),
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "serve")  # a double-click starts the server
    args = parser.parse_args(argv)
    try:
        config = _config(args)
        if args.command == "token":
            return _token(config, args.label)
        if args.command in ("import", "backup", "restore"):
            from notifier.cli import data

            if args.command == "import":
                return data.import_file(config, args.file, dry_run=args.dry_run)
            if args.command == "backup":
                return data.backup(config, args.file)
            return data.restore(config, args.file)
        if args.command in ("pair", "login"):
            from notifier.serve.codes import login, pair

            return (
                pair(config)
                if args.command == "pair"
                else login(config, open_browser=not args.no_browser)
            )
        from notifier.serve.server import serve

        return serve(config, open_browser=not args.no_browser)
    except NotifierError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1


def _token(config: Config, label: str) -> int:
    # Imported here, not at the top: --version and --help need none of it.
    from notifier.access.tokens import mint_token
    from notifier.clock import utcnow
    from notifier.serve.codes import with_database

    _, token = with_database(config, lambda db: mint_token(db, label, kind="cli", now=utcnow()))
    print(token)
    return 0
