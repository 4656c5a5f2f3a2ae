package fakesigstore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"sync"
)

// rekorLog is a fake Rekor v1 log: one shard holding an RFC 6962 Merkle
// tree, signing SETs and checkpoints with an ECDSA P-256 key.
type rekorLog struct {
	key      *ecdsa.PrivateKey
	spki     []byte
	logID    [32]byte
	logIDHex string
	hint     [4]byte // first bytes of logID: the checkpoint key hint
	origin   string  // checkpoint origin: "<host> - <tree id>"
	host     string  // name on the checkpoint signature line
	// shardOffset turns an index in this shard's tree into the log-wide
	// ("virtual") index that Rekor returns as logIndex and signs in SETs.
	shardOffset uint64

	mu       sync.Mutex
	size     uint64     // leaves in the tree, including the pre-existing ones
	frontier [][32]byte // frontier[l]: root of the perfect subtree of 2^l leaves, when bit l of size is set
}

// Pre-existing entries, so that indexes and proofs look like those of a log
// that has been running for years.
const (
	initialTreeSize = 87_041_579
	shardOffset     = 4_163_431
)

func newRekorLog() (*rekorLog, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: Rekor key: %w", ErrGenerate, err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: Rekor key: %w", ErrGenerate, err)
	}
	var treeID [8]byte
	_, _ = rand.Read(treeID[:]) // crypto/rand.Read never fails
	host := strings.TrimPrefix(RekorURL, "https://")
	l := &rekorLog{
		key:         key,
		spki:        spki,
		logID:       sha256.Sum256(spki),
		host:        host,
		origin:      host + " - " + strconv.FormatUint(binary.BigEndian.Uint64(treeID[:])>>1, 10),
		shardOffset: shardOffset,
		size:        initialTreeSize,
		frontier:    make([][32]byte, 64),
	}
	l.logIDHex = hex.EncodeToString(l.logID[:])
	copy(l.hint[:], l.logID[:4])
	// The subtrees of the entries logged before us: we cannot know their
	// leaves, so their hashes are random, as they look to any verifier.
	for level := range 64 {
		if initialTreeSize&(1<<level) != 0 {
			_, _ = rand.Read(l.frontier[level][:])
		}
	}
	return l, nil
}

