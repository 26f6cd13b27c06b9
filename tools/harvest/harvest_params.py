#!/usr/bin/env python3
# harvest_params.py: regenerate tables/params.def and tables/programs.def.
#
# Developer tool under tools/harvest/, driven by tools/harvest_params.sh. Inputs:
#   - `postconf -d` of the installed postfix package, run against an empty
#     configuration directory so that master.cf services add no derived names
#     (defaults, byte for byte);
#   - the package's manual pages (who reads what: the parameter headings
#     under CONFIGURATION PARAMETERS of each daemon and command page);
#   - tools/harvest/source_types.tsv (kinds and numeric bounds taken from the
#     Postfix source's CONFIG_*_TABLE rows, see extract_source_types.py);
#   - tools/harvest/param_overrides.tsv (hand-kept corrections) and
#     tools/harvest/param_descriptions.tsv (hand-written one-line summaries).
# Output is deterministic: the same inputs give the same bytes. Not used by the
# build.
import argparse
import gzip
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# Programs, in bit order. (enum id, program name, manual page).
PROGRAMS = [
    ("kMaster", "master", "man8/master.8postfix.gz"),
    ("kAnvil", "anvil", "man8/anvil.8postfix.gz"),
    ("kBounce", "bounce", "man8/bounce.8postfix.gz"),
    ("kCleanup", "cleanup", "man8/cleanup.8postfix.gz"),
    ("kDiscard", "discard", "man8/discard.8postfix.gz"),
    ("kDnsblog", "dnsblog", "man8/dnsblog.8postfix.gz"),
    ("kError", "error", "man8/error.8postfix.gz"),
    ("kFlush", "flush", "man8/flush.8postfix.gz"),
    ("kLmtp", "lmtp", "man8/lmtp.8postfix.gz"),
    ("kLocal", "local", "man8/local.8postfix.gz"),
    ("kOqmgr", "oqmgr", "man8/oqmgr.8postfix.gz"),
    ("kPickup", "pickup", "man8/pickup.8postfix.gz"),
    ("kPipe", "pipe", "man8/pipe.8postfix.gz"),
    ("kPostlogd", "postlogd", "man8/postlogd.8postfix.gz"),
    ("kPostscreen", "postscreen", "man8/postscreen.8postfix.gz"),
    ("kProxymap", "proxymap", "man8/proxymap.8postfix.gz"),
    ("kQmgr", "qmgr", "man8/qmgr.8postfix.gz"),
    ("kQmqpd", "qmqpd", "man8/qmqpd.8postfix.gz"),
    ("kScache", "scache", "man8/scache.8postfix.gz"),
    ("kShowq", "showq", "man8/showq.8postfix.gz"),
    ("kSmtp", "smtp", "man8/smtp.8postfix.gz"),
    ("kSmtpd", "smtpd", "man8/smtpd.8postfix.gz"),
    ("kSpawn", "spawn", "man8/spawn.8postfix.gz"),
    ("kTlsmgr", "tlsmgr", "man8/tlsmgr.8postfix.gz"),
    ("kTlsproxy", "tlsproxy", "man8/tlsproxy.8postfix.gz"),
    ("kTrivialRewrite", "trivial-rewrite", "man8/trivial-rewrite.8postfix.gz"),
    ("kVerify", "verify", "man8/verify.8postfix.gz"),
    ("kVirtual", "virtual", "man8/virtual.8postfix.gz"),
    ("kSendmail", "sendmail", "man1/sendmail.1.gz"),
    ("kPostalias", "postalias", "man1/postalias.1.gz"),
    ("kPostcat", "postcat", "man1/postcat.1.gz"),
    ("kPostconf", "postconf", "man1/postconf.1.gz"),
    ("kPostdrop", "postdrop", "man1/postdrop.1.gz"),
    ("kPostfix", "postfix", "man1/postfix.1.gz"),
    ("kPostfixTls", "postfix-tls", "man1/postfix-tls.1.gz"),
    ("kPostkick", "postkick", "man1/postkick.1.gz"),
    ("kPostlock", "postlock", "man1/postlock.1.gz"),
    ("kPostlog", "postlog", "man1/postlog.1.gz"),
    ("kPostmap", "postmap", "man1/postmap.1.gz"),
    ("kPostmulti", "postmulti", "man1/postmulti.1.gz"),
    ("kPostqueue", "postqueue", "man1/postqueue.1.gz"),
    ("kPostsuper", "postsuper", "man1/postsuper.1.gz"),
]

