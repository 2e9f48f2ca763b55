# Breaks the security layers on purpose, one mutation at a time, and checks the security suite
# notices each one (run: python3 scripts/security-mutations.py [N ...]). Each file is restored.
import subprocess, sys
muts = [
 ('src/layers/ownership.ts', "return claimed !== undefined && constantTimeEqual(mine, claimed);", "return true;"),
 ('src/layers/ttl.ts', "const expiresAt = Math.min(options.expiresAt, sealed.meta.absoluteAt);", "const expiresAt = options.expiresAt;"),
 ('src/layers/ownership.ts', "(await this.ctx.revocations.notBefore(sealed.meta.subject)) > sealed.meta.createdAt", "false"),
 ('src/tokens/jws.ts', "if (!constantTimeEqual(expected, base64urlDecode(s)!))", "if (false)"),
 ('src/tokens/jws.ts', "header.typ !== options.typ ||", ""),
 ('src/tokens/jws.ts', "if (s.length !== SIG_LENGTH || !isCanonicalBase64url(h) || !isCanonicalBase64url(p) || !isCanonicalBase64url(s)) {", "if (false) {"),
 ('src/layers/ttl.ts', "expiresAt: Math.min(sealed.meta.expiresAt, sealed.meta.absoluteAt) };", "expiresAt: rec.expiresAt };"),
 ('src/layers/ownership.ts', "if (!this.isMine(existing)) this.mismatch('save', id);", ""),
]
only = [int(a) for a in sys.argv[1:]]
for n,(f,a,b) in enumerate(muts):
    if only and n not in only: continue
    s=open(f).read()
    assert a in s, (n,a)
    open(f,'w').write(s.replace(a,b,1))
    r=subprocess.run(['npx','vitest','run','test/contract/secure.test.ts'],capture_output=True,text=True)
    open(f,'w').write(s)
    line=[l for l in r.stdout.splitlines() if 'Tests' in l]
    print(n, 'KILLED' if r.returncode!=0 else 'SURVIVED', line[-1] if line else r.stdout[-300:])
