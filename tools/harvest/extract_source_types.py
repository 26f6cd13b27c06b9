#!/usr/bin/env python3
# extract_source_types.py: derive parameter kinds and bounds from a Postfix source tree.
#
# Developer tool under tools/harvest/, run by tools/harvest_params.sh only when
# a Postfix source tree is given (POSTFIX_SRC=/path/to/postfix-3.7.11). It reads
# the CONFIG_*_TABLE rows in src/*/*.c (name, kind, numeric min/max) and the
# calls that turn a parameter into a lookup-table list (maps_create), a match
# list (*_list_init) or a restriction list (smtpd_check_parse). Output is
# tools/harvest/source_types.tsv, committed so that the normal harvest does not
# need the source. Not used by the build.
import glob
import os
import re
import sys

KINDS = ["INT", "LONG", "NINT", "TIME", "BOOL", "NBOOL", "STR", "RAW", "STR_FN"]


def read(path):
    with open(path, encoding="latin-1") as f:
        return f.read()


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def main():
    src = os.path.join(sys.argv[1], "src")
    files = sorted(glob.glob(os.path.join(src, "*", "*.c")) +
                   glob.glob(os.path.join(src, "*", "*.h")))
    defines = {}
    texts = {}
    for path in files:
        text = strip_comments(read(path))
        texts[path] = text
        for m in re.finditer(r"^#\s*define\s+(\w+)\s+(.+?)\s*$", text, re.M):
            defines.setdefault(m.group(1), m.group(2))

    def string_value(sym, depth=0):
        v = defines.get(sym)
        if v is None or depth > 5:
            return None
        # A definition is a sequence of string literals and macro names.
        out = []
        for lit, ident in re.findall(r'"((?:[^"\\]|\\.)*)"|(\w+)', v):
            if ident:
                sub = string_value(ident, depth + 1)
                if sub is None:
                    return None
                out.append(sub)
            else:
                out.append(lit)
        return "".join(out) if out else None

    def int_value(expr, depth=0):
        expr = expr.strip()
        if expr in ("INT_MAX", "LONG_MAX", "SSIZE_T_MAX", "OFF_T_MAX"):
            return None  # unbounded
        if re.fullmatch(r"-?\d+[lLuU]*", expr):
            return int(expr.rstrip("lLuU"))
        if expr.startswith("(") and expr.endswith(")"):
            return int_value(expr[1:-1], depth)
        if re.fullmatch(r"\w+", expr) and expr in defines and depth < 5:
            return int_value(defines[expr], depth + 1)
        m = re.fullmatch(r"(.+?)\s*([*+-])\s*(.+)", expr)
        if m:
            a, b = int_value(m.group(1), depth), int_value(m.group(3), depth)
            if a is not None and b is not None:
                return {"*": a * b, "+": a + b, "-": a - b}[m.group(2)]
        raise ValueError("cannot evaluate %r" % expr)

    def names_for_var(token):
        token = token.strip()
        m = re.fullmatch(r"VAR_LMTP_SMTP\((\w+)\)", token)
        if m:
            return [n for n in (string_value("VAR_SMTP_" + m.group(1)),
                                string_value("VAR_LMTP_" + m.group(1))) if n]
        v = string_value(token)
        return [v] if v else []

    kinds = {}    # name -> kind
    bounds = {}   # name -> (min, max)
    var_to_names = {}
    table_re = re.compile(
        r"CONFIG_(%s)_TABLE\s+\w+\s*\[\s*\]\s*=\s*\{(.*?)\};" % "|".join(KINDS), re.S)
    for path, text in texts.items():
        if "/postconf/" in path:
            continue
        for m in table_re.finditer(text):
            kind = m.group(1)
            for line in m.group(2).split("\n"):
                line = line.strip()
                if not line.startswith("VAR_"):
                    continue
                fields = [f.strip() for f in line.rstrip(",").split(",")]
                names = names_for_var(fields[0])
                if not names:
                    print("warning: unresolved %s in %s" % (fields[0], path), file=sys.stderr)
                    continue
                target = fields[2].lstrip("&").strip() if len(fields) > 2 else ""
                for name in names:
                    kinds.setdefault(name, kind)
                    var_to_names.setdefault(target, set()).add(name)
                    if kind in ("INT", "LONG", "NINT", "TIME") and len(fields) >= 5:
                        lo, hi = int_value(fields[3]), int_value(fields[4])
                        hi = None if hi == 0 else hi  # Postfix: max 0 means no limit
                        old = bounds.get(name)
                        if old:  # several programs: keep the strictest
                            lo = max(x for x in (lo, old[0]) if x is not None) \
                                if lo is not None or old[0] is not None else None
                            his = [x for x in (hi, old[1]) if x is not None]
                            hi = min(his) if his else None
                        bounds[name] = (lo, hi)

    # Calls that give a string parameter its structure.
    roles = {}
    call_re = re.compile(
        r"\b(maps_create|mail_addr_map_init|match_list_init|namadr_list_init|"
        r"domain_list_init|string_list_init|addr_match_list_init|"
        r"smtpd_check_parse)\s*\(([^;]*?)\)\s*[;,)]", re.S)
    role_of = {"maps_create": "table", "mail_addr_map_init": "table",
               "smtpd_check_parse": "restriction"}
    for path, text in texts.items():
        for m in call_re.finditer(text):
            role = role_of.get(m.group(1), "match")
            for var in re.findall(r"\bvar_\w+", m.group(2)):
                for name in var_to_names.get(var, ()):
                    roles.setdefault(name, role)

    out = sys.stdout
    out.write("# GENERATED by tools/harvest/extract_source_types.py from a Postfix\n"
              "# source tree (3.7.11 for the committed copy); do not edit.\n")
    out.write("# name\tsource_kind\tmin\tmax\trole\n")
    for name in sorted(kinds):
        lo, hi = bounds.get(name, (None, None))
        out.write("%s\t%s\t%s\t%s\t%s\n" % (
            name, kinds[name], "" if lo is None else lo, "" if hi is None else hi,
            roles.get(name, "")))


if __name__ == "__main__":
    main()
