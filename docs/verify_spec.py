"""An independent verifier written from docs/SPEC.md alone: recomputes its vectors and checks its proofs.

Needs the `blake3` package (not in the standard library).
"""
import json, re, struct, sys
from blake3 import blake3

ZERO = bytes(32)
H = lambda *parts: blake3(b"".join(parts)).digest()
u32 = lambda n: struct.pack(">I", n)
u64 = lambda n: struct.pack(">Q", n)

value_hash = lambda v: H(b"\x07", v)
entry_leaf = lambda path, vh: H(b"\x00", u32(len(path.encode())), path.encode(), vh)
node = lambda l, r: H(b"\x01", l, r)
namespace_root = lambda count, t: H(b"\x03", u64(count), t)
namespace_leaf = lambda ns, root: H(b"\x02", u32(ns), root)
ledger_root = lambda count, t: H(b"\x04", u64(count), t)

def tree_root(leaves):
    level = list(leaves)
    if not level:
        return ZERO
    while len(level) > 1:
        level = [node(level[i], level[min(i + 1, len(level) - 1)]) for i in range(0, len(level), 2)]
    return level[0]

def climb(h, pos, width, it, levels):
    """Goes up `levels` levels as fold does; returns (hash, position, width) or None."""
    for _ in range(levels):
        if width <= 1:
            return None
        if pos ^ 1 < width:
            s = next(it, None)
            if s is None:
                return None
        else:
            s = h
        h = node(h, s) if pos % 2 == 0 else node(s, h)
        pos //= 2
        width = (width + 1) // 2
    return h, pos, width

def finish(h, pos, width, it):
    """Climbs to the root; None unless every sibling is used."""
    levels = max(width - 1, 0).bit_length()
    top = climb(h, pos, width, it, levels)
    return top[0] if top is not None and next(it, None) is None else None

def fold(leaf, index, count, siblings):
    if index >= count:
        return None
    return finish(leaf, index, count, iter(siblings))

def fold_adjacent(left_leaf, left_siblings, right_leaf, right_siblings, i, count):
    if i + 1 >= count:
        return None
    k = 0
    while (i >> k) & 1:
        k += 1
    lit, rit = iter(left_siblings), iter(right_siblings)
    left, right = climb(left_leaf, i, count, lit, k), climb(right_leaf, i + 1, count, rit, k)
    if left is None or right is None or next(rit, None) is not None:
        return None
    (lh, p, width), (rh, _, _) = left, right
    return finish(node(lh, rh), p // 2, (width + 1) // 2, lit)

def b(x):
    return bytes.fromhex(x)

def neighbours_root(count, gap, left, right, leaf):
    """The tree root the given neighbours fold to (§7.2 path_absent step 3), ZERO for none."""
    sib = lambda p: [b(s) for s in p["siblings"]]
    if left is not None and right is not None:
        return fold_adjacent(leaf(left), sib(left), leaf(right), sib(right), gap - 1, count)
    if left is not None:
        return fold(leaf(left), gap - 1, count, sib(left))
    if right is not None:
        return fold(leaf(right), gap, count, sib(right))
    return ZERO

def verify(trusted, ns, path, value, proof):
    kind = proof["kind"]
    if (kind == "present") != (value is not None):
        return False
    if kind == "namespace_absent":
        m, gap, left, right = proof["namespace_count"], proof["gap"], proof["left"], proof["right"]
        if gap > m or (left is not None) != (gap > 0) or (right is not None) != (gap < m):
            return False
        if (left and not left["namespace"] < ns) or (right and not right["namespace"] > ns):
            return False
        t = neighbours_root(m, gap, left, right, lambda p: namespace_leaf(p["namespace"], b(p["root"])))
        return t is not None and ledger_root(m, t) == trusted
    if kind == "present":
        e = proof["entry"]
        t = fold(entry_leaf(path, value_hash(value)), e["index"], e["count"], [b(s) for s in e["siblings"]])
        if t is None:
            return False
        nsroot = namespace_root(e["count"], t)
    else:
        n, gap, left, right = proof["entry_count"], proof["gap"], proof["left"], proof["right"]
        if n < 1 or gap > n or (left is not None) != (gap > 0) or (right is not None) != (gap < n):
            return False
        key = path.encode()
        if (left and not left["path"].encode() < key) or (right and not right["path"].encode() > key):
            return False
        t = neighbours_root(n, gap, left, right, lambda p: entry_leaf(p["path"], b(p["value_hash"])))
        if t is None:
            return False
        nsroot = namespace_root(n, t)
    pos = proof["namespace"]
    t = fold(namespace_leaf(ns, nsroot), pos["index"], pos["count"], [b(s) for s in pos["siblings"]])
    return t is not None and ledger_root(pos["count"], t) == trusted

def change_set_hash(changes):
    out = [b"\x06", u64(len(changes))]
    for c in changes:
        p = c["key"]["path"].encode()
        out += [u32(c["key"]["namespace"]), u32(len(p)), p]
        out += [b"\x00"] if c["value"] is None else [b"\x01", value_hash(b(c["value"]))]
    return H(*out)

def mp(v):
    """Canonical MessagePack as §10 states it (enough for a diff proposal)."""
    if v is None:
        return b"\xc0"
    if isinstance(v, int):
        if v < 128: return bytes([v])
        for lim, code, fmt in ((1 << 8, 0xcc, ">B"), (1 << 16, 0xcd, ">H"), (1 << 32, 0xce, ">I")):
            if v < lim: return bytes([code]) + struct.pack(fmt, v)
        return b"\xcf" + u64(v)
    if isinstance(v, bytes):
        assert len(v) < 256
        return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, str):
        e = v.encode()
        return (bytes([0xa0 | len(e)]) if len(e) < 32 else b"\xd9" + bytes([len(e)])) + e
    if isinstance(v, list):
        assert len(v) < 16
        return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    assert len(v) < 16
    return bytes([0x80 | len(v)]) + b"".join(mp(k) + mp(x) for k, x in v.items())

