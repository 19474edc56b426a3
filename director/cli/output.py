"""Where output goes: results to stdout (JSON with --json), progress and logs to stderr."""
from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass

from director.secrets import RedactingFilter, redact, shown


@dataclass
class Output:
    json_mode: bool = False
    verbosity: int = 0  # -1 quiet, 0 normal, 1+ verbose
    compact: bool = False  # --json: one result per line (``render --watch`` prints one per render)
    emitted: bool = False  # a result was printed (an error after it adds no second JSON document)

    def setup_logging(self) -> None:
        level = logging.WARNING if self.verbosity < 0 else logging.INFO if self.verbosity == 0 else logging.DEBUG
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if self.verbosity > 0
                                               else "%(message)s"))
        handler.addFilter(RedactingFilter())
        root = logging.getLogger("director")
        root.handlers[:] = [handler]
        root.setLevel(level)
        root.propagate = False

    def info(self, message: str) -> None:
        """A line for the user, on stderr (stdout is for results)."""
        if self.verbosity >= 0:  # one write: print() writes the text and its newline apart, and lines from the
            # scheduler's threads were glued ("... startedtiming > ..."), which the studio's worker could not read
            sys.stderr.write(shown(message) + "\n")

    def result(self, data: dict, text: str | None = None) -> None:
        if self.json_mode:
            print(redact(json.dumps(data, indent=None if self.compact else 2, ensure_ascii=False, default=str)),
                  flush=self.compact)
            self.emitted = True
        elif text is not None:
            print(shown(text))

    def console(self):
        from rich.console import Console

        return Console(stderr=True, quiet=self.verbosity < 0)
