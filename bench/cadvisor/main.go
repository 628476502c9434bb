// cadvisor-bench: cAdvisor's container manager, set up as the kubelet sets it up, restricted to
// one cgroup subtree and to memory metrics, run for a number of housekeeping periods; prints its
// own CPU time and RSS as JSON. The memlens side-by-side bench (bench/agent-vs-cadvisor.bench.ts)
// runs it over the same cgroups as the memlens agent.
//
//	cadvisor-bench -cgroup /sys/fs/cgroup/memory/ROOT -period 5s -periods 24
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/cadvisor/lib/cache/memory"
	"github.com/google/cadvisor/lib/container"
	"github.com/google/cadvisor/lib/manager"
	"github.com/google/cadvisor/lib/utils/sysfs"
)

// The in-memory cache's retention: the kubelet's statsCacheDuration
// (pkg/kubelet/cadvisor/cadvisor_linux.go) and the default of the cAdvisor binary's
// --storage_duration, both 2 minutes.
const defaultStorageDuration = 2 * time.Minute

type result struct {
	// cgroups under -cgroup (the root of the subtree included) that cAdvisor tracked and sampled
	Cgroups int `json:"cgroups"`
	// samples per cgroup taken in the measured window: the fewest, the mean
	MinSamples  int     `json:"minSamples"`
	MeanSamples float64 `json:"meanSamples"`
	// samples per cgroup held in the cache at the end: its retention, full
	HeldSamples float64 `json:"heldSamples"`
	WindowS     float64 `json:"windowS"`
	// CPU seconds of the whole process (every thread) in the window, from getrusage
	CPUS       float64 `json:"cpuS"`
	RSSBytes   int64   `json:"rssBytes"`
	PeakBytes  int64   `json:"peakBytes"`
	RetentionS float64 `json:"retentionS"`
}

func main() {
	cgroupDir := flag.String("cgroup", "", "the subtree to watch: a directory of the v1 memory hierarchy")
	hierarchy := flag.String("hierarchy", "/sys/fs/cgroup/memory", "the v1 memory hierarchy's mount point")
	period := flag.Duration("period", 5*time.Second, "housekeeping interval of every container")
	periods := flag.Int("periods", 24, "housekeeping periods to measure")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured periods to this file")
	flag.Parse()
	if err := run(*cgroupDir, *hierarchy, *period, *periods, *cpuProfile); err != nil {
		fmt.Fprintf(os.Stderr, "cadvisor-bench: %v\n", err)
		os.Exit(1)
	}
}

func run(cgroupDir, hierarchy string, period time.Duration, periods int, cpuProfile string) error {
	rel, err := filepath.Rel(hierarchy, cgroupDir)
	if cgroupDir == "" || err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("-cgroup %q is not a directory under %s", cgroupDir, hierarchy)
	}
	root := "/" + rel // cAdvisor's name of a cgroup: its path in the hierarchy
	want, err := cgroupNames(cgroupDir, root)
	if err != nil {
		return err
	}

	// every container sampled at the agent's period, exactly: no dynamic back-off for cgroups
	// whose figures do not change (all of them here) and no jitter after the first splay
	for name, value := range map[string]string{
		"housekeeping_interval": period.String(),
		"jitter_factor":         "0",
	} {
		if err := flag.Set(name, value); err != nil {
			return err
		}
	}
	dynamic := false
	cache := memory.New(defaultStorageDuration, nil)
	m, err := manager.New(cache, sysfs.NewRealSysFs(),
		manager.HousekeepingConfig{Interval: &period, AllowDynamic: &dynamic},
		container.MetricSet{container.MemoryUsageMetrics: struct{}{}},
		[]string{root}, nil, "", 0)
	if err != nil {
		return fmt.Errorf("manager.New: %w", err)
	}
	if err := m.Start(); err != nil {
		return fmt.Errorf("manager start: %w", err)
	}
	// no m.Stop(): it logs at info level, and the process's exit ends what it started

	// discovery, every container's first sample and the initial splay (the second sample comes
	// one to two periods after the first) are start-up, not steady state
	deadline := time.Now().Add(4 * period)
	for missing := unsampled(cache, want, 2); missing > 0; missing = unsampled(cache, want, 2) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d cgroups under %s not discovered or not sampled twice after %s", missing, len(want), root, 4*period)
		}
		time.Sleep(100 * time.Millisecond)
	}

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	t0, cpu0 := time.Now(), cpuSeconds()
	time.Sleep(time.Duration(periods) * period)
	t1, cpu1 := time.Now(), cpuSeconds()
	pprof.StopCPUProfile()
	rss, peak, err := residentBytes()
	if err != nil {
		return err
	}

	out := result{Cgroups: len(want), MinSamples: -1, WindowS: t1.Sub(t0).Seconds(), CPUS: cpu1 - cpu0,
		RSSBytes: rss, PeakBytes: peak, RetentionS: defaultStorageDuration.Seconds()}
	total, held := 0, 0
	for _, name := range want {
		window, err := cache.RecentStats(name, t0, t1, -1)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		all, _ := cache.RecentStats(name, time.Time{}, time.Time{}, -1)
		if out.MinSamples < 0 || len(window) < out.MinSamples {
			out.MinSamples = len(window)
		}
		total += len(window)
		held += len(all)
		if !m.Exists(name) {
			return fmt.Errorf("%s: no longer tracked by cAdvisor", name)
		}
	}
	out.MeanSamples = float64(total) / float64(len(want))
	out.HeldSamples = float64(held) / float64(len(want))
	// a period's timer runs from the end of the previous sample: one may fall just outside
	if out.MinSamples < periods-1 {
		return fmt.Errorf("a cgroup under %s got %d samples in %d periods", root, out.MinSamples, periods)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// cgroupNames lists the subtree's cgroups (its root included) by cAdvisor's names.
func cgroupNames(dir, root string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		names = append(names, filepath.Join(root, rel))
		return nil
	})
	return names, err
}

// unsampled counts the cgroups with fewer than n samples in the cache.
func unsampled(cache *memory.InMemoryCache, names []string, n int) int {
	missing := 0
	for _, name := range names {
		if s, err := cache.RecentStats(name, time.Time{}, time.Time{}, n); err != nil || len(s) < n {
			missing++
		}
	}
	return missing
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// residentBytes reads VmRSS and VmHWM (the peak) of this process.
func residentBytes() (rss, peak int64, err error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kib, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kib * 1024
		case "VmHWM:":
			peak = kib * 1024
		}
	}
	return rss, peak, sc.Err()
}
