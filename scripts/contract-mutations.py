# Breaks the contract on purpose, one mutation at a time, and checks the compliance suite
# notices each one (run: python3 scripts/contract-mutations.py [N ...]). Each file is restored.
import subprocess, sys
muts = [
 ('src/contract/base.ts', "if (rec.expiresAt <= this.now()) throw new ExpiredError();", "if (rec.expiresAt <= this.now()) throw new NotFoundError();"),
 ('src/backends/memory.ts', "if (options.ifVersion !== undefined && current?.version !== options.ifVersion) throw new ConflictError();", ""),
 ('src/contract/version.ts', "return base64urlEncode(random(16));", "return 'v1';"),
 ('src/contract/base.ts', "await this.queue.run(id, () => this.deleteRecord(id));", "if (!(await this.deleteRecord(id))) throw new NotFoundError();"),
 ('src/contract/base.ts', "return this.queue.run(id, () => compareAndSwap", "return (async () => compareAndSwap"),
 ('src/backends/memory.ts', "if (e !== undefined && e.expiresAt > now) ids.push(id);", "if (e !== undefined) ids.push(id);"),
 ('src/backends/memory.ts', "return expired.length;", "return 0;"),
 ('src/contract/validate.ts', "return Math.ceil(ttlMs);", "return Math.floor(ttlMs);"),
 ('src/contract/validate.ts', "return { ...current, ...partial };", "return Object.assign(current, partial);"),
 ('src/backends/memory.ts', "if (options.ifAbsent === true && current !== undefined)", "if (options.ifAbsent === true && current !== undefined && current.expiresAt > this.now())"),
 ('src/contract/base.ts', "await this.mutate(id, (rec) => ({ value: rec.value, expiresAt: this.now() + ttl }));", "await this.mutate(id, (rec) => ({ value: rec.value, expiresAt: Math.max(rec.expiresAt, this.now() + ttl) }));"),
 ('src/backends/memory.ts', "bytes = value.slice();", "bytes = value;"),
 ('src/backends/memory.ts', "let i = after === undefined ? 0 : upperBound(this.sorted, after);", "let i = after === undefined ? 0 : Math.max(0, upperBound(this.sorted, after) - 1);"),
]
only = [int(a) for a in sys.argv[1:]]
for n,(f,a,b) in enumerate(muts):
    if only and n not in only: continue
    s=open(f).read()
    assert a in s, (n,a)
    open(f,'w').write(s.replace(a,b,1))
    r=subprocess.run(['npx','vitest','run','test/contract/memory.test.ts'],capture_output=True,text=True)
    open(f,'w').write(s)
    out=r.stdout
    line=[l for l in out.splitlines() if 'Tests' in l]
    print(n, 'KILLED' if r.returncode!=0 else 'SURVIVED', line[-1] if line else out[-300:])
