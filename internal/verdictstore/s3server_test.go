package verdictstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
)

// s3ServerEnv names the endpoint of a separately started S3-compatible
// server (.ci/run starts moto_server on 127.0.0.1 and sets it).
const s3ServerEnv = "PROVAUDIT_TEST_S3_ENDPOINT"

// TestS3Server runs the store's scenarios against a real S3-compatible
// server, each in a bucket of its own, through the Go CDK's s3:// URL with
// endpoint, region and use_path_style, as a user would configure it. It is
// skipped unless PROVAUDIT_TEST_S3_ENDPOINT names the server's endpoint
// (http://127.0.0.1:PORT), so that `go test ./...` stays hermetic.
func TestS3Server(t *testing.T) {
	endpoint := os.Getenv(s3ServerEnv)
	if endpoint == "" {
		t.Skip(s3ServerEnv + " is not set: no S3-compatible server to test against (.ci/run starts one)")
	}
	for _, c := range []struct {
		name string
		f    func(*testing.T, string)
	}{
		{"save then lookup", testSaveThenLookup},
		{"ignored records", testIgnoredRecordsWarnOnce},
		{"second run verifies nothing again", testSecondRunVerifiesNothingAgain},
		{"untrusted records verified again", testUntrustedRecordsAreVerifiedAgain},
		{"forged record for a tampered package", testForgedRecordForTamperedPackage},
	} {
		t.Run(c.name, func(t *testing.T) { c.f(t, newServerBucket(t, endpoint)) })
	}
}

// newServerBucket creates a bucket of a random name on the server at
// endpoint and returns its store URL.
func newServerBucket(t *testing.T, endpoint string) string {
	t.Helper()
	setAWSEnv(t)
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	name := "provaudit-" + hex.EncodeToString(r[:])
	url := s3URL(name, endpoint)
	b, err := blob.OpenBucket(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var client *s3.Client
	if !b.As(&client) {
		t.Fatal("the s3:// bucket is not an S3 client")
	}
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("creating bucket %s at %s: %v", name, endpoint, err)
	}
	return url
}