// hashLeaf and hashChildren are the RFC 6962 hashes.
func hashLeaf(data []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func hashChildren(left, right [32]byte) [32]byte {
	var buf [65]byte
	buf[0] = 1
	copy(buf[1:], left[:])
	copy(buf[33:], right[:])
	return sha256.Sum256(buf[:])
}

// appendLeaves adds leaves to the log and returns the index of the first,
// the tree size right after the last, the inclusion proof of each leaf in
// that tree, and its root.
func (l *rekorLog) appendLeaves(leaves [][32]byte) (first, treeSize uint64, proofs [][][32]byte, root [32]byte) {
	l.mu.Lock()
	v := treeView{old: l.size, segments: map[uint64]segment{}, leaves: leaves}
	// The perfect subtrees that make up the tree before the new leaves,
	// largest (leftmost) first.
	var start uint64
	for level := 63; level >= 0; level-- {
		if l.size&(1<<level) != 0 {
			v.segments[start] = segment{size: 1 << level, hash: l.frontier[level]}
			start += 1 << level
		}
	}
	for _, leaf := range leaves {
		// Merge equal-sized subtrees, like a binary increment.
		carry := leaf
		level := 0
		for ; l.size&(1<<level) != 0; level++ {
			carry = hashChildren(l.frontier[level], carry)
			l.frontier[level] = [32]byte{}
		}
		l.frontier[level] = carry
		l.size++
	}
	treeSize = l.size
	l.mu.Unlock()

	proofs = make([][][32]byte, len(leaves))
	for i := range leaves {
		proofs[i] = v.path(v.old+uint64(i), 0, treeSize)
	}
	return v.old, treeSize, proofs, v.hash(0, treeSize)
}

// segment is a perfect subtree of the log before a batch.
type segment struct {
	size uint64
	hash [32]byte
}

// treeView computes RFC 6962 hashes and audit paths over a tree made of
// known perfect subtrees (everything before index old) followed by new
// leaves. Every range the RFC 6962 recursion visits either starts in the new
// leaves or starts at a segment and is that segment, or holds it and more,
// so it splits at a segment boundary or in the new leaves.
type treeView struct {
	old      uint64
	segments map[uint64]segment // by start index
	leaves   [][32]byte         // leaf hashes from index old on
}

// largestPowerOf2Below returns the largest power of two less than n (n >= 2).
func largestPowerOf2Below(n uint64) uint64 { return 1 << (bits.Len64(n-1) - 1) }

// hash is MTH(D[lo:hi]) of RFC 6962 section 2.1.
func (v *treeView) hash(lo, hi uint64) [32]byte {
	if lo >= v.old && hi-lo == 1 {
		return v.leaves[lo-v.old]
	}
	if s, ok := v.segments[lo]; ok && s.size == hi-lo {
		return s.hash
	}
	if hi-lo < 2 {
		panic(fmt.Sprintf("fakesigstore: Merkle range [%d,%d) is neither a leaf nor a known subtree", lo, hi))
	}
	k := largestPowerOf2Below(hi - lo)
	return hashChildren(v.hash(lo, lo+k), v.hash(lo+k, hi))
}

// path is PATH(m, D[lo:hi]) of RFC 6962 section 2.1.1: the audit path of
// leaf m, lowest level first.
func (v *treeView) path(m, lo, hi uint64) [][32]byte {
	if hi-lo <= 1 {
		return nil
	}
	k := largestPowerOf2Below(hi - lo)
	if m < lo+k {
		return append(v.path(m, lo, lo+k), v.hash(lo+k, hi))
	}
	return append(v.path(m, lo+k, hi), v.hash(lo, lo+k))
}

// tlogEntry is a transparency log entry in the bundle's JSON form.
type tlogEntry struct {
	LogIndex          string            `json:"logIndex"`
	LogID             logID             `json:"logId"`
	KindVersion       kindVersion       `json:"kindVersion"`
	IntegratedTime    string            `json:"integratedTime"`
	InclusionPromise  *inclusionPromise `json:"inclusionPromise"`
	InclusionProof    *inclusionProof   `json:"inclusionProof"`
	CanonicalizedBody string            `json:"canonicalizedBody"`
}

type logID struct {
	KeyID string `json:"keyId"`
}

type kindVersion struct {
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

type inclusionPromise struct {
	SignedEntryTimestamp string `json:"signedEntryTimestamp"`
}

type inclusionProof struct {
	LogIndex   string     `json:"logIndex"`
	RootHash   string     `json:"rootHash"`
	TreeSize   string     `json:"treeSize"`
	Hashes     []string   `json:"hashes"`
	Checkpoint checkpoint `json:"checkpoint"`
}

type checkpoint struct {
	Envelope string `json:"envelope"`
}

// logRequest is one entry to log: its canonicalized body and integrated time
// (Unix seconds).
type logRequest struct {
	kv             kindVersion
	body           []byte
	integratedTime int64
}

// log appends entries, in order, and returns their bundle tlog entries: each
// with a SET over its log-wide index, and an inclusion proof against one
// signed checkpoint of the tree right after the last of them (as Rekor
// returns when asked once all are logged).
func (l *rekorLog) log(reqs ...logRequest) ([]tlogEntry, error) {
	leaves := make([][32]byte, len(reqs))
	for i, r := range reqs {
		leaves[i] = hashLeaf(r.body)
	}
	first, treeSize, proofs, root := l.appendLeaves(leaves)

	b64Root := base64.StdEncoding.EncodeToString(root[:])
	note := l.origin + "\n" + strconv.FormatUint(treeSize, 10) + "\n" + b64Root + "\n"
	noteSig, err := l.sign([]byte(note))
	if err != nil {
		return nil, err
	}
	envelope := note + "\n\u2014 " + l.host + " " +
		base64.StdEncoding.EncodeToString(append(l.hint[:], noteSig...)) + "\n"
	size := strconv.FormatUint(treeSize, 10)

	out := make([]tlogEntry, len(reqs))
	for i, r := range reqs {
		index := first + uint64(i)
		logIndex := index + l.shardOffset
		b64Body := base64.StdEncoding.EncodeToString(r.body)
		// The SET signs the RFC 8785 canonical JSON of these four fields;
		// the keys are already in canonical order and no value needs
		// escaping.
		var set []byte
		set = append(set, `{"body":"`...)
		set = append(set, b64Body...)
		set = append(set, `","integratedTime":`...)
		set = strconv.AppendInt(set, r.integratedTime, 10)
		set = append(set, `,"logID":"`...)
		set = append(set, l.logIDHex...)
		set = append(set, `","logIndex":`...)
		set = strconv.AppendUint(set, logIndex, 10)
		set = append(set, '}')
		setSig, err := l.sign(set)
		if err != nil {
			return nil, err
		}
		hashes := make([]string, len(proofs[i]))
		for j, h := range proofs[i] {
			hashes[j] = base64.StdEncoding.EncodeToString(h[:])
		}
		out[i] = tlogEntry{
			LogIndex:         strconv.FormatUint(logIndex, 10),
			LogID:            logID{KeyID: base64.StdEncoding.EncodeToString(l.logID[:])},
			KindVersion:      r.kv,
			IntegratedTime:   strconv.FormatInt(r.integratedTime, 10),
			InclusionPromise: &inclusionPromise{SignedEntryTimestamp: base64.StdEncoding.EncodeToString(setSig)},
			InclusionProof: &inclusionProof{
				LogIndex: strconv.FormatUint(index, 10), RootHash: b64Root, TreeSize: size,
				Hashes: hashes, Checkpoint: checkpoint{Envelope: envelope},
			},
			CanonicalizedBody: b64Body,
		}
	}
	return out, nil
}

func (l *rekorLog) sign(msg []byte) ([]byte, error) {
	digest := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, l.key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("%w: Rekor signature: %w", ErrGenerate, err)
	}
	return sig, nil
}
