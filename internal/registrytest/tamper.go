package registrytest

import (
	"fmt"
	"net/http"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

// TamperAttestations makes the registry serve the attestations of
// name@version with attestation which (0: the publish attestation, 1: the
// SLSA provenance) altered as fakesigstore.TamperAttestation alters it.
// ClearFaults, or Handle with a nil handler, undoes it. It fails for a
// version served without attestations.
func (r *Registry) TamperAttestations(name, version string, which int, part fakesigstore.Part) error {
	var body []byte
	r.mu.RLock()
	if p := r.pkgs[name]; p != nil {
		if v := p.versions[version]; v != nil {
			body = v.attestations
		}
	}
	r.mu.RUnlock()
	if body == nil {
		return fmt.Errorf("%w: %s@%s is served without attestations", ErrInvalidPackage, name, version)
	}
	tampered, err := fakesigstore.TamperAttestation(body, which, part)
	if err != nil {
		return err
	}
	r.Handle("/-/npm/v1/attestations/"+name+"@"+version, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, "application/json", tampered)
	})
	return nil
}
