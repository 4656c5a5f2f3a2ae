package audit

// Phase names the stage of the pipeline an [Event] reports on.
type Phase string

// Pipeline phases, in order.
const (
	// PhaseKeys: the registries' signing keys are being fetched.
	PhaseKeys Phase = "keys"
	// PhaseFetch: one package's registry data has been fetched (or failed).
	PhaseFetch Phase = "fetch"
	// PhaseVerify: one package has its final result.
	PhaseVerify Phase = "verify"
)

// Event reports progress. Done counts packages that reached Phase out of
// Total packages that will; Package is the name@version just finished.
type Event struct {
	Phase   Phase
	Done    int
	Total   int
	Package string
}
