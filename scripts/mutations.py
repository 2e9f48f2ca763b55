# Breaks the code on purpose, one mutation at a time, and checks that the suites notice each one.
# Each file is restored afterwards. Run: python3 scripts/mutations.py contract|security [N ...]
#   contract: mutations of MemoryStore and the contract, against the compliance suite
#   security: mutations of the security layers, against the security suite (secure.test.ts)
import subprocess, sys

CONTRACT = [
 ('src/contract/versioned-store.ts', "if (rec.expiresAt <= this.now()) throw new ExpiredError();", "if (rec.expiresAt <= this.now()) throw new NotFoundError();"),
 ('src/backends/memory.ts', "if (options.ifVersion !== undefined && current?.version !== options.ifVersion) throw new ConflictError();", ""),
 ('src/contract/version.ts', "return base64urlEncode(drawRandom(random, 16));", "return 'v1';"),
 ('src/contract/versioned-store.ts', "await this.queue.run(id, () => this.deleteRecord(id));", "if (!(await this.deleteRecord(id))) throw new NotFoundError();"),
 ('src/contract/versioned-store.ts', "return this.queue.run(id, () => compareAndSwap", "return (async () => compareAndSwap"),
 ('src/backends/memory.ts', "if (e !== undefined && e.expiresAt > now) ids.push(id);", "if (e !== undefined) ids.push(id);"),
 ('src/backends/memory.ts', "return expired.length;", "return 0;"),
 ('src/contract/validate.ts', "return Math.ceil(ttlMs);", "return Math.floor(ttlMs);"),
 ('src/contract/validate.ts', "return { ...current, ...partial };", "return Object.assign(current, partial);"),
 ('src/backends/memory.ts', "if (options.ifAbsent === true && current !== undefined)", "if (options.ifAbsent === true && current !== undefined && current.expiresAt > this.now())"),
 ('src/contract/versioned-store.ts', "await this.mutate(id, (rec) => ({ value: rec.value, expiresAt: this.now() + ttl }));", "await this.mutate(id, (rec) => ({ value: rec.value, expiresAt: Math.max(rec.expiresAt, this.now() + ttl) }));"),
 ('src/backends/memory.ts', "const bytes = given?.slice();", "const bytes = given;"),
 ('src/backends/memory.ts', "let i = after === undefined ? 0 : upperBound(this.sorted, after);", "let i = after === undefined ? 0 : Math.max(0, upperBound(this.sorted, after) - 1);"),
 ('src/contract/validate.ts', "if (json.includes('\\\\u') && !validState(state, true)) refuse(state, what);", ""),
 ('src/contract/validate.ts', "return ownSymbols(value).length === 0;", "return true;"),
]

SECURITY = [
 ('src/layers/ownership.ts', "return constantTimeEqualText(mine, meta.owner);", "return true;"),
 ('src/layers/ttl-policy.ts', "return Math.min(expiresAt, meta.absoluteAt);", "return expiresAt;"),
 ('src/layers/ownership.ts', "(this.ctx.revocations.cachedNotBefore(subject) ?? (await this.ctx.revocations.notBefore(subject))) > meta.createdAt", "false"),
 ('src/tokens/jws.ts', "if (!constantTimeEqualText(base64urlEncode(expected), s))", "if (false)"),
 ('src/tokens/token.ts', "if (!constantTimeEqualText(this.ownerHashUnder(key, owner), oh))", "if (false)"),
 ('src/tokens/jws.ts', "header.typ !== options.typ ||", ""),
 ('src/tokens/jws.ts', "if (s.length !== SIG_LENGTH || (cached === undefined && !isCanonicalBase64url(h)) || !isCanonicalBase64url(p) || !isCanonicalBase64url(s)) {", "if (false) {"),
 ('src/layers/ttl-policy.ts', "return Math.min(meta.expiresAt, meta.absoluteAt);", "return meta.expiresAt;"),
 ('src/layers/ownership.ts', "if (cur !== undefined && !this.isMine(cur.sealed.meta)) this.mismatch('save', id);", ""),
 ('src/layers/ownership.ts', "{ expiresAt: now + ttl, ifVersion: known.version }", "{ expiresAt: now + ttl }"),
 ('src/layers/ownership.ts', "known.expiresAt > now && this.isMine(known.meta)", "known.expiresAt > now"),
]

SETS = {'contract': (CONTRACT, 'test/compliance/memory.test.ts'), 'security': (SECURITY, 'test/compliance/secure.test.ts')}

def main():
    if len(sys.argv) < 2 or sys.argv[1] not in SETS:
        sys.exit('usage: mutations.py contract|security [N ...]')
    muts, test = SETS[sys.argv[1]]
    only = [int(a) for a in sys.argv[2:]]
    survived = 0
    for n, (f, a, b) in enumerate(muts):
        if only and n not in only:
            continue
        s = open(f).read()
        assert a in s, (n, a)
        open(f, 'w').write(s.replace(a, b, 1))
        try:
            r = subprocess.run(['npx', 'vitest', 'run', '--project', 'unit', test], capture_output=True, text=True)
        finally:
            open(f, 'w').write(s)
        killed = r.returncode != 0
        survived += not killed
        print(n, 'KILLED' if killed else 'SURVIVED', f, '|', a[:70])
    sys.exit(1 if survived else 0)

main()
