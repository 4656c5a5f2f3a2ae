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
		return nil, fmt.Errorf("fakesigstore: Rekor key: %w", err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("fakesigstore: Rekor key: %w", err)
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

// appendLeaf adds a leaf and returns its index in the tree, the tree size
// right after it, the inclusion proof of the leaf in that tree and the root.
// The new leaf is the last one, so its audit path is the roots of the
// perfect subtrees to its left, smallest first.
func (l *rekorLog) appendLeaf(leaf [32]byte) (index, treeSize uint64, proof [][32]byte, root [32]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	index = l.size
	proof = make([][32]byte, 0, bits.OnesCount64(index))
	root = leaf
	for level := range 64 {
		if index&(1<<level) != 0 {
			proof = append(proof, l.frontier[level])
			root = hashChildren(l.frontier[level], root)
		}
	}
	// Add the leaf to the frontier: merge equal-sized subtrees, like a
	// binary increment.
	carry := leaf
	level := 0
	for ; index&(1<<level) != 0; level++ {
		carry = hashChildren(l.frontier[level], carry)
		l.frontier[level] = [32]byte{}
	}
	l.frontier[level] = carry
	l.size++
	return index, l.size, proof, root
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

// log appends a canonicalized entry body at integratedTime (Unix seconds)
// and returns the bundle's tlog entry: SET over the log-wide index, and an
// inclusion proof against a signed checkpoint of the tree right after it.
func (l *rekorLog) log(kv kindVersion, body []byte, integratedTime int64) (tlogEntry, error) {
	index, treeSize, proof, root := l.appendLeaf(hashLeaf(body))
	logIndex := index + l.shardOffset
	b64Body := base64.StdEncoding.EncodeToString(body)

	// The SET signs the RFC 8785 canonical JSON of these four fields; the
	// keys below are already in canonical order and no value needs escaping.
	var set []byte
	set = append(set, `{"body":"`...)
	set = append(set, b64Body...)
	set = append(set, `","integratedTime":`...)
	set = strconv.AppendInt(set, integratedTime, 10)
	set = append(set, `,"logID":"`...)
	set = append(set, l.logIDHex...)
	set = append(set, `","logIndex":`...)
	set = strconv.AppendUint(set, logIndex, 10)
	set = append(set, '}')
	setSig, err := l.sign(set)
	if err != nil {
		return tlogEntry{}, err
	}

	b64Root := base64.StdEncoding.EncodeToString(root[:])
	note := l.origin + "\n" + strconv.FormatUint(treeSize, 10) + "\n" + b64Root + "\n"
	noteSig, err := l.sign([]byte(note))
	if err != nil {
		return tlogEntry{}, err
	}
	envelope := note + "\n\u2014 " + l.host + " " +
		base64.StdEncoding.EncodeToString(append(l.hint[:], noteSig...)) + "\n"

	hashes := make([]string, len(proof))
	for i, h := range proof {
		hashes[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return tlogEntry{
		LogIndex:          strconv.FormatUint(logIndex, 10),
		LogID:             logID{KeyID: base64.StdEncoding.EncodeToString(l.logID[:])},
		KindVersion:       kv,
		IntegratedTime:    strconv.FormatInt(integratedTime, 10),
		InclusionPromise:  &inclusionPromise{SignedEntryTimestamp: base64.StdEncoding.EncodeToString(setSig)},
		InclusionProof:    &inclusionProof{LogIndex: strconv.FormatUint(index, 10), RootHash: b64Root, TreeSize: strconv.FormatUint(treeSize, 10), Hashes: hashes, Checkpoint: checkpoint{Envelope: envelope}},
		CanonicalizedBody: b64Body,
	}, nil
}

func (l *rekorLog) sign(msg []byte) ([]byte, error) {
	digest := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, l.key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("fakesigstore: Rekor signature: %w", err)
	}
	return sig, nil
}