TYPES = ["kBool", "kInt", "kTime", "kSize", "kString", "kList", "kMatchList",
         "kTableList", "kRestrictionList", "kServiceName"]

# Integer parameters that count bytes.
SIZE_RE = re.compile(r"(_size_limit|_buffer_size|_map_size|_minfree|_length_limit"
                     r"|_random_bytes|_response_limit|^virtual_mailbox_limit"
                     r"|^tcp_windowsize)$")

# Name rules for string-valued parameters, tried in order after the source's
# own evidence (maps_create / *_list_init / smtpd_check_parse calls).
NAME_RULES = [
    ("kTableList", r"(_maps|_checks|_map|_database|_reply_filter|_command_filter"
                   r"|_delivery_status_filter|_per_site|_auth_cache_name)$"
                   r"|^relay_clientcerts$"),
    ("kServiceName", r"(_transport|_service_name)$|^content_filter$"),
    ("kMatchList", r"(_networks|_domains|_users|_hosts|_clients|_exclusions"
                   r"|_exceptions|_destinations)$|^(mynetworks|debug_peer_list"
                   r"|postscreen_access_list|mydestination)$"),
    ("kList", r"(_classes|_commands|_keywords|_interfaces|_protocols|_milters"
              r"|_macros|_environment|_options|_exclude_ciphers|_workarounds"
              r"|_directories|_names|_prefixes|_files|_extensions|_headers"
              r"|_lock|_transports|_sites|_digests|_curves|_fallback_relay|_cert_match"
              r"|_ports|_mail_to_commands|_disable)$"
              r"|^(forward_path|prepend_delivered_header|milter_macro_defaults"
              r"|propagate_unmatched_extensions|masquerade_domains"
              r"|maps_rbl_domains)$"),
]


def read_tsv(path, ncols):
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < ncols:
                cols += [""] * (ncols - len(cols))
            rows.append((lineno, cols))
    return rows


def postconf_defaults(postconf):
    with tempfile.TemporaryDirectory() as tmp:
        open(os.path.join(tmp, "main.cf"), "w").close()
        out = subprocess.run([postconf, "-c", tmp, "-d"], check=True,
                             capture_output=True).stdout.decode("latin-1")
    defaults = {}
    for line in out.split("\n"):
        if not line:
            continue
        if " = " in line:
            name, value = line.split(" = ", 1)
        elif line.endswith(" ="):
            name, value = line[:-2], ""
        else:
            sys.exit("harvest: cannot parse postconf line: %r" % line)
        defaults[name] = value
    return defaults


def probe_flags(postconf, defaults):
    """Asks postconf itself which parameters are raw (never $-expanded by
    postconf), read-only (assignments ignored), and which legacy names it
    knows without listing them (names referenced by defaults)."""
    raw, read_only, legacy = set(), set(), {}
    with tempfile.TemporaryDirectory() as tmp:
        open(os.path.join(tmp, "master.cf"), "w").close()
        with open(os.path.join(tmp, "main.cf"), "w") as f:
            f.write("zz_marker = probe\n")
            for name in sorted(defaults):
                if name != "config_directory":
                    f.write("%s = $zz_marker\n" % name)
        run = subprocess.run([postconf, "-c", tmp, "-x"], capture_output=True)
        for line in run.stdout.decode("latin-1").split("\n"):
            if line.endswith(" = $zz_marker"):
                raw.add(line[:-len(" = $zz_marker")])
        for m in re.finditer(r"read-only parameter assignment: (\w+)=",
                             run.stderr.decode("latin-1")):
            read_only.add(m.group(1))
        open(os.path.join(tmp, "main.cf"), "w").close()
        referenced = set()
        for value in defaults.values():
            referenced.update(re.findall(r"\$[({]?(\w+)", value))
        for name in sorted(referenced - set(defaults)):
            q = subprocess.run([postconf, "-c", tmp, "-d", name], capture_output=True)
            out = q.stdout.decode("latin-1").rstrip("\n")
            if q.returncode == 0 and out.startswith(name + " ="):
                legacy[name] = out[len(name) + 3:] if out.startswith(name + " = ") else ""
    return raw, read_only, legacy


