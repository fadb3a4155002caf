# SPDX-License-Identifier: GPL-2.0
# Sphinx configuration of Documentation/: make htmldocs (build/htmldocs).

import os
import re

_root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
with open(os.path.join(_root, "kmod", "version.h"), encoding="utf-8") as _f:
    _m = re.search(r'#define VMMIG_VERSION "([^"]*)"', _f.read())

project = "vmmig"
copyright = "the vmmig authors; GPL-2.0"
version = release = _m.group(1) if _m else "unknown"

root_doc = "index"
source_suffix = ".rst"
exclude_patterns = []
html_theme = "alabaster"
html_title = "vmmig " + version
html_show_sourcelink = False
