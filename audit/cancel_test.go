package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestCancelStopsVerification: once the run is cancelled, verification
// stops picking up work: packages already fetched and waiting for a
// verifier end as error at once, with the cancellation's cause, instead of
// being verified one by one (which kept a signalled run going for seconds).
func TestCancelStopsVerification(t *testing.T) {
	s := newSetup(t, 40, 0)
	errStop := errors.New("stop signal for the test")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	res, err := Run(ctx, Options{
		Lockfile: s.lf, Config: s.cfg, Client: s.client(t, ""), Trust: s.trust,
		VerifyWorkers: 1,
		Progress: func(e Event) {
			if e.Phase == PhaseVerify {
				cancel(errStop)
			}
		},
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("Run = %v, want the cancellation's cause", err)
	}
	if res.Summary.Verified > 2 {
		t.Errorf("%d packages verified after the cancellation", res.Summary.Verified)
	}
	for _, p := range res.Packages {
		if p.Status == StatusError && !strings.Contains(p.Reason, "stop signal for the test") {
			t.Errorf("%s: %s", p.Name, p.Reason)
		}
	}
	if res.Summary.Error < 38 {
		t.Errorf("summary %+v: want the packages left as errors", res.Summary)
	}
}
