#!/usr/bin/env python3
"""Write the fuzz targets' seed corpora and dictionaries, from the repository's own tests.

Usage: fuzz/seeds.py OUT   (make fuzz runs it with OUT = fuzz/target/seeds)

Each target gets OUT/TARGET/ (its seeds) and OUT/TARGET.dict (fuzz/dict/*.dict, and for the
line and grammar targets every alias, option and subcommand of the bundled policies). The
seeds come from tests/corpus/lines.txt, policies/, tests/fixtures/, tests/vectors/,
integration/cage.toml.example, the certificate in src/grant/cert.rs and fuzz/seeds/.
"""
import base64
import hashlib
import pathlib
import re
import shutil
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"
TARGETS = ["line", "grammar", "policy", "grant", "request", "ssh_cert", "ssh_auth_info", "time",
           "config", "audit_verify", "audit_chain", "audit_read", "cast"]
DICTS = {"line": ["line"], "grammar": ["line"], "policy": ["policy"], "grant": ["grant", "time"],
         "request": ["request", "time"], "ssh_cert": ["ssh"], "ssh_auth_info": ["ssh"],
         "time": ["time"], "config": ["config"], "audit_verify": ["audit"], "audit_read": ["audit"]}


def corpus_lines():
    """The inputs of tests/corpus/lines.txt, unescaped as tests/grammar_corpus.rs reads them."""
    simple = {"n": b"\n", "r": b"\r", "t": b"\t", "0": b"\0"}
    for line in (ROOT / "tests/corpus/lines.txt").read_text().splitlines():
        if not line.startswith('"'):
            continue
        out, i = bytearray(), 1
        while line[i] != '"':
            c = line[i]
            if c != "\\":
                out += c.encode()
                i += 1
                continue
            e = line[i + 1]
            if e in simple:
                out += simple[e]
                i += 2
            elif e == "x":
                out.append(int(line[i + 2:i + 4], 16))
                i += 4
            elif e == "u":
                close = line.index("}", i)
                out += chr(int(line[i + 3:close], 16)).encode()
                i = close + 1
            else:
                out += e.encode()
                i += 2
        yield bytes(out)


def policies():
    """Each bundled profile's id, text and the ids it inherits."""
    for path in sorted((ROOT / "policies").glob("*.toml")):
        text = path.read_text()
        yield path.stem, text, tomllib.loads(text).get("inherits", [])


def policy_seeds():
    """Each profile with everything it inherits, as one input of several files."""
    profiles = {id: (text, inherits) for id, text, inherits in policies()}
    for id in profiles:
        closure, todo = [], [id]
        while todo:
            next_id = todo.pop()
            if next_id not in closure and next_id in profiles:
                closure.append(next_id)
                todo.extend(profiles[next_id][1])
        yield id, "".join(f"#@ {i}.toml\n{profiles[i][0]}" for i in closure).encode()
    fixtures = ROOT / "tests/fixtures"
    for case in sorted(p for p in (fixtures / "policies").iterdir() if p.is_dir()):
        files = sorted(case.glob("*.toml"))
        yield "fixture-" + case.name, "".join(f"#@ {f.name}\n{f.read_text()}" for f in files).encode()
    for f in sorted((fixtures / "warn").glob("*.toml")):
        yield "warn-" + f.stem, f"#@ {f.name}\n{f.read_text()}".encode()


def grammar_words():
    """Every alias name, option name, subcommand, literal argument and refused token."""
    words = set()

    def walk(grammar):
        for spec in grammar.get("options", []):
            words.update(n.strip() for n in spec.split("<")[0].split(",") if n.strip())
        for spec in grammar.get("args", []):
            words.add(spec.rstrip("?*+"))
        words.update(grammar.get("refuse", {}), grammar.get("once", {}))
        for name, sub in grammar.get("sub", {}).items():
            words.add(name)
            walk(sub)

    for _, text, _ in policies():
        for layer in tomllib.loads(text).get("layer", {}).values():
            for name, alias in layer.get("alias", {}).items():
                words.add(name)
                walk(alias.get("grammar", {}))
    return sorted(w for w in words if w and not w.startswith("<"))


def certificate():
    """The certificate line of src/grant/cert.rs's tests (made by ssh-keygen)."""
    text = (ROOT / "src/grant/cert.rs").read_text()
    return re.search(r'const CERT: &str = "([^"]+)";', text).group(1)


def seeds():
    """(target, name, bytes) for every seed."""
    lines = list(corpus_lines())
    for data in lines:
        yield "line", data
        yield "grammar", data
    for word in grammar_words():
        yield "grammar", word.encode()
    for name, data in policy_seeds():
        yield "policy", data
    for f in sorted((ROOT / "tests/fixtures/grants").glob("*.toml")):
        yield "grant", f.read_bytes()
    example = (ROOT / "integration/cage.toml.example").read_text()
    yield "config", example.encode()
    # Every key of the example set: its commented lines `# key = value` uncommented.
    yield "config", re.sub(r"(?m)^# ((\[|[a-z_]+ = ).*)$", r"\1", example).encode()
    cert = certificate()
    kind, blob = cert.split(" ")
    yield "ssh_cert", base64.b64decode(blob)
    yield "ssh_auth_info", f"publickey {cert}\n".encode()
    yield "ssh_auth_info", f"password\npublickey ssh-ed25519 AAAAC3Nza\npublickey {cert}\n".encode()
    vectors = sorted((ROOT / "tests/vectors").rglob("*.jsonl"))
    for f in vectors:
        yield "audit_verify", f.read_bytes()
        yield "audit_read", b"event=command since=2027-01-15T08:00:10Z\n" + f.read_bytes()
    for f in vectors[:4]:
        yield "audit_chain", f.read_bytes()[:400]
    for data in lines[:40]:
        yield "cast", data
    for target in TARGETS:
        for f in sorted((FUZZ / "seeds" / target).glob("*")) if (FUZZ / "seeds" / target).is_dir() else []:
            yield target, f.read_bytes()


def main(out):
    out = pathlib.Path(out)
    shutil.rmtree(out, ignore_errors=True)
    for target in TARGETS:
        (out / target).mkdir(parents=True)
    for target, data in seeds():
        # Named by content, as libFuzzer names what it finds.
        (out / target / hashlib.sha1(data).hexdigest()).write_bytes(data)
    for target in TARGETS:
        entries = [(FUZZ / "dict" / f"{d}.dict").read_text() for d in DICTS.get(target, [])]
        if target in ("line", "grammar"):
            entries.append("".join(f'"{w}"\n' for w in grammar_words() if '"' not in w and "\\" not in w))
        (out / f"{target}.dict").write_text("".join(entries))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
