// npmverify.js verifies Sigstore bundles with the sigstore-js libraries that
// npm itself bundles, the way pacote does for `npm audit signatures`
// (publish bundles with the registry key named by the keyid, provenance with
// the certificate), but with a given trusted root instead of TUF.
//
// Usage: node npmverify.js NPM_NODE_MODULES < request.json
// request: {"trustedRoot": {...}, "keys": {"KEYID": "base64 SPKI"}, "bundles": [{...}]}
// Prints one JSON line: [{"ok": true} | {"ok": false, "error": "..."}] in bundle order.
'use strict'
const path = require('path')
const nm = process.argv[2]
const req = (m) => require(path.join(nm, m))
const { TrustedRoot } = req('@sigstore/protobuf-specs')
const { bundleFromJSON } = req('@sigstore/bundle')
const { crypto } = req('@sigstore/core')
const { Verifier, toTrustMaterial, toSignedEntity } = req('@sigstore/verify')

let input = ''
process.stdin.on('data', (d) => { input += d })
process.stdin.on('end', () => {
  const request = JSON.parse(input)
  const keys = request.keys || {}
  const keyFinder = (hint) => {
    if (!keys[hint]) {
      throw new Error(`key not found: ${hint}`)
    }
    const pem = `-----BEGIN PUBLIC KEY-----\n${keys[hint]}\n-----END PUBLIC KEY-----`
    return { publicKey: crypto.createPublicKey(pem), validFor: () => true }
  }
  const trust = toTrustMaterial(TrustedRoot.fromJSON(request.trustedRoot), keyFinder)
  const verifier = new Verifier(trust, {})
  const results = request.bundles.map((b) => {
    try {
      verifier.verify(toSignedEntity(bundleFromJSON(b)))
      return { ok: true }
    } catch (e) {
      return { ok: false, error: `${e.code || e.name}: ${e.message}` }
    }
  })
  process.stdout.write(JSON.stringify(results) + '\n')
})
