package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
)

// tlsConfig loads the certificate and key of `serve --tls-cert --tls-key`:
// both or neither (nil: plain HTTP). The files are read once, at start, so
// a bad pair fails the start rather than the first handshake.
func tlsConfig(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// warnPlainHTTP logs a warning when the gateway serves plain HTTP beyond
// loopback: Basic credentials and replayable CloudAPI signatures would
// cross the network in clear (docs/security.md).
func warnPlainHTTP(log *slog.Logger, addr net.Addr) {
	ta, ok := addr.(*net.TCPAddr)
	if ok && ta.IP.IsLoopback() {
		return
	}
	log.Warn("serving plain HTTP beyond loopback: credentials and signatures cross the network in clear; use --tls-cert and --tls-key or a TLS proxy", "addr", addr.String())
}
