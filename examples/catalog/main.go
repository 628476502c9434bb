// Command catalog is memlens' leaking demo service: a small HTTP "catalog" whose
// (*MemoryLeaker).OnRequest keeps a buffer for every request it serves and never lets go,
// with net/http/pprof mounted so memlens can fetch its heap profile.
//
//	catalog [serve] [-host 127.0.0.1] [-port 8080] [-leak-kib 24] [-leak-after 0s] [-cache-mib 0] [-heap-faults]
//	catalog load -url http://127.0.0.1:8080/products [-rps 50]
//
// The port also comes from $PORT, the per-request leak from $LEAK_KIB. It listens on
// 127.0.0.1 by default: on memlens' local cluster pods use the host network.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "load") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args)
	case "load":
		err = load(args)
	}
	if err != nil {
		log.Fatalf("catalog %s: %v", cmd, err)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// MemoryLeaker is the bug: it keeps a copy of every request "for auditing", forever.
type MemoryLeaker struct {
	mu       sync.Mutex
	size     int
	retained [][]byte
	bytes    atomic.Int64
}

// OnRequest records a request. Each call retains size bytes that nothing ever frees.
//
//go:noinline
func (m *MemoryLeaker) OnRequest(r *http.Request) {
	buf := make([]byte, m.size)
	// Write every page: untouched pages would cost the process no memory.
	seed := byte(len(r.URL.Path) + len(r.RemoteAddr))
	for i := range buf {
		buf[i] = seed + byte(i)
	}
	m.mu.Lock()
	m.retained = append(m.retained, buf)
	m.mu.Unlock()
	m.bytes.Add(int64(len(buf)))
}

// warmCache fills a cache of size bytes at start, every page written: memory in use from the
// first second, which grows no further (the leak is OnRequest's).
//
//go:noinline
func warmCache(size int) []byte {
	cache := make([]byte, size)
	for i := range cache {
		cache[i] = byte(i)
	}
	return cache
}

type product struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Price float64  `json:"price"`
	Tags  []string `json:"tags"`
}

// listProducts is the request's real work: short-lived garbage, no leak.
func listProducts(n int) []product {
	out := make([]product, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, product{
			ID:    i,
			Name:  fmt.Sprintf("product-%04d", i),
			Price: float64(i%97) + 0.99,
			Tags:  []string{"catalog", strconv.Itoa(i % 7)},
		})
	}
	return out
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	host := fs.String("host", "127.0.0.1", "address to listen on")
	port := fs.Int("port", envInt("PORT", 8080), "port to listen on (env PORT)")
	leakKiB := fs.Int("leak-kib", envInt("LEAK_KIB", 24), "KiB retained per /products request (env LEAK_KIB)")
	cacheMiB := fs.Int("cache-mib", 0, "MiB of cache filled at start and kept, as a warm service holds")
	leakAfter := fs.Duration("leak-after", 0, "serve this long without leaking first (a healthy start)")
	heapFaults := fs.Bool("heap-faults", false, "serve /debug/faults?heap=ok|slow|huge|gone, which breaks the heap profile endpoint on demand (for tests)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	started := time.Now()
	cache := warmCache(*cacheMiB << 20)
	defer runtime.KeepAlive(cache)
	leaker := &MemoryLeaker{size: *leakKiB << 10}
	var served atomic.Int64

	mux := http.NewServeMux()
	mux.HandleFunc("/products", func(w http.ResponseWriter, r *http.Request) {
		if time.Since(started) >= *leakAfter {
			leaker.OnRequest(r)
		}
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(listProducts(50))
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if *heapFaults {
		faults := &heapFaultsHandler{heap: pprof.Handler("heap")}
		mux.Handle("/debug/pprof/heap", faults)
		mux.HandleFunc("/debug/faults", faults.set)
	}

	addr := net.JoinHostPort(*host, strconv.Itoa(*port))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				log.Printf("served %d requests, retaining %d MiB", served.Load(), leaker.bytes.Load()>>20)
			}
		}
	}()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("listening on %s, leaking %d KiB per request", addr, *leakKiB)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// heapFaultsHandler serves the heap profile as it is told: ok, slow (after a minute), huge
// (128 MiB that never form a profile) or gone (404).
type heapFaultsHandler struct {
	heap http.Handler
	mode atomic.Value
}

func (h *heapFaultsHandler) set(w http.ResponseWriter, r *http.Request) {
	mode := r.URL.Query().Get("heap")
	switch mode {
	case "ok", "slow", "huge", "gone":
		h.mode.Store(mode)
		log.Printf("heap profile endpoint: %s", mode)
		fmt.Fprintln(w, mode)
	default:
		http.Error(w, "heap must be ok, slow, huge or gone", http.StatusBadRequest)
	}
}

func (h *heapFaultsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mode, _ := h.mode.Load().(string)
	switch mode {
	case "slow":
		select {
		case <-time.After(time.Minute):
		case <-r.Context().Done():
			return
		}
	case "huge":
		w.Header().Set("Content-Type", "application/octet-stream")
		chunk := make([]byte, 1<<20)
		for i := 0; i < 128; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		return
	case "gone":
		http.NotFound(w, r)
		return
	}
	h.heap.ServeHTTP(w, r)
}

// load sends GET requests to url at a steady rate until stopped; failures (the service
// restarting after an OOM kill) are counted and logged, never fatal.
func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080/products", "URL to request")
	rps := fs.Float64("rps", 50, "requests per second")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rps <= 0 {
		return fmt.Errorf("-rps must be positive, got %v", *rps)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client := &http.Client{Timeout: 5 * time.Second}
	var ok, failed atomic.Int64
	sem := make(chan struct{}, 64) // at most this many requests in flight
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rps))
	defer tick.Stop()
	report := time.NewTicker(15 * time.Second)
	defer report.Stop()
	log.Printf("sending %v requests/s to %s", *rps, *url)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-report.C:
			log.Printf("%d ok, %d failed", ok.Load(), failed.Load())
		case <-tick.C:
			select {
			case sem <- struct{}{}:
			default:
				failed.Add(1)
				continue
			}
			go func() {
				defer func() { <-sem }()
				resp, err := client.Get(*url)
				if err != nil {
					failed.Add(1)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}()
		}
	}
}