def man_params(path):
    """Parameter names listed under CONFIGURATION PARAMETERS of one page."""
    with gzip.open(path, "rt", encoding="latin-1") as f:
        text = f.read()
    names = set()
    inside = False
    for line in text.split("\n"):
        if line.startswith(".SH"):
            title = line[3:].strip().strip('"')
            if title == "CONFIGURATION PARAMETERS":
                inside = True
            elif title in ("SEE ALSO", "README FILES", "FILES", "LICENSE"):
                inside = False
            continue
        if inside:
            m = re.match(r'\.IP "\\fB([A-Za-z0-9_\\-]+) \(', line)
            if m:
                names.add(m.group(1).replace("\\-", "-"))
    return names


def c_string(s):
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append("\\%03o" % ord(ch))
    return '"' + "".join(out) + '"'


def infer_type(name, kind, role):
    if kind in ("BOOL", "NBOOL"):
        return "kBool"
    if kind in ("INT", "NINT", "LONG"):
        return "kSize" if SIZE_RE.search(name) else "kInt"
    if kind == "TIME":
        return "kTime"
    if role == "table":
        return "kTableList"
    if role == "restriction":
        return "kRestrictionList"
    if role == "match":
        return "kMatchList"
    if re.fullmatch(r"smtpd_\w+_restrictions", name):
        return "kRestrictionList"
    for type_name, rule in NAME_RULES:
        if re.search(rule, name):
            return type_name
    return "kString"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--postconf", default="postconf")
    ap.add_argument("--man-dir", default="/usr/share/man")
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args()

    defaults = postconf_defaults(args.postconf)
    raw, read_only, legacy = probe_flags(args.postconf, defaults)
    listed = set(defaults)
    defaults.update(legacy)

    source = {}
    for _, cols in read_tsv(os.path.join(HERE, "source_types.tsv"), 5):
        source[cols[0]] = cols[1:]

    overrides = {}
    for lineno, cols in read_tsv(os.path.join(HERE, "param_overrides.tsv"), 3):
        name, field, value = cols[0], cols[1], cols[2]
        if name not in defaults:
            sys.exit("param_overrides.tsv:%d: unknown parameter %s" % (lineno, name))
        if field not in ("type", "unit", "min", "max", "host_dependent", "default"):
            sys.exit("param_overrides.tsv:%d: unknown field %s" % (lineno, field))
        overrides.setdefault(name, {})[field] = value.replace("\\t", "\t")

    descriptions = {}
    for lineno, cols in read_tsv(os.path.join(HERE, "param_descriptions.tsv"), 2):
        if cols[0] not in defaults:
            sys.exit("param_descriptions.tsv:%d: unknown parameter %s" % (lineno, cols[0]))
        if cols[0] in descriptions:
            sys.exit("param_descriptions.tsv:%d: duplicate %s" % (lineno, cols[0]))
        descriptions[cols[0]] = cols[1]

    programs = {name: 0 for name in defaults}
    for bit, (_, prog, page) in enumerate(PROGRAMS):
        for name in man_params(os.path.join(args.man_dir, page)):
            if name in programs:
                programs[name] |= 1 << bit

    # The smtp(8) binary also runs as lmtp(8) and then reads the lmtp_
    # twin of each smtp_ parameter; the shared page lists only the smtp_ name.
    lmtp_bit = 1 << [p[0] for p in PROGRAMS].index("kLmtp")
    for name in programs:
        twin = "smtp_" + name[len("lmtp_"):]
        if name.startswith("lmtp_") and programs.get(twin, 0) & lmtp_bit:
            programs[name] |= lmtp_bit

    # Derived summaries: an lmtp_ row reuses its smtp_ twin's text, and a row
    # whose default is just "$other" says so.
    for name in sorted(defaults):
        if name in descriptions:
            continue
        twin = "smtp_" + name[len("lmtp_"):]
        if name.startswith("lmtp_") and descriptions.get(twin):
            descriptions[name] = "LMTP twin of %s: %s" % (twin, descriptions[twin])
    for name in sorted(defaults):
        m = re.fullmatch(r"\$(\w+)", defaults[name])
        if name not in descriptions and m and m.group(1) in defaults:
            other = m.group(1)
            text = descriptions.get(other, "")
            descriptions[name] = "Follows %s unless set%s" % (
                other, ("; " + text[0].lower() + text[1:]) if text else "")

    rows = []
    for name in sorted(defaults):
        kind, lo, hi, role = source.get(name, ["STR", "", "", ""])
        ov = overrides.get(name, {})
        ptype = ov.get("type") or infer_type(name, kind, role)
        if ptype not in TYPES:
            sys.exit("harvest: bad type %s for %s" % (ptype, name))
        default = ov.get("default", defaults[name])
        unit = ov.get("unit", "")
        if ptype == "kTime" and not unit:
            unit = default[-1] if default and default[-1] in "smhdw" else "s"
        if ptype != "kTime":
            unit = ""
        lo = ov.get("min", lo)
        hi = ov.get("max", hi)
        if ptype not in ("kInt", "kTime", "kSize"):
            lo, hi = "", ""
        host = ov.get("host_dependent", "no") == "yes"
        flags = (name in raw, name in read_only, name not in listed)
        rows.append((name, ptype, default, unit, lo, hi, programs[name], host,
                     descriptions.get(name, ""), flags))

    write_programs(os.path.join(args.out_dir, "programs.def"))
    write_params(os.path.join(args.out_dir, "params.def"), rows)
    unlisted = [r[0] for r in rows if r[6] == 0]
    print("harvest: %d parameters, %d with descriptions, %d listed on no page" %
          (len(rows), sum(1 for r in rows if r[8]), len(unlisted)), file=sys.stderr)


