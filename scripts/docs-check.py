#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""docs-check: every .rst file given (default: all of Documentation/) must
parse with docutils without a warning.  The files are written for Sphinx, as
the kernel's are: its toctree directive and :doc:/:ref: roles are accepted,
and a :doc: link must name a file that exists.  Exits 0, 1 when a file fails,
4 (kselftest's skip) when docutils is missing."""

import os
import sys

try:
    from docutils import nodes, utils
    from docutils.core import publish_doctree
    from docutils.parsers.rst import Directive, directives, roles
except ImportError:
    print("# SKIP python3-docutils is not installed: run 'make deps'")
    sys.exit(4)

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
DOCS = os.path.join(ROOT, "Documentation")


def doc_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    target = utils.unescape(text)
    if target.endswith(">") and "<" in target:
        target = target[target.rindex("<") + 1:-1]
    source = inliner.document["source"]
    if target.startswith("/"):
        path = os.path.join(DOCS, target[1:])
    else:
        path = os.path.join(os.path.dirname(source), target)
    node = nodes.literal(rawtext, text)
    if not os.path.isfile(path + ".rst"):
        msg = inliner.reporter.warning(
            f":doc: target {target} does not exist", line=lineno)
        return [node], [msg]
    return [node], []


def ref_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    return [nodes.literal(rawtext, text)], []


class TocTree(Directive):
    """Sphinx's toctree: each entry must be a document next to this one."""
    has_content = True
    option_spec = {
        "maxdepth": directives.nonnegative_int,
        "caption": directives.unchanged,
        "hidden": directives.flag,
        "numbered": directives.flag,
        "glob": directives.flag,
    }

    def run(self):
        source = self.state.document["source"]
        for entry in self.content:
            entry = entry.strip()
            path = os.path.join(os.path.dirname(source), entry)
            if entry and not os.path.isfile(path + ".rst"):
                return [self.reporter.warning(
                    f"toctree entry {entry} does not exist", line=self.lineno)]
        return []


def main(files):
    roles.register_local_role("doc", doc_role)
    roles.register_local_role("ref", ref_role)
    directives.register_directive("toctree", TocTree)
    if not files:
        files = sorted(os.path.join(d, f)
                       for d, _, names in os.walk(DOCS)
                       for f in names if f.endswith(".rst"))
    bad = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            publish_doctree(text, source_path=path, settings_overrides={
                "halt_level": 2, "report_level": 2, "warning_stream": False,
                "file_insertion_enabled": False, "raw_enabled": False})
        except utils.SystemMessage as e:
            print(e)
            bad += 1
    print(f"{len(files) - bad} of {len(files)} .rst files parse cleanly")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