spec = open(sys.argv[1]).read()
V = {m.group(1): json.loads(m.group(2)) for m in re.finditer(r"^```json vector:(\w+)\n(.*?)\n```", spec, re.S | re.M)}
checks = 0
def check(cond, what):
    global checks
    assert cond, what
    checks += 1

for c in V["value_hash"]:
    check(value_hash(b(c["value"])).hex() == c["hash"] and H(b(c["preimage"])).hex() == c["hash"], c)
for c in V["entry_leaf"]:
    check(entry_leaf(c["path"], value_hash(b(c["value"]))).hex() == c["leaf"], c)
for c in V["node"]:
    check(node(b(c["left"]), b(c["right"])).hex() == c["node"], c)
for c in V["namespace_root"]:
    leaves = [entry_leaf(e["path"], value_hash(b(e["value"]))) for e in c["entries"]]
    check(namespace_root(len(leaves), tree_root(leaves)).hex() == c["root"], c)
L = V["ledger"]
by_ns = {}
for ch in L["changes"]:
    by_ns.setdefault(ch["key"]["namespace"], []).append(entry_leaf(ch["key"]["path"], value_hash(b(ch["value"]))))
ns_leaves = [namespace_leaf(ns, namespace_root(len(ls), tree_root(ls))) for ns, ls in sorted(by_ns.items())]
root = ledger_root(len(ns_leaves), tree_root(ns_leaves))
check(root.hex() == L["root"], "ledger root")
check(change_set_hash(L["changes"]).hex() == L["diff_hash"], "ledger diff hash")
empty = ledger_root(0, ZERO)
check(empty.hex() == V["empty_ledger"]["root"], "empty root")
p = V["empty_ledger"]["proof"]
check(verify(empty, p["key"]["namespace"], p["key"]["path"], None, p["proof"]), "empty proof")
for p in V["proofs"]:
    value = None if p["value"] is None else b(p["value"])
    ns, path = p["key"]["namespace"], p["key"]["path"]
    check(verify(root, ns, path, value, p["proof"]), p["key"])
    check(not verify(empty, ns, path, value, p["proof"]), "wrong root")
    check(not verify(root, ns, path, b"x" if value is None else None, p["proof"]), "opposite claim")
for c in V["change_set"]:
    check(change_set_hash(c["changes"]).hex() == c["hash"], c)
parent = ZERO
for c in V["checkpoint"]:
    k = c["checkpoint"]
    check(b(k["parent"]) == parent, "chain")
    parent = H(b"\x05", u64(k["version"]), b(k["state_root"]), b(k["parent"]), b(k["diff_hash"]), u64(k["time_ms"]))
    check(parent.hex() == c["hash"], k)
D = V["diff"]["proposal"]
proposal = {"base_version": D["base_version"], "base_root": b(D["base_root"]),
            "changes": [{"key": {"namespace": c["key"]["namespace"], "path": c["key"]["path"]},
                         "value": None if c["value"] is None else b(c["value"])} for c in D["changes"]],
            "proposer": D["proposer"]}
check((b"orchestra/ledger/diff/v1:" + mp(proposal)).hex() == V["diff"]["signing_bytes"], "signing bytes")
print(f"all {checks} checks of {len(V)} vector blocks hold")
