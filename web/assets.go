package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"time"
)

// The page's stylesheet and script are embedded: the binary is the whole
// gateway, and nothing is built at install time.
//
//go:embed static
var staticFiles embed.FS

// asset is an embedded file with its content's hash, which its URL
// carries: a new binary's files are never taken from an old cache.
type asset struct {
	data []byte
	hash string
	typ  string
}

var assets = func() map[string]asset {
	out := map[string]asset{}
	entries, err := fs.ReadDir(staticFiles, "static")
	if err != nil {
		panic(err) // the embed is part of the build
	}
	for _, e := range entries {
		b, err := staticFiles.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = asset{data: b, hash: hex.EncodeToString(sum[:6]), typ: mime.TypeByExtension(path.Ext(e.Name()))}
	}
	return out
}()

func assetURL(name string) string {
	return "/static/" + name + "?v=" + assets[name].hash
}

// AssetSize returns the size of an embedded file, for the page weight.
func AssetSize(name string) int { return len(assets[name].data) }

func serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == a.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("Content-Type", a.typ)
	w.Header().Set("ETag", `"`+a.hash+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
}
