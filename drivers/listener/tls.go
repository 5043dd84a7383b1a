package listener

import "crypto/tls"

// serverTLS is Mozilla's "intermediate" profile: TLS 1.2 and 1.3, and on
// 1.2 only the ECDHE suites with an AEAD cipher. Go's defaults still offer
// the CBC suites with SHA-1 on 1.2, which no till or terminal of this decade
// needs. TLS 1.3's suites are not configurable and all AEAD.
func serverTLS(cert *tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{*cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}
