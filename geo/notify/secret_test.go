package notify

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestSealSecretRoundTrip(t *testing.T) {
	key := DeriveKey("correct horse battery staple, 荷叶镇")
	for _, plain := range []string{"SECthisisatestsecret0123456789abcdef", "飞书密钥", "x", strings.Repeat("k", 4096)} {
		sealed, err := SealSecret(key, plain)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1:") || len(plain) > 4 && strings.Contains(sealed, plain) {
			t.Errorf("sealed %q: want v1: and no plaintext", sealed)
		}
		again, _ := SealSecret(key, plain)
		if again == sealed {
			t.Errorf("two seals of %q are equal: the nonce is not random", plain)
		}
		got, err := OpenSecret(key, sealed)
		if err != nil || got != plain {
			t.Errorf("OpenSecret = %q, %v; want %q", got, err, plain)
		}
	}
}

func TestSealSecretEmpty(t *testing.T) {
	key := DeriveKey("k")
	if s, err := SealSecret(key, ""); s != "" || err != nil {
		t.Errorf("SealSecret(\"\") = %q, %v", s, err)
	}
	if s, err := OpenSecret(key, ""); s != "" || err != nil {
		t.Errorf("OpenSecret(\"\") = %q, %v", s, err)
	}
}

func TestOpenSecretRefuses(t *testing.T) {
	key := DeriveKey("the right passphrase")
	sealed, err := SealSecret(key, "SECthisisatestsecret")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		return "v1:" + base64.StdEncoding.EncodeToString(b)
	}
	for _, tc := range []struct {
		name   string
		key    []byte
		sealed string
	}{
		{"wrong key", DeriveKey("another passphrase"), sealed},
		{"nonce flipped", key, flip(0)},
		{"ciphertext flipped", key, flip(13)},
		{"tag flipped", key, flip(len(raw) - 1)},
		{"truncated", key, "v1:" + base64.StdEncoding.EncodeToString(raw[:len(raw)-1])},
		{"too short", key, "v1:" + base64.StdEncoding.EncodeToString(raw[:20])},
		{"no prefix", key, strings.TrimPrefix(sealed, "v1:")},
		{"another version", key, "v2:" + strings.TrimPrefix(sealed, "v1:")},
		{"not base64", key, "v1:!!!"},
		{"plaintext stored by mistake", key, "SECthisisatestsecret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := OpenSecret(tc.key, tc.sealed)
			if !errors.Is(err, ErrSealed) || got != "" {
				t.Errorf("OpenSecret = %q, %v; want ErrSealed", got, err)
			}
			if err != nil && strings.Contains(err.Error(), "SECthisisatestsecret") {
				t.Errorf("error %q quotes the secret", err)
			}
		})
	}
	// Every single-bit change anywhere is detected.
	for i := range raw {
		if _, err := OpenSecret(key, flip(i)); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
}

func TestSecretKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := SealSecret(make([]byte, n), "x"); err == nil {
			t.Errorf("SealSecret with a %d-byte key succeeded", n)
		}
		if _, err := OpenSecret(make([]byte, n), "v1:AAAA"); err == nil {
			t.Errorf("OpenSecret with a %d-byte key succeeded", n)
		}
	}
	if len(DeriveKey("")) != 32 || string(DeriveKey("a")) == string(DeriveKey("b")) {
		t.Error("DeriveKey is not a 32-byte hash of its input")
	}
}
