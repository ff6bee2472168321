package notify

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealPrefix marks the format of a sealed secret: AES-256-GCM, a 12-byte
// random nonce followed by the ciphertext and tag, in standard Base64.
const sealPrefix = "v1:"

// sealAAD binds a sealed secret to its use, so that a value sealed for
// something else with the same key does not open as a channel secret.
var sealAAD = []byte("wangge/notify channel secret v1")

// ErrSealed is returned by OpenSecret for a value that is not a sealed
// secret or does not open with the key (wrong key, or tampered with).
var ErrSealed = errors.New("sealed secret does not open: not v1, tampered with, or sealed with another key")

// DeriveKey turns a configured passphrase into a 32-byte key for
// SealSecret and OpenSecret: its SHA-256. The passphrase should be long
// and random (e.g. 32 bytes from a password generator); a short one makes
// the sealed secrets only as strong as it is.
func DeriveKey(passphrase string) []byte {
	k := sha256.Sum256([]byte(passphrase))
	return k[:]
}

// SealSecret encrypts plaintext with key (32 bytes) for the database:
// "v1:" and Base64 of a random nonce and the AES-256-GCM ciphertext. Each
// call gives a different text. The empty secret seals to "" (no secret).
func SealSecret(key []byte, plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal secret: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(plaintext), sealAAD)
	return sealPrefix + base64.StdEncoding.EncodeToString(out), nil
}

// OpenSecret decrypts what SealSecret returned. "" opens to "". A value
// that is not "v1:…", or that was altered or sealed with another key,
// gives an error wrapping ErrSealed; the error never quotes the value.
func OpenSecret(key []byte, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	b64, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", fmt.Errorf("%w (no %q prefix)", ErrSealed, sealPrefix)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", fmt.Errorf("%w (not base64 of nonce and ciphertext)", ErrSealed)
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], sealAAD)
	if err != nil {
		return "", ErrSealed
	}
	return string(plain), nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key: got %d bytes, want 32 (use DeriveKey)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