GENERATED = ("// GENERATED by tools/harvest_params.sh from the installed postfix package;\n"
             "// do not edit. Change tools/harvest/*.tsv and rerun the script.\n")


def write_programs(path):
    with open(path, "w", encoding="utf-8") as f:
        f.write("// programs.def: every Postfix program that reads main.cf parameters.\n"
                "//\n"
                "// X-macro rows POSTHASTE_PROGRAM(enum id, program name), in bit order\n"
                "// for ProgramMask; expanded by tables/param_registry.h. A program is\n"
                "// listed when its manual page documents configuration parameters.\n")
        f.write(GENERATED + "\n")
        for ident, prog, _ in PROGRAMS:
            f.write("POSTHASTE_PROGRAM(%s, %s)\n" % (ident, c_string(prog)))


def write_params(path, rows):
    idents = [p[0] for p in PROGRAMS]
    with open(path, "w", encoding="utf-8") as f:
        f.write("// params.def: one row per built-in Postfix 3.7 main.cf parameter.\n"
                "//\n"
                "// X-macro rows, sorted by name (byte order):\n"
                "//   POSTHASTE_PARAM(name, type, default, time_unit, min, max,\n"
                "//                   programs, implemented, host_dependent, description,\n"
                "//                   raw, read_only, legacy)\n"
                "// raw: postconf never expands $name in it; read_only: set per process,\n"
                "// assignments ignored; legacy: known but not listed by postconf -d.\n"
                "// type is a ParamType enumerator; min/max are kNoMin/kNoMax when the\n"
                "// source has no bound; programs is an OR of POSTHASTE_PROGRAM_BIT(kX);\n"
                "// host_dependent rows carry a fixed fallback default that the caller\n"
                "// replaces with a value computed on the running host.\n"
                "// The includer defines POSTHASTE_PARAM, kNoMin, kNoMax and\n"
                "// POSTHASTE_PROGRAM_BIT (see tables/param_registry.cc).\n")
        f.write(GENERATED + "\n")
        for name, ptype, default, unit, lo, hi, mask, host, desc, flags in rows:
            progs = " | ".join("POSTHASTE_PROGRAM_BIT(%s)" % idents[b]
                               for b in range(len(idents)) if mask >> b & 1) or "0"
            f.write("POSTHASTE_PARAM(%s, %s, %s, %s, %s, %s,\n"
                    "    %s,\n"
                    "    false, %s, %s, %s, %s, %s)\n" % (
                        c_string(name), ptype, c_string(default),
                        "'%s'" % unit if unit else "0",
                        lo if lo != "" else "kNoMin", hi if hi != "" else "kNoMax",
                        progs, "true" if host else "false", c_string(desc),
                        *("true" if f else "false" for f in flags)))


if __name__ == "__main__":
    main()
