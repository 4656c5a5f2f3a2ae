package rig

import (
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/provaudit/provaudit/verify"
)

// Predicate types of the two bundles of an npm attestations response.
const (
	predicatePublish = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"
)

// ServedFloor measures the floor on the bundles this registry serves: the
// same bare sigstore-go loop as the verify package's floor benchmarks
// (verifier built once with the same requirements, per bundle only the
// parse and Verify with the artifact digest), over the attestations of up
// to sample attested packages, each verified rounds times, on one
// goroutine. It returns the process CPU time per provenance and per
// publish bundle; run it while the registry is idle, as nothing else in the
// process may use CPU meanwhile.
func (s *Served) ServedFloor(ctx context.Context, sample, rounds int) (provenance, publish time.Duration, err error) {
	var ids []string
	for id, att := range s.attested {
		if att {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(ids) == 0 || sample < 1 || rounds < 1 {
		return 0, 0, fmt.Errorf("%w: nothing to measure (%d attested packages, sample %d, rounds %d)", ErrOptions, len(ids), sample, rounds)
	}
	ids = ids[:min(sample, len(ids))]
	var pairs []*servedBundles
	for _, id := range ids {
		at := strings.LastIndex(id, "@")
		p, err := s.fetchBundles(ctx, id[:at], id[at+1:])
		if err != nil {
			return 0, 0, err
		}
		pairs = append(pairs, p)
	}

	tr, err := root.NewTrustedRootFromJSON(s.TrustedRoot)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: trusted root: %w", ErrServe, err)
	}
	keys, err := verify.ParseNpmKeys(s.NpmKeys)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: npm keys: %w", ErrServe, err)
	}
	m := map[string]*root.ExpiringKey{}
	for _, k := range keys {
		sv, err := signature.LoadECDSAVerifier(k.Public, crypto.SHA256)
		if err != nil {
			return 0, 0, fmt.Errorf("%w: npm key %s: %w", ErrServe, k.KeyID, err)
		}
		m[k.KeyID] = root.NewExpiringKey(sv, k.Start, k.End)
	}
	provV, err := sgverify.NewVerifier(tr, sgverify.WithSignedCertificateTimestamps(1), sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrServe, err)
	}
	pubV, err := sgverify.NewVerifier(root.TrustedMaterialCollection{tr, root.NewTrustedPublicKeyMaterialFromMapping(m)},
		sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrServe, err)
	}
	run := func(v *sgverify.Verifier, raw func(*servedBundles) []byte, opt sgverify.PolicyOption) (time.Duration, error) {
		start := SelfCPU()
		for range rounds {
			for _, p := range pairs {
				var b bundle.Bundle
				if err := b.UnmarshalJSON(raw(p)); err != nil {
					return 0, fmt.Errorf("%w: bundle: %w", ErrServe, err)
				}
				if _, err := v.Verify(&b, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", p.digest), opt)); err != nil {
					return 0, fmt.Errorf("%w: a served bundle does not verify: %w", ErrServe, err)
				}
			}
		}
		return (SelfCPU() - start) / time.Duration(rounds*len(pairs)), nil
	}
	if provenance, err = run(provV, func(p *servedBundles) []byte { return p.provenance }, sgverify.WithoutIdentitiesUnsafe()); err != nil {
		return 0, 0, err
	}
	if publish, err = run(pubV, func(p *servedBundles) []byte { return p.publish }, sgverify.WithKey()); err != nil {
		return 0, 0, err
	}
	return provenance, publish, nil
}

type servedBundles struct {
	digest              []byte // sha512 of the served integrity
	provenance, publish []byte
}

// fetchBundles gets the attestations of name@version from the registry.
func (s *Served) fetchBundles(ctx context.Context, name, version string) (*servedBundles, error) {
	u := s.Registry.URL() + "-/npm/v1/attestations/" + strings.Replace(name, "/", "%2f", 1) + "@" + version
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrServe, err)
	}
	resp, err := s.Registry.Client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: attestations of %s@%s: %w", ErrServe, name, version, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: attestations of %s@%s: status %d: %v", ErrServe, name, version, resp.StatusCode, err)
	}
	var doc struct {
		Attestations []struct {
			PredicateType string          `json:"predicateType"`
			Bundle        json.RawMessage `json:"bundle"`
		} `json:"attestations"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: attestations of %s@%s: %w", ErrServe, name, version, err)
	}
	out := &servedBundles{}
	for _, a := range doc.Attestations {
		if a.PredicateType == predicatePublish {
			out.publish = a.Bundle
		} else {
			out.provenance = a.Bundle
		}
	}
	if out.publish == nil || out.provenance == nil {
		return nil, fmt.Errorf("%w: attestations of %s@%s: want a publish and a provenance bundle", ErrServe, name, version)
	}
	// The subject digest is the sha512 of the integrity the registry serves,
	// which is the lockfile's for generated data: read it from the publish
	// statement rather than assume it.
	var b bundle.Bundle
	if err := b.UnmarshalJSON(out.publish); err != nil {
		return nil, fmt.Errorf("%w: publish bundle of %s@%s: %w", ErrServe, name, version, err)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, fmt.Errorf("%w: publish bundle of %s@%s has no DSSE envelope", ErrServe, name, version)
	}
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(env.GetPayload(), &st); err != nil || len(st.Subject) == 0 || st.Subject[0].Digest["sha512"] == "" {
		return nil, fmt.Errorf("%w: publish statement of %s@%s has no sha512 subject", ErrServe, name, version)
	}
	if out.digest, err = hex.DecodeString(st.Subject[0].Digest["sha512"]); err != nil || len(out.digest) != 64 {
		return nil, fmt.Errorf("%w: publish statement of %s@%s: bad sha512 subject digest", ErrServe, name, version)
	}
	return out, nil
}
